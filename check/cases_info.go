package check

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// infoCases runs info, and the plugin with no argument, which means info.
func (s *suite) infoCases(ctx context.Context) {
	r := s.runPlugin(ctx, nil, "info")
	s.result("info", r, checkInfo(r))
	r = s.runPlugin(ctx, nil)
	s.result("info/no-argument", r, checkInfo(r))
}

// checkInfo checks an info answer: one flat JSON object of strings with
// version and api_version.
func checkInfo(r *run) error {
	v, err := successAnswer(r)
	if err != nil {
		return err
	}
	m, err := object(v, "the info answer")
	if err != nil {
		return err
	}
	if missing := missingKeys(m, "version", "api_version"); len(missing) > 0 {
		return fmt.Errorf("the info answer lacks %s", strings.Join(missing, " and "))
	}
	var info types.Info
	if err := json.Unmarshal(v, &info); err != nil {
		return fmt.Errorf("the info answer is not an object of strings: %w", err)
	}
	if info.APIVersion == "" {
		return fmt.Errorf("api_version is empty, want the plugin API version such as %q", types.APIVersion)
	}
	return validateSchema(infoSchema, v)
}
