package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types/schema"
)

// Schema files of package schema that answers are validated against.
const (
	infoSchema    = "info.schema.json"
	networkSchema = "network.schema.json"
	statusSchema  = "status-block.schema.json"
	errorSchema   = "error.schema.json"
)

// compiledSchemas compiles the protocol's JSON Schemas once.
var compiledSchemas = sync.OnceValues(compileSchemas)

func compileSchemas() (map[string]*jsonschema.Schema, error) {
	files, err := schema.Files()
	if err != nil {
		return nil, fmt.Errorf("load schemas: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for name, b := range files {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decode schema %s: %w", name, err)
		}
		if err := c.AddResource(schema.BaseID+name, doc); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", name, err)
		}
	}
	compiled := make(map[string]*jsonschema.Schema, len(files))
	for name := range files {
		s, err := c.Compile(schema.BaseID + name)
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", name, err)
		}
		compiled[name] = s
	}
	return compiled, nil
}

// validateSchema validates the JSON value v against the schema in file.
func validateSchema(file string, v json.RawMessage) error {
	schemas, err := compiledSchemas()
	if err != nil {
		return err
	}
	s, ok := schemas[file]
	if !ok {
		return fmt.Errorf("no schema %s", file)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(v))
	if err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		// The validator's message spans lines; a report line must not.
		return fmt.Errorf("the answer does not validate against %s: %s", file, strings.Join(strings.Fields(err.Error()), " "))
	}
	return nil
}
