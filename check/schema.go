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
)

// compiledSchemas compiles the protocol's JSON Schemas once.
var compiledSchemas = sync.OnceValues(schema.Compile)

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
