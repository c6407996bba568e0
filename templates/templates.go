// Package templates holds the project templates of netavark-plugin-gen. Each
// directory is one template and mirrors the tree it generates: files ending
// in .tmpl are rendered with text/template (and sprig's hermetic functions),
// the others are copied as they are. Path elements are templates too, so
// cmd/{{.Name}}/ becomes cmd/myplugin/.
//
// Go files carry the .tmpl suffix even when they hold no template action, so
// that the Go tool does not build them as part of this module.
package templates

import "embed"

// FS holds every template, one directory each.
//
//go:embed all:bridge
var FS embed.FS
