package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/mod/module"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/templates"
)

// Module is the Go module path of netavark-plugin-gen, which manifests
// record so that a release can be fetched again.
const Module = "github.com/netavark-plugin-gen/netavark-plugin-gen"

// The templates: DefaultTemplate is the one that new uses when none is
// named; VXLANTemplate is built on it (templates.Bases).
const (
	DefaultTemplate = "bridge"
	VXLANTemplate   = "vxlan"
)

// Config is everything the generator needs to produce a plugin project. Build
// it from user input and call Validate before Render.
type Config struct {
	// Name is the plugin's name: the name of its executable, which netavark
	// uses as the network driver name (podman network create -d NAME).
	Name string
	// Module is the Go module path of the generated project.
	Module string
	// Template is the name of the project template, a directory of
	// templates.FS.
	Template string
	// Runtimes are the front ends to generate over the driver core: "netavark"
	// (always), "docker" (a Docker remote network driver daemon) and "cni"
	// (a CNI plugin). Empty means netavark only.
	Runtimes []string
	// Release is the release of netavark-plugin-gen that generates the
	// project, for its manifest.
	Release manifest.Release
	// Templates holds the templates, one directory each; nil means the
	// embedded templates.FS. Tests set it to stand for another release.
	Templates fs.FS
}

// Runtime front ends a project can have. netavark is the base: every
// project has it; the others add files from the template's +NAME overlay.
const (
	RuntimeNetavark = "netavark"
	RuntimeDocker   = "docker"
	RuntimeCNI      = "cni"
)

// knownRuntimes lists the runtimes in the order they are reported.
var knownRuntimes = []string{RuntimeNetavark, RuntimeDocker, RuntimeCNI}

// runtimes returns c's runtimes in canonical order, netavark included.
func (c Config) runtimes() []string {
	var out []string
	for _, r := range knownRuntimes {
		if r == RuntimeNetavark || slices.Contains(c.Runtimes, r) {
			out = append(out, r)
		}
	}
	return out
}

// builtinDrivers are the drivers netavark implements itself; a plugin of the
// same name would never be called.
var builtinDrivers = []string{"bridge", "macvlan", "ipvlan"}

// validName is what a driver name may look like: it becomes a file name, a
// Go package path element and part of interface and lock file names.
var validName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// maxNameLen keeps names short enough to derive interface names from.
const maxNameLen = 32

// Validate checks c and returns an error that explains the first problem
// found, before anything is written.
func (c Config) Validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	if c.Module == "" {
		return errors.New("module path is empty: pass --module, for example --module example.com/" + c.Name)
	}
	if err := module.CheckPath(c.Module); err != nil {
		return fmt.Errorf("invalid module path %q: %w", c.Module, err)
	}
	tmpl, err := templateName(c.Template)
	if err != nil {
		return err
	}
	has, limited := templates.Runtimes[tmpl]
	for i, r := range c.Runtimes {
		switch {
		case !slices.Contains(knownRuntimes, r):
			return fmt.Errorf("unknown runtime %q (known: %s)", r, strings.Join(knownRuntimes, ", "))
		case slices.Contains(c.Runtimes[:i], r):
			return fmt.Errorf("runtime %q given twice", r)
		case limited && !slices.Contains(has, r):
			return fmt.Errorf("template %s has no %s front end (it has: %s)", tmpl, r, strings.Join(has, ", "))
		}
	}
	if len(c.Runtimes) > 0 && !slices.Contains(c.Runtimes, RuntimeNetavark) {
		return fmt.Errorf("runtimes %s: netavark is the base front end of every project; include it", strings.Join(c.Runtimes, ","))
	}
	return nil
}

// ValidateName checks that name can be a plugin name.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("plugin name is empty")
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("plugin name %q contains a path separator: it becomes the plugin's file name", name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("plugin name %q contains \"..\"", name)
	case strings.IndexFunc(name, unicode.IsSpace) >= 0:
		return fmt.Errorf("plugin name %q contains whitespace", name)
	case slices.Contains(builtinDrivers, name):
		return fmt.Errorf("plugin name %q is a driver built into netavark (%s): netavark would never call the plugin",
			name, strings.Join(builtinDrivers, ", "))
	case len(name) > maxNameLen:
		return fmt.Errorf("plugin name %q is longer than %d characters", name, maxNameLen)
	case !validName.MatchString(name):
		return fmt.Errorf("plugin name %q must start with a lowercase letter and hold only lowercase letters, digits, '-' and '_'", name)
	}
	return nil
}
