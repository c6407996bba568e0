package check

import (
	"context"
	"encoding/json"
)

// errorCases runs requests the plugin must refuse, and checks that each
// refusal follows the error protocol: exit status 1 and exactly
// {"error":"message"} on stdout.
func (s *suite) errorCases(ctx context.Context) {
	network, err := s.testNetwork()
	if err != nil {
		s.fail("error", nil, "%v", err)
		return
	}
	networkJSON, err := json.Marshal(network)
	if err != nil {
		s.fail("error", nil, "encode the network: %v", err)
		return
	}
	req, err := execRequest(networkJSON, "eth0")
	if err != nil {
		s.fail("error", nil, "%v", err)
		return
	}
	tests := []struct {
		name  string
		args  []string
		stdin []byte
	}{
		{"error/bad-json", []string{"create"}, []byte(`{"name":"check","id":`)},
		{"error/empty-stdin", []string{"create"}, nil},
		{"error/unknown-subcommand", []string{"x-check-unknown-subcommand"}, networkJSON},
		{"error/setup-without-netns", []string{"setup"}, req.json},
		{"error/teardown-without-netns", []string{"teardown"}, req.json},
	}
	for _, tt := range tests {
		r := s.runPlugin(ctx, tt.stdin, tt.args...)
		_, err := errorAnswer(r)
		s.result(tt.name, r, err)
	}
}
