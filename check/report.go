package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of a case.
type Status string

// The outcomes of a case.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Case is the outcome of one check, with the run of the plugin (or of
// netavark) that decided it, if any.
type Case struct {
	// Name identifies the case, for example "create/podman-5.8/create-basic".
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Reason says why the case failed or was skipped.
	Reason string `json:"reason,omitempty"`
	// Sent and Got are the run that decided the case.
	Sent *Sent `json:"sent,omitempty"`
	Got  *Got  `json:"got,omitempty"`
}

// Summary counts the cases of a report by outcome.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// Report is the outcome of a run of the suite.
type Report struct {
	// Plugin is the path of the plugin executable.
	Plugin string `json:"plugin"`
	// Driver is the driver name the plugin was run as: its file name.
	Driver  string  `json:"driver"`
	Cases   []Case  `json:"cases"`
	Summary Summary `json:"summary"`
}

// OK reports whether no case failed.
func (r *Report) OK() bool {
	return r.Summary.Failed == 0
}

// add appends c and counts it.
func (r *Report) add(c Case) {
	r.Cases = append(r.Cases, c)
	switch c.Status {
	case Pass:
		r.Summary.Passed++
	case Fail:
		r.Summary.Failed++
	case Skip:
		r.Summary.Skipped++
	}
}

// textLimit is how much of each stdin, stdout and stderr the text report
// shows.
const textLimit = 1024

// WriteText writes r for people: one line per case, the run behind each
// failure, and the summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Cases {
		switch c.Status {
		case Pass:
			fmt.Fprintf(&b, "PASS %s\n", c.Name)
		case Fail:
			fmt.Fprintf(&b, "FAIL %s: %s\n", c.Name, c.Reason)
			writeRun(&b, c.Sent, c.Got)
		default:
			fmt.Fprintf(&b, "SKIP %s: %s\n", c.Name, c.Reason)
		}
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", r.Summary.Passed, r.Summary.Failed, r.Summary.Skipped)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRun writes what was sent and what came back, indented under a FAIL
// line.
func writeRun(b *strings.Builder, sent *Sent, got *Got) {
	if sent != nil {
		fmt.Fprintf(b, "    sent: argv: %s\n", shellJoin(sent.Argv))
		if len(sent.Env) > 0 {
			fmt.Fprintf(b, "          env: %s\n", shellJoin(sent.Env))
		}
		fmt.Fprintf(b, "          stdin: %s\n", shown(sent.Stdin))
	}
	if got != nil {
		fmt.Fprintf(b, "    got:  %s\n", got.outcome())
		fmt.Fprintf(b, "          stdout: %s\n", shown(got.Stdout))
		fmt.Fprintf(b, "          stderr: %s\n", shown(got.Stderr))
	}
}

// shown quotes s for one line of the text report, cut at textLimit bytes.
func shown(s string) string {
	if s == "" {
		return "(empty)"
	}
	return fmt.Sprintf("%q", truncate(s, textLimit))
}

// truncate cuts s after n bytes and says how much it left out.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s[... %d more bytes]", s[:n], len(s)-n)
}

// shellJoin joins words with spaces, quoting those a shell would split or
// interpret.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsFunc(w, needsQuote) {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		quoted[i] = w
	}
	return strings.Join(quoted, " ")
}

func needsQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./:=@%+,", r)
}

// WriteJSON writes r as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}
