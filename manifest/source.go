package manifest

import "embed"

// Source holds the Go source of this package, from which the manifest's
// JSON Schema takes its descriptions: an installed binary has no source on
// disk.
//
//go:embed manifest.go
var Source embed.FS
