package types

import "embed"

// Source holds the Go source of the protocol types, without tests. The
// generator copies it into each generated plugin, so that the plugin and this
// package speak the same protocol, and the schema package reads the doc
// comments from it.
//
//go:embed doc.go addr.go network.go exec.go status.go info.go netavark.go
var Source embed.FS

// Fixtures holds JSON messages captured from real netavark and podman runs,
// and hand-written ones in the forms netavark 2.x sends, under
// testdata/fixtures/. Generated plugins test their dispatcher against them.
//
//go:embed testdata/fixtures
var Fixtures embed.FS
