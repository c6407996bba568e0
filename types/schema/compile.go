package schema

import (
	"bytes"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Compile compiles every schema of [Files] for validation in Go, with format
// assertions on (so that ipv4 and ipv6 are checked), and returns them keyed
// by file name.
func Compile() (map[string]*jsonschema.Schema, error) {
	files, err := Files()
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for name, b := range files {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decode schema %s: %w", name, err)
		}
		if err := c.AddResource(BaseID+name, doc); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", name, err)
		}
	}
	compiled := make(map[string]*jsonschema.Schema, len(files))
	for name := range files {
		s, err := c.Compile(BaseID + name)
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", name, err)
		}
		compiled[name] = s
	}
	return compiled, nil
}
