// Package manifest is the record that netavark-plugin-gen keeps in every
// project it generates, in the file .netavark-plugin-gen.json at the
// project's root: which release generated the project, from which template
// and inputs, and, for every file it generated, who owns the file and what
// its content was. The upgrade command works from this record alone: it
// tells what the user changed since (the file differs from the recorded
// content) and where the content as generated can be found again (by its
// git blob id). The file belongs in version control with the project.
//
// The format has a version of its own, [Format]; [Read] refuses a manifest
// of a later format. JSON Schema: manifest.schema.json, which the schema
// command exports.
package manifest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"
)

// FileName is the manifest's file name at the root of a project.
const FileName = ".netavark-plugin-gen.json"

// Format is the version of the manifest format that this release writes
// and reads. A change that an older release could misread raises it.
const Format = 1

// Manifest records how a project was generated.
type Manifest struct {
	// Format is the version of the manifest format, 1 for this one.
	Format int `json:"format"`
	// Generator is the release of netavark-plugin-gen that generated the
	// project.
	Generator Release `json:"generator"`
	// Template is the name of the project template.
	Template string `json:"template"`
	// Overlays are the template's overlay directories that were rendered,
	// such as "+docker": the files of the front ends the project has.
	Overlays []string `json:"overlays"`
	// Inputs are the choices the project was generated from.
	Inputs Inputs `json:"inputs"`
	// Files are the generated files, sorted by path; the manifest itself
	// is not one of them.
	Files []File `json:"files"`
}

// Release identifies a release of netavark-plugin-gen.
type Release struct {
	// Module is the Go module path of netavark-plugin-gen, from which the
	// release can be fetched again with go run MODULE/cmd/netavark-plugin-gen@VERSION.
	Module string `json:"module"`
	// Version is the release's module version, such as "v0.4.0", or
	// "(devel)" for a build from a checkout.
	Version string `json:"version"`
	// Commit is the VCS revision the release was built from, if known.
	Commit string `json:"commit,omitempty"`
}

// commitID is what a full or abbreviated git commit id looks like.
var commitID = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// Query returns the version query at which the Go toolchain fetches the
// release (go run Module/cmd/netavark-plugin-gen@QUERY): its module
// version, pseudo-versions included, else its commit; "" for a build that
// has neither, or one with local changes (+dirty).
func (r Release) Query() string {
	switch {
	case semver.Build(r.Version) != "" || strings.HasSuffix(r.Version, "-dirty"):
		return "" // go build's +dirty, git describe --dirty's -dirty
	case semver.IsValid(r.Version):
		return r.Version
	case commitID.MatchString(r.Commit):
		return r.Commit
	}
	return ""
}

// Inputs are the user's choices: the flags of the new command.
type Inputs struct {
	// Name is the plugin's name, its executable's and its driver's.
	Name string `json:"name"`
	// Module is the Go module path of the project.
	Module string `json:"module"`
	// Runtimes are the front ends the project has, netavark first.
	Runtimes []string `json:"runtimes"`
}

// Owner says who owns a generated file.
type Owner string

const (
	// Generated files are the generator's: the user must not edit them,
	// and an upgrade replaces them. A Go file says so in its
	// "// Code generated ... DO NOT EDIT." header.
	Generated Owner = "generated"
	// Scaffold files are written once and are the user's from then on;
	// an upgrade merges the template's changes into the user's.
	Scaffold Owner = "scaffold"
)

// File records one generated file as it was generated.
type File struct {
	// Path is the file's slash-separated path in the project.
	Path string `json:"path"`
	// Source is what the file was made from: a template file, by its path
	// in the generator's source tree, or a source file of the types that
	// the file derives from.
	Source string `json:"source"`
	// Owner is who owns the file: "generated" or "scaffold".
	Owner Owner `json:"owner"`
	// Mode is the file's permission bits, in octal, such as "0644".
	Mode string `json:"mode"`
	// SHA256 is the hex SHA-256 of the content as generated.
	SHA256 string `json:"sha256"`
	// GitBlob is the git blob id (SHA-1) of the content as generated: the
	// content can be read back from a repository that holds it with
	// git cat-file blob GIT_BLOB.
	GitBlob string `json:"git_blob"`
}

// NewFile records the file at path, made from source, with its owner,
// content and permission bits.
func NewFile(path, source string, owner Owner, data []byte, mode fs.FileMode) File {
	sum := sha256.Sum256(data)
	return File{
		Path:    path,
		Source:  source,
		Owner:   owner,
		Mode:    fmt.Sprintf("%04o", mode.Perm()),
		SHA256:  hex.EncodeToString(sum[:]),
		GitBlob: GitBlobID(data),
	}
}

// Matches reports whether data, with permission bits mode, is the content
// that f records.
func (f File) Matches(data []byte, mode fs.FileMode) bool {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == f.SHA256 && f.Mode == fmt.Sprintf("%04o", mode.Perm())
}

// Perm returns the file's permission bits.
func (f File) Perm() (fs.FileMode, error) {
	m, err := strconv.ParseUint(f.Mode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%s: mode %q is not octal permission bits", f.Path, f.Mode)
	}
	return fs.FileMode(m), nil
}

// GitBlobID returns the id that git gives data as a blob in a repository
// of SHA-1 objects: the SHA-1 of "blob LENGTH\x00" followed by data.
func GitBlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// File returns the record of the file at path, if the manifest has one.
func (m *Manifest) File(path string) (File, bool) {
	for _, f := range m.Files {
		if f.Path == path {
			return f, true
		}
	}
	return File{}, false
}

// Encode returns m as indented JSON with a final newline, the same bytes for
// the same manifest.
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrNotFound is returned by Read for a project without a manifest.
var ErrNotFound = errors.New("no " + FileName)

// Read reads the manifest of the project in dir.
func Read(dir string) (*Manifest, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: the project was not generated by netavark-plugin-gen, or by a release older than manifests", dir, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return Decode(path, b)
}

// Decode decodes the manifest b, read from path (for messages), and checks
// that it is of a format this release reads and names its files well.
func Decode(path string, b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case m.Format > Format:
		return nil, fmt.Errorf("%s: format %d is newer than this release reads (%d): use a newer netavark-plugin-gen", path, m.Format, Format)
	case m.Format < 1:
		return nil, fmt.Errorf("%s: no format version", path)
	case m.Inputs.Name == "" || m.Inputs.Module == "" || m.Template == "":
		return nil, fmt.Errorf("%s: name, module and template are required", path)
	}
	seen := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if !fs.ValidPath(f.Path) || f.Path == "." || f.Path == FileName {
			return nil, fmt.Errorf("%s: file path %q is not a path inside the project", path, f.Path)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("%s: file %s recorded twice", path, f.Path)
		}
		seen[f.Path] = true
		if f.Owner != Generated && f.Owner != Scaffold {
			return nil, fmt.Errorf("%s: file %s: owner %q is neither %q nor %q", path, f.Path, f.Owner, Generated, Scaffold)
		}
		if _, err := f.Perm(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return &m, nil
}

// Edited returns those of paths whose file in the project dir differs from
// what m records as generated: changed since, or never generated (a file of
// the user's). A missing file is not edited.
func (m *Manifest) Edited(dir string, paths []string) ([]string, error) {
	var edited []string
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		info, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		f, ok := m.File(p)
		if !ok || !info.Mode().IsRegular() {
			edited = append(edited, p)
			continue
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, err
		}
		if !f.Matches(data, info.Mode()) {
			edited = append(edited, p)
		}
	}
	return edited, nil
}
