package check

import (
	"context"
	"encoding/json"
)

// netnsCases runs the setup and teardown cycle with the plugin itself, as
// netavark would run it.
func (s *suite) netnsCases(ctx context.Context) {
	s.runCycle(ctx, cycle{
		prefix: "netns",
		setup: func(ctx context.Context, path string, req request) (*run, json.RawMessage, error) {
			r := s.runPlugin(ctx, req.json, "setup", path)
			v, err := successAnswer(r)
			return r, v, err
		},
		teardown: func(ctx context.Context, path string, req request) *run {
			return s.runPlugin(ctx, req.json, "teardown", path)
		},
		repeat: true,
	})
}
