package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Sent is what a case gave a program: its arguments, environment additions
// and stdin.
type Sent struct {
	// Argv is the program's path and arguments.
	Argv []string `json:"argv"`
	// Env holds the variables set on top of the checker's own environment.
	Env []string `json:"env,omitempty"`
	// Stdin is what was written to the program's stdin.
	Stdin string `json:"stdin"`
}

// Got is how a program answered.
type Got struct {
	// ExitStatus is the program's exit status, or -1 if it did not exit
	// on its own.
	ExitStatus int `json:"exit_status"`
	// Signal names the signal that ended the program, if one did.
	Signal string `json:"signal,omitempty"`
	// TimedOut is true when the program ran past the timeout and was killed.
	TimedOut bool `json:"timed_out,omitempty"`
	// StdoutHeld is true when the program exited but its stdout stayed open
	// past the timeout, held by a process it left behind.
	StdoutHeld bool `json:"stdout_held_open,omitempty"`
	// StartError is why the program could not be started.
	StartError string `json:"start_error,omitempty"`
	// Stdout and Stderr are what the program wrote, cut at reportLimit bytes.
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`

	// timeout is the limit the run had, for messages.
	timeout time.Duration
}

// outcome says in a few words how the run ended.
func (g *Got) outcome() string {
	outcome, _ := g.ending()
	return outcome
}

// ending says how the run ended: in a few words for the report, and, if the
// program did not end on its own with its stdout closed, why its answer
// cannot be judged ("" when it can).
func (g *Got) ending() (outcome, problem string) {
	switch {
	case g.StartError != "":
		return "not started: " + g.StartError, "could not run: " + g.StartError
	case g.TimedOut:
		return "killed after the timeout",
			fmt.Sprintf("no answer within %s: killed (netavark has no timeout and would wait forever)", g.timeout)
	case g.Signal != "":
		return "killed by signal " + g.Signal, "killed by signal " + g.Signal
	case g.StdoutHeld:
		return fmt.Sprintf("exit status %d, stdout held open", g.ExitStatus),
			fmt.Sprintf("exited with status %d but its stdout was still open when the timeout (%s) ran out: "+
				"a process it left behind holds it, and netavark reads stdout to its end, so it would wait forever",
				g.ExitStatus, g.timeout)
	}
	return fmt.Sprintf("exit status %d", g.ExitStatus), ""
}

// run is one execution of a program: what was sent, what came back, and
// the whole stdout for the checks.
type run struct {
	sent   Sent
	got    Got
	stdout []byte
	// interrupted is true when the caller's context ended the run, rather
	// than the program or the timeout.
	interrupted bool
}

// Limits on what is kept of a program's output: stdout is parsed, so more of
// it is kept; the report holds at most reportLimit bytes of each.
const (
	stdoutLimit = 4 << 20
	stderrLimit = 256 << 10
	reportLimit = 16 << 10
)

// stderrGrace is how long to wait for stderr to close after the program and
// its stdout are done. netavark passes stderr through without waiting for
// it, so a process that keeps it open is no fault.
const stderrGrace = 200 * time.Millisecond

// execute runs argv with stdin, adding env to the environment, in the
// network namespace at netns (the checker's own if ""), and waits at most
// timeout for it to exit and close its stdout. The program gets its own
// process group, which is killed when the timeout runs out, so that nothing
// it started outlives the run.
func execute(ctx context.Context, timeout time.Duration, netns string, argv, env []string, stdin []byte) *run {
	r := &run{sent: Sent{Argv: argv, Env: env, Stdin: string(stdin)}}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := start(ctx, netns, argv, env, stdin)
	if err == nil {
		r.got, r.stdout = p.wait(ctx)
	} else {
		r.got = Got{ExitStatus: -1, StartError: err.Error()}
	}
	r.got.timeout = timeout
	r.interrupted = errors.Is(ctx.Err(), context.Canceled)
	return r
}

// process is a started program and the read ends of its stdout and stderr.
type process struct {
	cmd            *exec.Cmd
	outR, errR     *os.File
	stdout, stderr <-chan []byte
}

// start starts argv as execute describes, with stdout and stderr read in
// the background.
func start(ctx context.Context, netns string, argv, env []string, stdin []byte) (*process, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("create stderr pipe: %w", err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	// Pipes of our own, not buffers: Wait then returns when the program
	// exits, and whether its stdout closes is ours to see.
	cmd.Stdout, cmd.Stderr = outW, errW
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	// A program that exits without reading stdin must not hold up Wait.
	cmd.WaitDelay = time.Second

	if netns == "" {
		err = cmd.Start()
	} else {
		// The child inherits the network namespace of the thread that
		// starts it.
		err = inNetns(netns, cmd.Start)
	}
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	return &process{
		cmd: cmd, outR: outR, errR: errR,
		stdout: readAll(outR, stdoutLimit), stderr: readAll(errR, stderrLimit),
	}, nil
}

// wait waits for p to exit and for its output, as long as ctx allows, and
// returns how it ended and its whole stdout.
func (p *process) wait(ctx context.Context) (Got, []byte) {
	defer p.outR.Close()
	defer p.errR.Close()
	got, ok := p.exit(ctx)
	if !ok {
		return got, nil
	}
	var out []byte
	select {
	case out = <-p.stdout:
	case <-ctx.Done():
		// The program exited, but something it started still holds its
		// stdout: netavark would wait forever. (After a timeout, the
		// program itself was the problem.)
		got.StdoutHeld = !got.TimedOut
		_ = killGroup(p.cmd.Process.Pid)
		p.outR.Close()
		out = <-p.stdout
	}
	var errOut []byte
	select {
	case errOut = <-p.stderr:
	case <-time.After(stderrGrace):
		p.errR.Close()
		errOut = <-p.stderr
	}
	got.Stdout = truncate(string(out), reportLimit)
	got.Stderr = truncate(string(errOut), reportLimit)
	return got, out
}

// exit waits for p to exit and returns its exit status and how it was
// killed, if it was; false means the wait itself failed.
func (p *process) exit(ctx context.Context) (Got, bool) {
	waitErr := p.cmd.Wait()
	state := p.cmd.ProcessState
	if state == nil {
		_ = killGroup(p.cmd.Process.Pid)
		return Got{ExitStatus: -1, StartError: fmt.Sprintf("wait: %v", waitErr)}, false
	}
	got := Got{ExitStatus: state.ExitCode()}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		// A kill by our own Cancel is the timeout, not the program's doing.
		if ctx.Err() != nil && ws.Signal() == syscall.SIGKILL {
			got.TimedOut = true
		} else {
			got.Signal = ws.Signal().String()
		}
	}
	return got, true
}

// readAll reads f to its end in the background, keeping at most limit bytes,
// and sends what it read when f reaches its end or is closed.
func readAll(f *os.File, limit int64) <-chan []byte {
	c := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		_, _ = io.Copy(&buf, io.LimitReader(f, limit))
		// Drain the rest, so that the writer never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, f)
		c <- buf.Bytes()
	}()
	return c
}

// killGroup kills the process group pgid.
func killGroup(pgid int) error {
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pgid, err)
	}
	return nil
}

// problem returns why the run cannot be judged on its answer: the caller
// interrupted it, or the program did not end on its own with its stdout
// closed (see Got.ending). It returns "" for a run that ended normally.
func (r *run) problem() string {
	if r.interrupted {
		return "interrupted"
	}
	_, problem := r.got.ending()
	return problem
}
