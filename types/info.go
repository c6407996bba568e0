package types

import (
	"encoding/json"
	"fmt"
)

// Info is what a plugin prints for the info subcommand, or when run with no
// argument: its version, the plugin API version and any other string keys.
type Info struct {
	// Version is the plugin's own version.
	Version string `json:"version"`
	// APIVersion is the plugin API version the plugin speaks, [APIVersion].
	APIVersion string `json:"api_version"`
	// Extra holds further string keys of the object, such as a description.
	Extra map[string]string `json:"-"`
}

// MarshalJSON encodes i as one flat object of string values.
func (i Info) MarshalJSON() ([]byte, error) {
	fields := make(map[string]string, len(i.Extra)+2)
	for k, v := range i.Extra {
		fields[k] = v
	}
	fields["version"] = i.Version
	fields["api_version"] = i.APIVersion
	return json.Marshal(fields)
}

// UnmarshalJSON decodes a flat object of string values; keys other than
// version and api_version go to i.Extra.
func (i *Info) UnmarshalJSON(data []byte) error {
	var fields map[string]string
	if err := json.Unmarshal(data, &fields); err != nil {
		return fmt.Errorf("decode info: %w", err)
	}
	if fields == nil {
		return nil
	}
	*i = Info{Version: fields["version"], APIVersion: fields["api_version"]}
	delete(fields, "version")
	delete(fields, "api_version")
	if len(fields) > 0 {
		i.Extra = fields
	}
	return nil
}

// ErrorResponse is what a plugin prints on stdout, with exit status 1, when a
// subcommand fails. It must have no other key: podman decodes it strictly.
// netavark reports it as `plugin "<driver>" failed: exit code 1, message: <error>`.
type ErrorResponse struct {
	// Error is the message shown to the user.
	Error string `json:"error"`
}
