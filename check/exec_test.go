package check

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestExecute(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		script  string
		stdin   string
		check   func(*testing.T, *run)
	}{
		{"answer", time.Second, `cat; echo err >&2; exit 3`, `{"a":1}`, func(t *testing.T, r *run) {
			if r.got.ExitStatus != 3 || string(r.stdout) != `{"a":1}` || r.got.Stderr != "err\n" || r.problem() != "" {
				t.Errorf("got %+v", r.got)
			}
		}},
		{"timeout", 300 * time.Millisecond, `sleep 10`, "", func(t *testing.T, r *run) {
			if !r.got.TimedOut || !strings.Contains(r.problem(), "no answer within 300ms") {
				t.Errorf("got %+v, problem %q", r.got, r.problem())
			}
		}},
		{"child holds stdout", 300 * time.Millisecond, `sleep 10 & echo '{}'`, "", func(t *testing.T, r *run) {
			if !r.got.StdoutHeld || r.got.TimedOut || string(r.stdout) != "{}\n" || !strings.Contains(r.problem(), "stdout was still open") {
				t.Errorf("got %+v, problem %q", r.got, r.problem())
			}
		}},
		{"child holds only stderr", 2 * time.Second, `sleep 1 >/dev/null & echo '{}'`, "", func(t *testing.T, r *run) {
			if r.problem() != "" || string(r.stdout) != "{}\n" {
				t.Errorf("got %+v, problem %q", r.got, r.problem())
			}
		}},
		{"signal", time.Second, `kill -SEGV $$`, "", func(t *testing.T, r *run) {
			if r.got.Signal != "segmentation fault" || !strings.Contains(r.problem(), "killed by signal") {
				t.Errorf("got %+v", r.got)
			}
		}},
		{"stdin not read", time.Second, `exit 0`, strings.Repeat("x", 1<<20), func(t *testing.T, r *run) {
			if r.problem() != "" || r.got.ExitStatus != 0 {
				t.Errorf("got %+v, problem %q", r.got, r.problem())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := execute(context.Background(), tt.timeout, "", []string{"sh", "-c", tt.script}, nil, []byte(tt.stdin))
			if d := time.Since(start); d > tt.timeout+2*time.Second {
				t.Errorf("took %s with a timeout of %s", d, tt.timeout)
			}
			tt.check(t, r)
		})
	}
}

func TestExecuteNotStarted(t *testing.T) {
	r := execute(context.Background(), time.Second, "", []string{"/nonexistent/plugin"}, nil, nil)
	if r.got.StartError == "" || !strings.Contains(r.problem(), "could not run") {
		t.Errorf("got %+v", r.got)
	}
}

func TestExecuteEnv(t *testing.T) {
	r := execute(context.Background(), time.Second, "", []string{"sh", "-c", `printf %s "$CHECK_X"`}, []string{"CHECK_X=y"}, nil)
	if string(r.stdout) != "y" {
		t.Errorf("stdout %q, want y", r.stdout)
	}
}
