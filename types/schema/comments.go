package schema

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"strings"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// comments holds the doc comments of package types as plain text, keyed by
// type name and by "Type.Field".
type comments map[string]string

// loadComments parses the Go source of package types from types.Source. An
// installed binary has no source on disk, so invopop's AddGoComments cannot
// be used.
func loadComments() (comments, error) {
	fset := token.NewFileSet()
	var files []*ast.File
	err := fs.WalkDir(types.Source, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		src, err := fs.ReadFile(types.Source, path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse types source: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("parse types source: no Go files")
	}
	pkg, err := doc.NewFromFiles(fset, files, typesPath)
	if err != nil {
		return nil, fmt.Errorf("read types doc comments: %w", err)
	}

	// Render doc comments as plain text on unwrapped lines, so that doc
	// links such as [APIVersion] read as plain names.
	printer := pkg.Printer()
	printer.TextWidth = -1
	text := func(s string) string {
		return strings.TrimSpace(string(printer.Text(pkg.Parser().Parse(s))))
	}

	c := make(comments)
	for _, t := range pkg.Types {
		c[t.Name] = text(t.Doc)
		for _, spec := range t.Decl.Specs {
			ts, ok := spec.(*ast.TypeSpec)
			if !ok || ts.Name.Name != t.Name {
				continue
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, f := range st.Fields.List {
				doc := f.Doc.Text()
				if doc == "" {
					doc = f.Comment.Text()
				}
				for _, name := range f.Names {
					c[t.Name+"."+name.Name] = text(doc)
				}
			}
		}
	}
	return c, nil
}

// lookup returns the comment of type t of package types, or of its field,
// for jsonschema.Reflector.LookupComment.
func (c comments) lookup(t reflect.Type, field string) string {
	if t.PkgPath() != typesPath {
		return ""
	}
	if field == "" {
		return c[t.Name()]
	}
	return c[t.Name()+"."+field]
}
