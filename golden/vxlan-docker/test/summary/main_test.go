package main

import (
	"strings"
	"testing"
)

// events is go test -json's output for a package with a passing, a
// failing and a skipping test, a skipping subtest, and a package that does
// not build.
const events = `{"Action":"start","Package":"example.com/p"}
{"Action":"run","Package":"example.com/p","Test":"TestPass"}
{"Action":"output","Package":"example.com/p","Test":"TestPass","Output":"=== RUN   TestPass\n"}
{"Action":"output","Package":"example.com/p","Test":"TestPass","Output":"--- PASS: TestPass (0.00s)\n"}
{"Action":"pass","Package":"example.com/p","Test":"TestPass","Elapsed":0}
{"Action":"run","Package":"example.com/p","Test":"TestFail"}
{"Action":"output","Package":"example.com/p","Test":"TestFail","Output":"=== RUN   TestFail\n"}
{"Action":"output","Package":"example.com/p","Test":"TestFail","Output":"    p_test.go:9: got 1, want 2\n"}
{"Action":"output","Package":"example.com/p","Test":"TestFail","Output":"--- FAIL: TestFail (0.00s)\n"}
{"Action":"fail","Package":"example.com/p","Test":"TestFail","Elapsed":0}
{"Action":"run","Package":"example.com/p","Test":"TestRoot"}
{"Action":"output","Package":"example.com/p","Test":"TestRoot","Output":"=== RUN   TestRoot\n"}
{"Action":"output","Package":"example.com/p","Test":"TestRoot","Output":"    p_test.go:14: needs root\n"}
{"Action":"output","Package":"example.com/p","Test":"TestRoot","Output":"--- SKIP: TestRoot (0.00s)\n"}
{"Action":"skip","Package":"example.com/p","Test":"TestRoot","Elapsed":0}
{"Action":"run","Package":"example.com/p","Test":"TestSub/v6"}
{"Action":"output","Package":"example.com/p","Test":"TestSub/v6","Output":"    --- SKIP: TestSub/v6 (0.00s)\n"}
{"Action":"skip","Package":"example.com/p","Test":"TestSub/v6","Elapsed":0}
{"Action":"output","Package":"example.com/p","Output":"FAIL\n"}
{"Action":"output","Package":"example.com/p","Output":"FAIL\texample.com/p\t0.010s\n"}
{"Action":"fail","Package":"example.com/p","Elapsed":0.01}
{"ImportPath":"example.com/q","Action":"build-output","Output":"q/q.go:3:1: syntax error\n"}
{"ImportPath":"example.com/q","Action":"build-fail"}
{"Action":"output","Package":"example.com/r","Output":"PASS\n"}
{"Action":"output","Package":"example.com/r","Output":"ok  \texample.com/r\t0.020s\n"}
{"Action":"pass","Package":"example.com/r","Elapsed":0.02}
`

func TestSummarize(t *testing.T) {
	var out strings.Builder
	skips, err := summarize(strings.NewReader(events), &out)
	if err != nil {
		t.Fatal(err)
	}
	printSkips(&out, skips)
	want := `=== RUN   TestFail
    p_test.go:9: got 1, want 2
--- FAIL: TestFail (0.00s)
FAIL
FAIL	example.com/p	0.010s
q/q.go:3:1: syntax error
ok  	example.com/r	0.020s

2 test(s) skipped:
  example.com/p TestRoot: needs root
  example.com/p TestSub/v6: (no reason given)
root, NETAVARK and PODMAN run them; TEST_NO_SKIP=1 makes a skip a failure
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSummarizeNoSkip(t *testing.T) {
	var out strings.Builder
	printSkips(&out, nil)
	if got, want := out.String(), "no test skipped\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestRunStatus runs go test through run: the exit status is go test's.
func TestRunStatus(t *testing.T) {
	var out, errOut strings.Builder
	if status := run([]string{"-run", "^TestSummarizeNoSkip$", "."}, &out, &errOut); status != 0 {
		t.Errorf("run = %d, want 0; output:\n%s%s", status, out.String(), errOut.String())
	}
	if status := run([]string{"./no-such-package"}, &out, &errOut); status == 0 {
		t.Errorf("run of a missing package = 0, want go test's failure")
	}
}
