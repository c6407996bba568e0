package generator

import (
	"bytes"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"golang.org/x/tools/imports"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/templates"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// GoVersion is the go directive of generated go.mod files: the oldest Go
// release that builds the generated code (omitzero needs 1.24).
const GoVersion = "1.24.0"

// File is one file of a generated project.
type File struct {
	// Path is the file's slash-separated path in the project.
	Path string
	// Data is the file's content.
	Data []byte
	// Mode is the file's permission bits.
	Mode fs.FileMode
	// Source is what the file is made from, by its path in this
	// repository: a template file, or a file of package types.
	Source string
	// Owner says whether the file stays the generator's or becomes the
	// user's (see package manifest).
	Owner manifest.Owner
}

// FileSet is a generated project: its files sorted by path.
type FileSet []File

// data is what every template sees.
type data struct {
	// Name is the plugin's name, its executable's and its driver's.
	Name string
	// Module is the Go module path of the generated project.
	Module string
	// GoVersion is the go directive of the generated go.mod.
	GoVersion string
	// APIVersion is the netavark plugin API version the plugin speaks.
	APIVersion string
	// Docker and CNI tell whether the project has those front ends.
	Docker, CNI bool
	// VXLAN tells whether the project is of the vxlan template, for the
	// files it shares with the bridge template, its base.
	VXLAN bool
	// Checker is what go run fetches the conformance checker at: the
	// netavark-plugin-gen release that generates the project, as
	// MODULE/cmd/netavark-plugin-gen@QUERY; "" when that release cannot be
	// fetched (a development build).
	Checker string
}

// overlayPrefix starts the name of a template directory whose files belong
// to front ends: +docker/cmd/... becomes cmd/... when the project has the
// docker front end, and is left out otherwise; +cni+docker/... is in a
// project with either.
const overlayPrefix = "+"

// Derived files: the generated project's copy of the protocol types and of
// the fixtures, both taken from package types.
const (
	protocolDir = "internal/protocol"
	fixturesDir = "internal/netavark/testdata"
)

// Where the sources of generated files are in this repository, as the
// manifest records them.
const (
	templatesDir = "templates"
	typesDir     = "types"
)

// generatedHeader is the line by which a Go file says that it is generated
// and not to be edited (see go help generate); a template file that
// renders it is the generator's, and every other one the user's.
var generatedHeader = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// Templates returns the names of the available project templates.
func Templates() []string {
	entries, _ := fs.ReadDir(templates.FS, ".")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// templateName returns the name of the template to use for name, which may
// be empty for the default, or an error listing the known ones.
func templateName(name string) (string, error) {
	if name == "" {
		name = DefaultTemplate
	}
	if !slices.Contains(Templates(), name) {
		return "", fmt.Errorf("unknown template %q (known: %s)", name, strings.Join(Templates(), ", "))
	}
	return name, nil
}

// Render renders the project that c describes into memory: the files of
// its template, those of the overlays of its front ends, and the files
// derived from package types. It validates c first; the result is the same
// bytes for the same Config.
func Render(c Config) (FileSet, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tmplName, _ := templateName(c.Template)
	runtimes := c.runtimes()
	d := data{
		Name:       c.Name,
		Module:     c.Module,
		GoVersion:  GoVersion,
		APIVersion: types.APIVersion,
		Docker:     slices.Contains(runtimes, RuntimeDocker),
		CNI:        slices.Contains(runtimes, RuntimeCNI),
		VXLAN:      tmplName == VXLANTemplate,
	}
	if q := c.Release.Query(); q != "" {
		d.Checker = Module + "/cmd/netavark-plugin-gen@" + q
	}
	tree := c.Templates
	if tree == nil {
		tree = templates.FS
	}
	files, overlays, err := renderLayers(tree, tmplName, d, slices.Concat(runtimes, []string{tmplName}))
	if err != nil {
		return nil, err
	}
	derived, err := derivedFiles()
	if err != nil {
		return nil, err
	}
	files, err = sorted(append(files, derived...))
	if err != nil {
		return nil, err
	}
	m := manifest.Manifest{
		Format:    manifest.Format,
		Generator: c.Release,
		Template:  tmplName,
		Overlays:  append([]string{}, overlays...),
		Inputs:    manifest.Inputs{Name: c.Name, Module: c.Module, Runtimes: runtimes},
	}
	return withManifest(files, m)
}

// withManifest records files in m and returns them with the manifest file.
func withManifest(files FileSet, m manifest.Manifest) (FileSet, error) {
	for _, f := range files {
		m.Files = append(m.Files, manifest.NewFile(f.Path, f.Source, f.Owner, f.Data, f.Mode))
	}
	b, err := m.Encode()
	if err != nil {
		return nil, err
	}
	return sorted(append(files, File{Path: manifest.FileName, Data: b, Mode: 0o644, Owner: manifest.Generated}))
}

// renderLayers renders template name of tree on the files of its bases
// (templates.Bases), the first base first: a layer's file replaces the one
// of the same path below it, and its PATH.omit file removes it. keys are the
// runtimes and the template, which select the overlays. It returns the files
// and the overlays rendered, in every layer.
func renderLayers(tree fs.FS, name string, d data, keys []string) (FileSet, []string, error) {
	var files FileSet
	var overlays []string
	for _, layer := range layers(name) {
		root, err := fs.Sub(tree, layer)
		if err != nil {
			return nil, nil, fmt.Errorf("open template %s: %w", layer, err)
		}
		own, omit, ov, err := renderTree(root, path.Join(templatesDir, layer), d, keys)
		if err != nil {
			return nil, nil, fmt.Errorf("template %s: %w", layer, err)
		}
		for _, p := range omit {
			n := len(files)
			files = slices.DeleteFunc(files, func(f File) bool { return f.Path == p })
			if len(files) == n {
				return nil, nil, fmt.Errorf("template %s: %s%s: no file %s below it to leave out", layer, p, templates.OmitSuffix, p)
			}
		}
		for _, f := range own {
			files = slices.DeleteFunc(files, func(g File) bool { return g.Path == f.Path })
		}
		files = append(files, own...)
		for _, o := range ov {
			if !slices.Contains(overlays, o) {
				overlays = append(overlays, o)
			}
		}
	}
	return files, overlays, nil
}

// layers returns the templates that template name is made of, its
// farthest base first and name last.
func layers(name string) []string {
	out := []string{name}
	for base, ok := templates.Bases[name]; ok; base, ok = templates.Bases[base] {
		out = append([]string{base}, out...)
	}
	return out
}

// renderTree renders every file of root, found at src in this repository,
// but those of overlays that keys (runtimes and template) do not select. It
// returns the files, the paths that PATH.omit files leave out, and the
// overlays it rendered.
func renderTree(root fs.FS, src string, d data, keys []string) (files FileSet, omit, overlays []string, err error) {
	err = fs.WalkDir(root, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			err := overlayDir(p, keys)
			if err == nil && strings.HasPrefix(path.Base(p), overlayPrefix) {
				overlays = append(overlays, p)
			}
			return err
		}
		if base, ok := strings.CutSuffix(p, templates.OmitSuffix); ok {
			rendered, err := renderPath(base, d)
			if err != nil {
				return fmt.Errorf("render %s: %w", p, err)
			}
			omit = append(omit, rendered)
			return nil
		}
		f, err := renderFile(root, p, d)
		if err != nil {
			return fmt.Errorf("render %s: %w", p, err)
		}
		f.Source = path.Join(src, p)
		files = append(files, f)
		return nil
	})
	return files, omit, overlays, err
}

// overlayDir returns fs.SkipDir for the directory p of an overlay whose
// names keys holds none of, and an error for one that names neither a front
// end nor a template. keys are the project's runtimes and its template: an
// overlay may name a template too, for files of a base that only a template
// built on it has (+docker+vxlan: with the docker front end, or in a vxlan
// project).
func overlayDir(p string, keys []string) error {
	names, ok := strings.CutPrefix(path.Base(p), overlayPrefix)
	if !ok {
		return nil
	}
	included := false
	for _, name := range strings.Split(names, overlayPrefix) {
		if !slices.Contains(knownRuntimes, name) && !slices.Contains(Templates(), name) {
			return fmt.Errorf("overlay %s names no runtime or template: %q", p, name)
		}
		included = included || slices.Contains(keys, name)
	}
	if !included {
		return fs.SkipDir
	}
	return nil
}

// sorted sorts files by path and refuses two files of one path.
func sorted(files FileSet) (FileSet, error) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(files); i++ {
		if files[i].Path == files[i-1].Path {
			return nil, fmt.Errorf("render: two files for %s", files[i].Path)
		}
	}
	return files, nil
}

// renderFile renders the template file at p of root, and its path.
func renderFile(root fs.FS, p string, d data) (File, error) {
	src, err := fs.ReadFile(root, p)
	if err != nil {
		return File{}, err
	}
	outPath, err := renderPath(p, d)
	if err != nil {
		return File{}, err
	}
	out := src
	if strings.HasSuffix(p, ".tmpl") {
		if out, err = execute(p, string(src), d); err != nil {
			return File{}, err
		}
	}
	if path.Ext(outPath) == ".go" {
		if out, err = formatGo(outPath, out); err != nil {
			return File{}, err
		}
	}
	mode := fs.FileMode(0o644)
	if path.Ext(outPath) == ".sh" {
		mode = 0o755
	}
	owner := manifest.Scaffold
	if generatedHeader.Match(out) {
		owner = manifest.Generated
	}
	return File{Path: outPath, Data: out, Mode: mode, Owner: owner}, nil
}

// renderPath returns the path in the project of the template file at p:
// rendered, without overlay directories and without the .tmpl suffix.
func renderPath(p string, d data) (string, error) {
	out, err := execute("path", stripOverlays(p), d)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(out), ".tmpl"), nil
}

// stripOverlays removes the overlay directories from a template path.
func stripOverlays(p string) string {
	parts := strings.Split(p, "/")
	parts = slices.DeleteFunc(parts, func(e string) bool { return strings.HasPrefix(e, overlayPrefix) })
	return path.Join(parts...)
}

// execute runs text as a template named name on d. Templates get sprig's
// hermetic functions only (no clock, randomness or environment), so that
// output depends on d alone, and a missing key is an error.
func execute(name, text string, d data) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(sprig.HermeticTxtFuncMap()).Parse(text)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// formatGo formats generated Go source as goimports would: gofmt, imports
// grouped and sorted, unused ones removed. Templates list every import they
// need, so nothing is looked up in the environment.
func formatGo(name string, src []byte) ([]byte, error) {
	out, err := imports.Process(name, src, &imports.Options{Comments: true, TabIndent: true, TabWidth: 8})
	if err != nil {
		return nil, fmt.Errorf("format generated Go: %w", err)
	}
	return out, nil
}

// derivedFiles returns the files that come from package types rather than
// from a template: the protocol package and the test fixtures.
func derivedFiles() (FileSet, error) {
	var files FileSet
	entries, err := fs.ReadDir(types.Source, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		src, err := fs.ReadFile(types.Source, e.Name())
		if err != nil {
			return nil, err
		}
		out, err := protocolFile(e.Name(), src)
		if err != nil {
			return nil, fmt.Errorf("derive %s/%s: %w", protocolDir, e.Name(), err)
		}
		files = append(files, File{
			Path: path.Join(protocolDir, e.Name()), Data: out, Mode: 0o644,
			Source: path.Join(typesDir, e.Name()), Owner: manifest.Generated,
		})
	}
	err = fs.WalkDir(types.Fixtures, "testdata/fixtures", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(types.Fixtures, p)
		if err != nil {
			return err
		}
		files = append(files, File{
			Path: path.Join(fixturesDir, strings.TrimPrefix(p, "testdata/")), Data: b, Mode: 0o644,
			Source: path.Join(typesDir, p), Owner: manifest.Generated,
		})
		return nil
	})
	return files, err
}

// withoutGeneratorDoc removes from src the paragraphs of its package doc
// that name netavark-plugin-gen, and ends the doc with ownerDoc: the
// generated package's doc speaks to the plugin's owner, not of the
// generator's types.
func withoutGeneratorDoc(src []byte) []byte {
	head, rest, ok := bytes.Cut(src, []byte("\npackage "))
	if !ok {
		return src
	}
	var kept [][]byte
	for _, para := range bytes.Split(head, []byte("\n//\n")) {
		if !bytes.Contains(para, []byte("netavark-plugin-gen")) {
			kept = append(kept, para)
		}
	}
	if len(kept) > 0 && bytes.Contains(kept[0], []byte("// Package ")) {
		kept = append(kept, []byte(ownerDoc))
	}
	return slices.Concat(bytes.Join(kept, []byte("\n//\n")), []byte("\npackage "), rest)
}

// ownerDoc ends the generated package's doc: what its owner may do with it.
const ownerDoc = `// The files of this package are generated, and netavark-plugin-gen upgrade
// replaces them when a newer release changes the protocol: keep code of
// your own in other packages.`

// protocolFile turns a source file of package types into the same file of
// package protocol: the package clause is renamed (and the package doc with
// it) and a header marks the file as generated.
func protocolFile(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, withoutGeneratorDoc(src), parser.ParseComments)
	if err != nil {
		return nil, err
	}
	f.Name.Name = "protocol"
	if f.Doc != nil {
		first := f.Doc.List[0]
		first.Text = strings.Replace(first.Text, "Package types ", "Package protocol ", 1)
	}
	var buf bytes.Buffer
	buf.WriteString("// Code generated by netavark-plugin-gen. DO NOT EDIT.\n\n")
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
