// Package netavark is the front end of demo for podman: the plugin that
// netavark execs. One run of the executable (argv, stdin) becomes one call
// of a [Handler], whose answer is written as netavark expects it; [Plugin]
// is the Handler that translates the calls into package driver's.
//
// The protocol, as netavark 1.6 to 2.1 and podman speak it:
//
//   - argv[1] is create, setup, teardown or info; no argument means info;
//     setup and teardown take the container's netns path as argv[2];
//   - stdin holds one JSON document (none for info);
//   - stdout gets exactly one JSON document, and nothing else: netavark
//     parses it strictly. Logs go to stderr, which netavark passes through;
//   - on failure stdout gets {"error":"message"} and the exit status is 1.
package netavark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"example.com/demo/internal/protocol"
)

// Main runs the subcommand of the program's arguments with a Plugin over
// the plugin's driver, on the process's stdin and stdout, and returns the
// exit status. version is what info reports.
func Main(ctx context.Context, version string) int {
	return Run(ctx, NewPlugin(version), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// Handler answers the calls of the netavark exec protocol.
type Handler interface {
	// Info describes the plugin.
	Info() protocol.Info
	// Create validates a new network and returns it completed. It must keep
	// the network's name, id and driver, and every field it does not use.
	Create(ctx context.Context, network protocol.Network) (protocol.Network, error)
	// Setup attaches a container, whose network namespace is at netns, to
	// the network.
	Setup(ctx context.Context, netns string, req protocol.NetworkPluginExec) (protocol.StatusBlock, error)
	// Teardown detaches a container from the network. It must succeed when
	// there is nothing to remove: after a failed setup, without a setup, a
	// second time, or when netns no longer exists.
	Teardown(ctx context.Context, netns string, req protocol.NetworkPluginExec) error
}

// Exit statuses of Run.
const (
	ExitOK    = 0
	ExitError = 1
)

// Run executes the subcommand in args (the program's arguments without its
// name) with h, reading stdin and writing the answer to stdout. It returns the
// process exit status. It never panics: a panic of h becomes an error answer.
func Run(ctx context.Context, h Handler, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var data []byte
	answer, err := dispatch(ctx, h, args, stdin)
	if err == nil {
		if data, err = json.Marshal(answer); err != nil {
			err = fmt.Errorf("encode answer: %w", err)
		}
	}
	status := ExitOK
	if err != nil {
		status = ExitError
		data, _ = json.Marshal(protocol.ErrorResponse{Error: err.Error()}) // a string always encodes
	}
	if _, err := stdout.Write(append(data, '\n')); err != nil {
		fmt.Fprintf(stderr, "write answer: %v\n", err)
		return ExitError
	}
	return status
}

// dispatch runs one subcommand and returns its answer.
func dispatch(ctx context.Context, h Handler, args []string, stdin io.Reader) (answer any, err error) {
	defer func() {
		if r := recover(); r != nil {
			answer, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	cmd := "info"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "info":
		return h.Info(), nil
	case "create":
		var network protocol.Network
		if err := decode(stdin, &network); err != nil {
			return nil, err
		}
		return h.Create(ctx, network)
	case "setup", "teardown":
		if len(args) < 2 || args[1] == "" {
			return nil, fmt.Errorf("%s: missing network namespace path argument", cmd)
		}
		var req protocol.NetworkPluginExec
		if err := decode(stdin, &req); err != nil {
			return nil, err
		}
		if cmd == "setup" {
			return h.Setup(ctx, args[1], req)
		}
		// netavark ignores what teardown prints on success.
		return struct{}{}, h.Teardown(ctx, args[1], req)
	default:
		return nil, fmt.Errorf("unknown subcommand %q (want create, setup, teardown or info)", cmd)
	}
}

// decode reads exactly one JSON document from r into v.
func decode(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("read stdin: no JSON document")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode stdin: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("decode stdin: more than one JSON document")
	}
	return nil
}
