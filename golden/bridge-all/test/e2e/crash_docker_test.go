package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/demo/internal/docker"
	"example.com/demo/internal/nstest"
	"example.com/demo/internal/store"
)

// daemonKills is how many times TestCrashDocker kills the driver daemon.
const daemonKills = 100

// engine sends the driver daemon the calls that the Docker engine sends,
// over its unix socket.
type engine struct {
	client *http.Client
}

func newEngine(socket string) engine {
	return engine{client: &http.Client{
		Timeout: callTimeout,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
		},
	}}
}

// errTransport marks a call that got no answer: the daemon died under it.
var errTransport = errors.New("no answer")

// call sends the engine's call method with req and decodes the answer into
// resp, if not nil. It returns an error wrapping errTransport when the call
// got no answer, and the driver's error when the driver refused it.
func (e engine) call(method string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := e.client.Post("http://plugin/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w: %w", method, errTransport, err)
	}
	defer r.Body.Close()
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", method, errTransport, err)
	}
	var fail docker.ErrorResponse
	if json.Unmarshal(data, &fail) == nil && fail.Err != "" {
		return fmt.Errorf("%s: %s", method, fail.Err)
	}
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %s: %s", method, r.Status, data)
	}
	if resp != nil {
		return json.Unmarshal(data, resp)
	}
	return nil
}

// dockerID returns a random ID as the engine makes them: 64 hex digits.
func dockerID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// endpointCalls are the calls that attach an endpoint, in the engine's
// order (docker run): the kills fall in them.
func endpointCalls(netID, epID string, address netip.Prefix) []func(engine) error {
	return []func(engine) error{
		func(e engine) error {
			return e.call("NetworkDriver.CreateEndpoint", docker.CreateEndpointRequest{NetworkID: netID, EndpointID: epID,
				Interface: &docker.EndpointInterface{Address: address}}, nil)
		},
		func(e engine) error {
			return e.call("NetworkDriver.Join", docker.JoinRequest{NetworkID: netID, EndpointID: epID,
				SandboxKey: "/var/run/docker/netns/" + epID[:12]}, nil)
		},
		func(e engine) error {
			return e.call("NetworkDriver.ProgramExternalConnectivity", docker.ExternalConnectivityRequest{NetworkID: netID, EndpointID: epID,
				Options: map[string]any{docker.OptionPortMap: []map[string]any{{"Proto": 6, "Port": 80, "HostPort": 8238}}}}, nil)
		},
	}
}

// stopCalls are the calls that remove an endpoint (docker stop, docker rm):
// also those the engine sends to clean up after a Join or a
// ProgramExternalConnectivity that failed.
func stopCalls(netID, epID string) []func(engine) error {
	req := docker.EndpointRequest{NetworkID: netID, EndpointID: epID}
	return []func(engine) error{
		func(e engine) error { return e.call("NetworkDriver.RevokeExternalConnectivity", req, nil) },
		func(e engine) error { return e.call("NetworkDriver.Leave", req, nil) },
		func(e engine) error { return e.call("NetworkDriver.DeleteEndpoint", req, nil) },
	}
}

// kill stops the daemon with SIGKILL.
func (d *driverDaemon) kill(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	_ = d.cmd.Wait()
	d.cmd = nil
}

// checkRecords fails the test unless every record in the daemon's state
// directory is whole JSON, and returns how many interrupted writes (the
// store's temporary files) the kill left.
func (d *driverDaemon) checkRecords(t *testing.T) (temporary int) {
	t.Helper()
	err := filepath.WalkDir(d.stateDir, func(path string, e os.DirEntry, err error) error {
		switch {
		case err != nil || e.IsDir():
			return err
		case strings.HasSuffix(path, ".tmp"):
			temporary++
		case strings.HasSuffix(path, ".json"):
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !json.Valid(data) {
				t.Errorf("record %s is not whole after a kill: %q", path, data)
			}
		default:
			t.Errorf("unexpected file %s in the state directory", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return temporary
}

// TestCrashDocker kills the driver daemon while the engine attaches an
// endpoint (CreateEndpoint, Join, ProgramExternalConnectivity), at a random
// moment within their usual duration, restarts it, and sends what the
// engine sends next: on even rounds the engine's retry of the interrupted
// call and the rest, then the calls of docker stop; on odd rounds the
// cleanup after a failed call (DeleteEndpoint after CreateEndpoint, Leave
// and DeleteEndpoint after Join). Every call after the restart must
// succeed, every record must be whole after each kill, and once the
// endpoint is removed the host must be as before, the state directory
// holding the network's record only.
func TestCrashDocker(t *testing.T) {
	nstest.RequireRoot(t)
	d := startDriver(t)
	e := newEngine(d.socket)
	netID := dockerID()
	subnet := netip.MustParsePrefix("10.238.0.0/24")
	if err := e.call("NetworkDriver.CreateNetwork", docker.CreateNetworkRequest{NetworkID: netID,
		IPv4Data: []docker.IPAMData{{Pool: subnet, Gateway: netip.MustParsePrefix("10.238.0.1/24")}}}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.call("NetworkDriver.DeleteNetwork", docker.DeleteNetworkRequest{NetworkID: netID}, nil); err != nil {
			t.Error(err)
		}
	})
	address := netip.MustParsePrefix("10.238.0.2/24")
	before := nstest.Snapshot(t, nstest.HostNetns)
	run := func(calls []func(engine) error) {
		t.Helper()
		for _, c := range calls {
			if err := c(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(round int) {
		t.Helper()
		if got := nstest.Settle(t, before, func() string { return nstest.Snapshot(t, nstest.HostNetns) }); got != before {
			t.Fatalf("round %d: the host differs after the endpoint's removal:\n%s", round, nstest.Diff(before, got))
		}
		st, err := store.Open(d.stateDir)
		if err != nil {
			t.Fatal(err)
		}
		eps, _ := st.List("endpoints")
		nets, _ := st.List("networks")
		if len(eps) > 0 || !slices.Equal(nets, []string{netID}) {
			t.Fatalf("round %d: records left: endpoints %v, networks %v", round, eps, nets)
		}
	}

	var durations []time.Duration
	for range 5 {
		epID := dockerID()
		start := time.Now()
		run(endpointCalls(netID, epID, address))
		durations = append(durations, time.Since(start))
		run(stopCalls(netID, epID))
	}
	slices.Sort(durations)
	typical := durations[len(durations)/2]

	killedIn := make([]int, 4) // by call: 3 for after the last
	var retried, cleaned, temporary int
	for round := range daemonKills {
		epID := dockerID()
		calls := endpointCalls(netID, epID, address)
		done := make(chan int, 1)
		go func() {
			for i, c := range calls {
				if err := c(e); err != nil {
					if !errors.Is(err, errTransport) {
						t.Errorf("round %d: %v", round, err)
					}
					done <- i
					return
				}
			}
			done <- len(calls)
		}()
		time.Sleep(mrand.N(typical))
		d.kill(t)
		n := <-done
		killedIn[n]++
		temporary += d.checkRecords(t)
		d.start(t)

		stop := stopCalls(netID, epID)
		switch {
		case n == len(calls):
		case round%2 == 0:
			retried++
			run(calls[n:])
		case n == 0:
			cleaned++
			stop = stop[2:] // DeleteEndpoint
		default:
			cleaned++
		}
		run(stop)
		check(round + 1)
	}
	t.Logf("%d daemons killed within %v: in CreateEndpoint %d, in Join %d, in ProgramExternalConnectivity %d, after them %d; "+
		"%d calls retried, %d cleaned up after; %d interrupted writes left",
		daemonKills, typical, killedIn[0], killedIn[1], killedIn[2], killedIn[3], retried, cleaned, temporary)
	if killedIn[1] == 0 {
		t.Error("no kill landed in a Join: the test tests nothing")
	}
}

// TestCrashDockerCorruptRecord checks what the daemon does with a record
// that does not decode, torn or garbage: it reports it with its path in
// its log, moves it aside, and goes on: an endpoint's veth goes all the
// same, by names derived from the IDs.
func TestCrashDockerCorruptRecord(t *testing.T) {
	nstest.RequireRoot(t)
	d := startDriver(t)
	e := newEngine(d.socket)
	netID, epID := dockerID(), dockerID()
	if err := e.call("NetworkDriver.CreateNetwork", docker.CreateNetworkRequest{NetworkID: netID,
		IPv4Data: []docker.IPAMData{{Pool: netip.MustParsePrefix("10.239.0.0/24"), Gateway: netip.MustParsePrefix("10.239.0.1/24")}}}, nil); err != nil {
		t.Fatal(err)
	}
	before := nstest.Snapshot(t, nstest.HostNetns)
	for _, c := range endpointCalls(netID, epID, netip.MustParsePrefix("10.239.0.2/24")) {
		if err := c(e); err != nil {
			t.Fatal(err)
		}
	}

	// A torn endpoint record: the engine's Leave and DeleteEndpoint
	// must still remove the veth and the bridge.
	d.kill(t)
	record := filepath.Join(d.stateDir, "endpoints", epID+".json")
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(record, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	d.start(t)
	for _, c := range stopCalls(netID, epID) {
		if err := c(e); err != nil {
			t.Errorf("with a torn endpoint record: %v", err)
		}
	}
	if got := nstest.Settle(t, before, func() string { return nstest.Snapshot(t, nstest.HostNetns) }); got != before {
		t.Errorf("the host differs after the endpoint's removal:\n%s", nstest.Diff(before, got))
	}
	d.checkMovedAside(t, record)

	// A network record of garbage: the call that reads it fails, saying
	// why, and the daemon goes on.
	record = filepath.Join(d.stateDir, "networks", netID+".json")
	if err := os.WriteFile(record, []byte("\x00garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = endpointCalls(netID, dockerID(), netip.MustParsePrefix("10.239.0.3/24"))[0](e)
	if err == nil || !strings.Contains(err.Error(), record) {
		t.Errorf("CreateEndpoint on a network with a corrupt record: %v, want an error naming %s", err, record)
	}
	d.checkMovedAside(t, record)
	if err := e.call("NetworkDriver.GetCapabilities", struct{}{}, nil); err != nil {
		t.Errorf("the daemon does not answer after a corrupt record: %v", err)
	}
}

// checkMovedAside fails the test unless the corrupt record at path was
// moved aside, and the daemon's log warns of it by its path.
func (d *driverDaemon) checkMovedAside(t *testing.T, path string) {
	t.Helper()
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 1 {
		t.Errorf("corrupt record %s: moved aside to %v", path, aside)
	}
	log, err := os.ReadFile(d.log)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(strings.Split(string(log), "\n"), func(l string) bool {
		return strings.Contains(l, "level=WARN") && strings.Contains(l, path)
	}) {
		t.Errorf("the daemon's log has no warning naming %s:\n%s", path, log)
	}
}
