package types

import "embed"

// Source holds the Go source of the protocol types, without tests. The
// generator copies it into each generated plugin, so that the plugin and this
// package speak the same protocol, and the schema package reads the doc
// comments from it.
//
//go:embed doc.go addr.go network.go exec.go status.go info.go netavark.go
var Source embed.FS
