package check

import (
	"strings"
	"testing"
)

func TestOneValue(t *testing.T) {
	tests := []struct {
		name, out string
		wantErr   string
	}{
		{"object", `{"a":1}`, ""},
		{"trailing newline", "{\"a\":1}\n", ""},
		{"whitespace around", " \t\r\n{}\n\n", ""},
		{"empty", "", "stdout is empty"},
		{"only whitespace", " \n", "stdout is empty"},
		{"log before", "starting\n{}", `it starts with "starting"`},
		{"log after", "{}\ndone\n", `"done" follows the first`},
		{"two values", `{}{}`, "more than one JSON value"},
		{"truncated", `{"a":`, "not one JSON value"},
		{"invalid utf-8", "\"\xff\"", "not valid UTF-8"},
		{"form feed is no JSON space", "{}\f", "more than one JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oneValue([]byte(tt.out))
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestErrorAnswer(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		stdout  string
		got     Got
		wantErr string
	}{
		{name: "correct", status: 1, stdout: `{"error":"boom"}` + "\n"},
		{name: "exit 0", status: 0, stdout: `{"error":"boom"}`, wantErr: "exit status 0 after the error answer"},
		{name: "exit 2", status: 2, stdout: `{"error":"boom"}`, wantErr: "exit status 2, want exactly 1"},
		{name: "extra key", status: 1, stdout: `{"error":"boom","code":1}`, wantErr: `keys other than "error": code`},
		{name: "no error key", status: 1, stdout: `{"message":"boom"}`, wantErr: `no "error" key`},
		{name: "not a string", status: 1, stdout: `{"error":1}`, wantErr: "not a string"},
		{name: "empty message", status: 1, stdout: `{"error":" "}`, wantErr: "message is empty"},
		{name: "not an object", status: 1, stdout: `["boom"]`, wantErr: "not a JSON object"},
		{name: "null", status: 1, stdout: `null`, wantErr: "not a JSON object"},
		{name: "empty stdout", status: 1, stdout: "", wantErr: "stdout is empty"},
		{name: "timed out", status: -1, got: Got{TimedOut: true}, wantErr: "no answer within"},
		{name: "stdout held", status: 1, stdout: `{"error":"boom"}`, got: Got{StdoutHeld: true}, wantErr: "still open"},
		{name: "signal", status: -1, got: Got{Signal: "segmentation fault"}, wantErr: "killed by signal segmentation fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &run{got: tt.got, stdout: []byte(tt.stdout)}
			r.got.ExitStatus = tt.status
			msg, err := errorAnswer(r)
			checkErr(t, err, tt.wantErr)
			if err == nil && msg != "boom" {
				t.Errorf("message %q, want boom", msg)
			}
		})
	}
}

func TestExitedZero(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		stdout  string
		wantErr string
	}{
		{"success", 0, `{}`, ""},
		{"refusal", 1, `{"error":"no such option"}`, "failed: no such option"},
		{"broken refusal", 3, "oops", "exit status 3, and no correct error answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := exitedZero(&run{got: Got{ExitStatus: tt.status}, stdout: []byte(tt.stdout)})
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestJSONEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`{"a":[1]}`, `{ "a" : [ 1 ] }`, true},
		{`{"a":1,"b":2}`, `{"b":2,"a":1}`, true},
		{`{"a":[1]}`, `{"a":[1.0]}`, false},
		{`{"a":[1]}`, `{"a":[1,2]}`, false},
		{`"x"`, `"x"`, true},
		{`1`, `x`, false},
	}
	for _, tt := range tests {
		if got := jsonEqual([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("jsonEqual(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// checkErr checks that err is nil if want is "", else that it holds want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want one with %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q, want one with %q", err, want)
	}
}
