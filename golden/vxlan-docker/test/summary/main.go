// Command summary runs go test and ends with the tests that skipped, and
// why. make test runs it: a test that needs root, netavark or podman skips
// where they are missing, and go test alone reports such a run as ok, the
// skips visible only with -v.
//
// Usage:
//
//	go run ./test/summary [go test flags] [packages]
//
// It runs go test -json with the arguments, prints what go test prints
// without -v (the packages' results, and the output of the tests that
// fail), then the skipped tests, each with the reason it gave, and exits
// with go test's status.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = stderr
	events, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	skips, readErr := summarize(events, stdout)
	err = cmd.Wait()
	printSkips(stdout, skips)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil || readErr != nil:
		fmt.Fprintln(stderr, errors.Join(err, readErr))
		return 1
	}
	return 0
}

// event is a line of go test -json (go doc cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is a test that skipped, and what it said.
type skip struct {
	pkg, test, reason string
}

// summarize reads the events of go test -json from r and writes to w what
// go test writes without -v. It returns the tests that skipped.
func summarize(r io.Reader, w io.Writer) ([]skip, error) {
	output := make(map[[2]string][]string) // a running test's output lines
	var skips []skip
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not an event: something go test printed as it is.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		key := [2]string{e.Package, e.Test}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Test == "" && e.Action == "output" && e.Output != "PASS\n":
			fmt.Fprint(w, e.Output)
		case e.Test == "":
		case e.Action == "output":
			output[key] = append(output[key], e.Output)
		case e.Action == "fail":
			fmt.Fprint(w, strings.Join(output[key], ""))
			delete(output, key)
		case e.Action == "skip":
			skips = append(skips, skip{e.Package, e.Test, reason(output[key])})
			delete(output, key)
		case e.Action == "pass":
			delete(output, key)
		}
	}
	return skips, sc.Err()
}

// reason returns what a skipped test said: its output without go test's
// own lines (=== RUN, --- SKIP) and the file:line prefix of t.Skip's.
func reason(lines []string) string {
	var said []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		if file, text, ok := strings.Cut(l, ": "); ok && strings.Contains(file, ".go:") {
			l = text
		}
		said = append(said, l)
	}
	if len(said) == 0 {
		return "(no reason given)"
	}
	return strings.Join(said, "; ")
}

// printSkips writes the skipped tests to w, or that none skipped.
func printSkips(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "no test skipped")
		return
	}
	fmt.Fprintf(w, "\n%d test(s) skipped:\n", len(skips))
	for _, s := range skips {
		fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
	}
	fmt.Fprintln(w, "root, NETAVARK and PODMAN run them; TEST_NO_SKIP=1 makes a skip a failure")
}
