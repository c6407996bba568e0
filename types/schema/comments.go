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
)

// comments holds the doc comments of one package as plain text, keyed by
// type name and by "Type.Field".
type comments struct {
	pkg  string
	text map[string]string
}

// loadComments parses the Go source in src of the package whose import path
// is pkg. An installed binary has no source on disk, so invopop's
// AddGoComments cannot be used.
func loadComments(src fs.FS, pkg string) (comments, error) {
	fset := token.NewFileSet()
	var files []*ast.File
	err := fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		src, err := fs.ReadFile(src, path)
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
		return comments{}, fmt.Errorf("parse the source of %s: %w", pkg, err)
	}
	if len(files) == 0 {
		return comments{}, fmt.Errorf("parse the source of %s: no Go files", pkg)
	}
	p, err := doc.NewFromFiles(fset, files, pkg)
	if err != nil {
		return comments{}, fmt.Errorf("read the doc comments of %s: %w", pkg, err)
	}

	// Render doc comments as plain text on unwrapped lines, so that doc
	// links such as [APIVersion] read as plain names.
	printer := p.Printer()
	printer.TextWidth = -1
	text := func(s string) string {
		return strings.TrimSpace(string(printer.Text(p.Parser().Parse(s))))
	}

	c := comments{pkg: pkg, text: make(map[string]string)}
	for _, t := range p.Types {
		c.text[t.Name] = text(t.Doc)
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
					c.text[t.Name+"."+name.Name] = text(doc)
				}
			}
		}
	}
	return c, nil
}

// lookup returns the comment of type t of c's package, or of its field, for
// jsonschema.Reflector.LookupComment.
func (c comments) lookup(t reflect.Type, field string) string {
	if t.PkgPath() != c.pkg {
		return ""
	}
	if field == "" {
		return c.text[t.Name()]
	}
	return c.text[t.Name()+"."+field]
}
