package netavark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"example.com/demo/internal/protocol"
)

// recorder is a Handler that records its calls and answers with what the test
// sets.
type recorder struct {
	calls   []string
	netns   string
	req     protocol.NetworkPluginExec
	network protocol.Network
	status  protocol.StatusBlock
	err     error
	panics  bool
}

func (r *recorder) Info() protocol.Info {
	r.calls = append(r.calls, "info")
	return protocol.Info{Version: "1.2.3", APIVersion: protocol.APIVersion}
}

func (r *recorder) Create(_ context.Context, n protocol.Network) (protocol.Network, error) {
	r.calls = append(r.calls, "create")
	r.network = n
	return n, r.err
}

func (r *recorder) Setup(_ context.Context, netns string, req protocol.NetworkPluginExec) (protocol.StatusBlock, error) {
	r.calls = append(r.calls, "setup")
	if r.panics {
		panic("driver bug")
	}
	r.netns, r.req = netns, req
	return r.status, r.err
}

func (r *recorder) Teardown(_ context.Context, netns string, req protocol.NetworkPluginExec) error {
	r.calls = append(r.calls, "teardown")
	r.netns, r.req = netns, req
	return r.err
}

// run runs the dispatcher and checks what must hold for every answer: stdout
// is exactly one JSON value and the exit status is 0 or 1.
func run(t *testing.T, h Handler, stdin string, args ...string) (status int, stdout string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = Run(context.Background(), h, args, strings.NewReader(stdin), &out, &errOut)
	if status != ExitOK && status != ExitError {
		t.Fatalf("exit status %d, want 0 or 1", status)
	}
	dec := json.NewDecoder(&out)
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %q: %v", out.String(), err)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value: %q", out.String())
	}
	return status, string(v)
}

// checkError checks that an answer is exactly {"error": message} with a
// non-empty message containing want, and exit status 1.
func checkError(t *testing.T, status int, stdout, want string) {
	t.Helper()
	if status != ExitError {
		t.Errorf("exit status %d, want %d", status, ExitError)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(stdout), &fields); err != nil {
		t.Fatalf("error answer %s: %v", stdout, err)
	}
	msg, ok := fields["error"].(string)
	if len(fields) != 1 || !ok || msg == "" {
		t.Fatalf("error answer %s, want exactly one non-empty \"error\" string", stdout)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not mention %q", msg, want)
	}
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInfo(t *testing.T) {
	for _, args := range [][]string{nil, {"info"}} {
		r := &recorder{}
		status, out := run(t, r, "", args...)
		if status != ExitOK || out != `{"api_version":"1.0.0","version":"1.2.3"}` {
			t.Errorf("args %q: status %d, answer %s", args, status, out)
		}
	}
}

// TestSetupTeardownFixtures feeds what real netavark sent to a plugin and
// checks that the driver gets the same request and netns path.
func TestSetupTeardownFixtures(t *testing.T) {
	var n int
	err := filepath.WalkDir("testdata/fixtures", func(path string, e os.DirEntry, err error) error {
		cmd := strings.TrimSuffix(filepath.Base(path), ".json")
		if err != nil || cmd != "setup" && cmd != "teardown" {
			return err
		}
		n++
		t.Run(path, func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var want protocol.NetworkPluginExec
			if err := json.Unmarshal(in, &want); err != nil {
				t.Fatal(err)
			}
			r := &recorder{}
			status, out := run(t, r, string(in), cmd, "/run/netns/test")
			if status != ExitOK {
				t.Fatalf("status %d, answer %s", status, out)
			}
			if !reflect.DeepEqual(r.calls, []string{cmd}) || r.netns != "/run/netns/test" {
				t.Errorf("calls %v with netns %q", r.calls, r.netns)
			}
			if !reflect.DeepEqual(r.req, want) {
				t.Errorf("driver got %+v\nwant %+v", r.req, want)
			}
			if want.ContainerID == "" || want.Network.Name == "" || want.NetworkOptions.InterfaceName == "" {
				t.Errorf("fixture decoded without its ids: %+v", want)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("ran %d setup/teardown fixtures, want at least 5", n)
	}
}

func TestSetupAnswer(t *testing.T) {
	ipnet, err := protocol.ParseIPNet("10.89.0.5/24")
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := protocol.ParseHardwareAddr("aa:bb:cc:dd:ee:01")
	r := &recorder{status: protocol.StatusBlock{Interfaces: map[string]protocol.NetInterface{
		"eth0": {MACAddress: mac, Subnets: []protocol.NetAddress{
			{IPNet: ipnet},
		}},
	}}}
	status, out := run(t, r, readFixture(t, "netavark-1.14/full/setup.json"), "setup", "/run/netns/x")
	want := `{"interfaces":{"eth0":{"mac_address":"aa:bb:cc:dd:ee:01","subnets":[{"ipnet":"10.89.0.5/24"}]}}}`
	if status != ExitOK || out != want {
		t.Errorf("status %d, answer %s\nwant %s", status, out, want)
	}
}

// TestCreateKeepsNetwork checks that create hands the network back with the
// keys podman sent, including those the types do not model.
func TestCreateKeepsNetwork(t *testing.T) {
	in := readFixture(t, "podman-5.8/create-basic.json")
	in = strings.Replace(in, `{"name"`, `{"future_key":[1,2],"name"`, 1)
	status, out := run(t, &recorder{}, in, "create")
	if status != ExitOK {
		t.Fatalf("status %d, answer %s", status, out)
	}
	var want, got map[string]any
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("create changed the network\n in: %s\nout: %s", in, out)
	}
}

// zeroAddressStatus holds an address without a value, which does not encode.
var zeroAddressStatus = protocol.StatusBlock{Interfaces: map[string]protocol.NetInterface{
	"eth0": {Subnets: make([]protocol.NetAddress, 1)},
}}

func TestErrors(t *testing.T) {
	setup := readFixture(t, "netavark-1.14/minimal/setup.json")
	tests := []struct {
		name   string
		driver *recorder
		stdin  string
		args   []string
		want   string
	}{
		{"bad json", &recorder{}, `{"container_id":`, []string{"setup", "/run/netns/x"}, "decode stdin"},
		{"empty stdin", &recorder{}, "", []string{"create"}, "no JSON document"},
		{"two documents", &recorder{}, setup + setup, []string{"setup", "/run/netns/x"}, "more than one"},
		{"wrong type", &recorder{}, `[1,2]`, []string{"create"}, "decode stdin"},
		{"setup without netns", &recorder{}, setup, []string{"setup"}, "missing network namespace"},
		{"teardown without netns", &recorder{}, setup, []string{"teardown"}, "missing network namespace"},
		{"unknown subcommand", &recorder{}, "", []string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{"driver error", &recorder{err: errors.New("setup error")}, setup, []string{"setup", "/run/netns/x"}, "setup error"},
		{"teardown error", &recorder{err: errors.New("busy")}, setup, []string{"teardown", "/run/netns/x"}, "busy"},
		{"create error", &recorder{err: errors.New("bad option")}, readFixture(t, "podman-5.8/create-basic.json"), []string{"create"}, "bad option"},
		{"driver panic", &recorder{panics: true}, setup, []string{"setup", "/run/netns/x"}, "internal error: driver bug"},
		{"answer that does not encode", &recorder{status: zeroAddressStatus}, setup, []string{"setup", "/run/netns/x"}, "encode answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := run(t, tt.driver, tt.stdin, tt.args...)
			checkError(t, status, out, tt.want)
		})
	}
}

func TestTeardownAnswersEmptyObject(t *testing.T) {
	status, out := run(t, &recorder{}, readFixture(t, "netavark-1.14/minimal/teardown.json"), "teardown", "/run/netns/gone")
	if status != ExitOK || out != "{}" {
		t.Errorf("status %d, answer %s", status, out)
	}
}

// FuzzRun feeds arbitrary arguments and stdin to the dispatcher, seeded with
// the fixtures: it must never panic, print exactly one JSON value on stdout,
// and exit 0 or 1 (run checks these), and an error answer must be exactly
// {"error": message}.
func FuzzRun(f *testing.F) {
	err := filepath.WalkDir("testdata/fixtures", func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		doc, err := os.ReadFile(path)
		for _, cmd := range []string{"create", "setup", "teardown"} {
			f.Add(cmd, "/run/netns/x", doc)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("info", "", []byte(nil))
	f.Add("setup", "", []byte("{"))
	f.Fuzz(func(t *testing.T, cmd, netns string, stdin []byte) {
		status, out := run(t, &recorder{}, string(stdin), cmd, netns)
		if status == ExitError {
			checkError(t, status, out, "")
		}
	})
}
