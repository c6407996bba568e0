package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// isJSONSpace reports whether c is whitespace in JSON's grammar.
func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// trimJSONSpace removes JSON whitespace from both ends of b.
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// oneValue returns the JSON value that out holds, or an error saying why out
// is not exactly one JSON value with nothing but whitespace around it, as
// netavark parses a plugin's stdout.
func oneValue(out []byte) (json.RawMessage, error) {
	body := trimJSONSpace(out)
	if len(body) == 0 {
		return nil, errors.New("stdout is empty, want one JSON value")
	}
	if !utf8.Valid(body) {
		return nil, errors.New("stdout is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("stdout is not one JSON value (%w); it starts with %q "+
			"(logs belong on stderr)", err, firstLine(body))
	}
	if rest := trimJSONSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("stdout holds more than one JSON value: %q follows the first "+
			"(logs belong on stderr)", firstLine(rest))
	}
	return v, nil
}

// firstLine returns the first line of b, cut at 80 bytes.
func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if len(line) > 80 {
		return string(line[:80]) + "..."
	}
	return string(line)
}

// object decodes the JSON object v into its keys and raw values.
func object(v json.RawMessage, what string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%s is not a JSON object: %s", what, firstLine(v))
	}
	return m, nil
}

// missingKeys returns the keys of want that m lacks.
func missingKeys(m map[string]json.RawMessage, want ...string) []string {
	var missing []string
	for _, k := range want {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	return missing
}

// errorAnswer checks that r is a correct failure answer: exit status
// exactly 1 and exactly {"error":"non-empty message"} on stdout. It returns
// the message.
func errorAnswer(r *run) (string, error) {
	if p := r.problem(); p != "" {
		return "", errors.New(p)
	}
	v, err := oneValue(r.stdout)
	if err != nil {
		return "", err
	}
	m, err := object(v, "the error answer")
	if err != nil {
		return "", err
	}
	raw, ok := m["error"]
	if !ok {
		return "", fmt.Errorf(`the answer has no "error" key: %s`, firstLine(v))
	}
	var msg string
	if err := json.Unmarshal(raw, &msg); err != nil {
		return "", fmt.Errorf(`"error" is not a string: %s`, raw)
	}
	if extra := slices.DeleteFunc(slices.Sorted(maps.Keys(m)), func(k string) bool { return k == "error" }); len(extra) > 0 {
		return "", fmt.Errorf(`the error object has keys other than "error": %s `+
			`(podman decodes it with DisallowUnknownFields)`, strings.Join(extra, ", "))
	}
	if strings.TrimSpace(msg) == "" {
		return "", errors.New("the error message is empty")
	}
	switch r.got.ExitStatus {
	case 1:
		return msg, nil
	case 0:
		return "", fmt.Errorf("exit status 0 after the error answer %q: a failure must exit 1", msg)
	default:
		return "", fmt.Errorf("exit status %d, want exactly 1 for a failure", r.got.ExitStatus)
	}
}

// successAnswer checks that r exited 0 with one JSON value on stdout and
// returns the value.
func successAnswer(r *run) (json.RawMessage, error) {
	if err := exitedZero(r); err != nil {
		return nil, err
	}
	return oneValue(r.stdout)
}

// exitedZero checks that r ended on its own with exit status 0. For a
// failure, the error holds the plugin's message if it gave one correctly.
func exitedZero(r *run) error {
	if p := r.problem(); p != "" {
		return errors.New(p)
	}
	if r.got.ExitStatus == 0 {
		return nil
	}
	msg, err := errorAnswer(r)
	if err != nil {
		return fmt.Errorf("exit status %d, and no correct error answer: %w", r.got.ExitStatus, err)
	}
	return fmt.Errorf("failed: %s", msg)
}

// refusal reports whether r is an answer of a failure (a non-zero exit
// status without another problem), as opposed to a success or a broken run.
func refusal(r *run) bool {
	return r.problem() == "" && r.got.ExitStatus != 0
}
