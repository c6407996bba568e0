// Package templates holds the project templates of netavark-plugin-gen. Each
// directory is one template and mirrors the tree it generates: files ending
// in .tmpl are rendered with text/template (and sprig's hermetic functions),
// the others are copied as they are. Path elements are templates too, so
// cmd/{{.Name}}/ becomes cmd/myplugin/.
//
// Go files carry the .tmpl suffix even when they hold no template action, so
// that the Go tool does not build them as part of this module.
//
// A template may be built on another, its base (Bases): a project of it
// starts from the files of the base, its own files replace the base's at the
// same path, and an empty file PATH.omit leaves the base's file PATH out. The
// code the two share is written once, in the base.
package templates

import "embed"

// FS holds every template, one directory each.
//
//go:embed all:bridge all:vxlan
var FS embed.FS

// Bases names, for each template that is built on another, its base.
var Bases = map[string]string{
	"vxlan": "bridge",
}

// Runtimes names, for each template that has not every front end, the
// runtimes it has: a project of it may ask for these only.
var Runtimes = map[string][]string{
	"vxlan": {"netavark", "docker"},
}

// OmitSuffix ends the name of an empty file of a template that leaves its
// base's file of the same path, without the suffix, out of the project.
const OmitSuffix = ".omit"
