package docker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/demo/internal/nstest"
	"example.com/demo/internal/store"
	"example.com/demo/internal/testpki"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    options
		wantErr string
	}{
		{
			args: nil,
			want: options{name: "demo", socket: "/run/docker/plugins/demo.sock", specDir: "/etc/docker/plugins",
				stateDir: "/var/lib/demo-docker", lockDir: "/run/demo", sysctlDir: "/proc/sys/net"},
		},
		{
			args: []string{"--name", "other", "--state-dir", "/s", "--lock-dir", "/l", "--debug"},
			want: options{name: "other", socket: "/run/docker/plugins/other.sock", specDir: "/etc/docker/plugins",
				stateDir: "/s", lockDir: "/l", sysctlDir: "/proc/sys/net", debug: true},
		},
		{
			args: []string{"--socket", "/x/y.sock"},
			want: options{name: "demo", socket: "/x/y.sock", specDir: "/etc/docker/plugins",
				stateDir: "/var/lib/demo-docker", lockDir: "/run/demo", sysctlDir: "/proc/sys/net"},
		},
		{args: []string{"--socket", "/x.sock", "--tcp", "127.0.0.1:9555"}, wantErr: "exclude each other"},
		{
			args: []string{"--tcp", "192.0.2.1:9555", "--tls-cert", "/c.pem", "--tls-key", "/k.pem", "--tls-ca", "/ca.pem",
				"--tls-client-cert", "/e.pem", "--tls-client-key", "/ek.pem"},
			want: options{name: "demo", socket: "/run/docker/plugins/demo.sock", tcp: "192.0.2.1:9555", specDir: "/etc/docker/plugins",
				stateDir: "/var/lib/demo-docker", lockDir: "/run/demo", sysctlDir: "/proc/sys/net",
				tls: TLSFiles{Cert: "/c.pem", Key: "/k.pem", CA: "/ca.pem", ClientCert: "/e.pem", ClientKey: "/ek.pem"}},
		},
		{args: []string{"--tcp", "192.0.2.1:9555", "--tls-cert", "/c.pem", "--tls-key", "/k.pem"}, wantErr: "all three or none"},
		{args: []string{"--tcp", "192.0.2.1:9555", "--tls-client-cert", "/e.pem", "--tls-client-key", "/ek.pem"}, wantErr: "all three or none"},
		{
			args:    []string{"--tcp", "192.0.2.1:9555", "--tls-cert", "/c.pem", "--tls-key", "/k.pem", "--tls-ca", "/ca.pem"},
			wantErr: "give both",
		},
		{
			args: []string{"--tls-cert", "/c.pem", "--tls-key", "/k.pem", "--tls-ca", "/ca.pem",
				"--tls-client-cert", "/e.pem", "--tls-client-key", "/ek.pem"},
			wantErr: "for --tcp",
		},
		{args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{args: []string{"--nope"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one mentioning %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("unexpected error %v", err)
			case got != tt.want:
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// startDaemon runs the daemon with args until the returned function stops
// it and returns its exit status; calls after the first return it again.
// Its log goes to the test's.
func startDaemon(t *testing.T, args ...string) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, "test", args, testLog{t}) }()
	return sync.OnceValue(func() int {
		cancel()
		return <-exit
	})
}

// testLog writes to the log of a test.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitFile returns the content of the file at path once it exists.
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		data, err := os.ReadFile(path)
		if err == nil {
			return data
		}
		if time.Now().After(deadline) {
			t.Fatalf("no file %s: %v", path, err)
		}
	}
}

// activate makes the engine's first call with c and checks the answer.
func activate(t *testing.T, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Post(url+"/Plugin.Activate", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"Implements":["NetworkDriver"]}` {
		t.Errorf("Plugin.Activate: %s %s", resp.Status, body)
	}
}

// TestRunTCP runs the daemon on TCP: it announces itself with a spec file,
// answers the engine's handshake there, and removes the file when stopped.
func TestRunTCP(t *testing.T) {
	dir := t.TempDir()
	specDir := filepath.Join(dir, "plugins")
	stop := startDaemon(t, "--name", "tcptest", "--tcp", "127.0.0.1:0", "--spec-dir", specDir,
		"--state-dir", filepath.Join(dir, "state"), "--lock-dir", filepath.Join(dir, "lock"))
	spec := filepath.Join(specDir, "tcptest.spec")
	url := waitFile(t, spec)
	addr, ok := strings.CutPrefix(strings.TrimSpace(string(url)), "tcp://")
	if !ok {
		t.Fatalf("spec file holds %q, want tcp://ADDR", url)
	}
	activate(t, http.DefaultClient, "http://"+addr)
	if code := stop(); code != 0 {
		t.Errorf("exit status %d after stop, want 0", code)
	}
	if _, err := os.Stat(spec); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("spec file left after stop: %v", err)
	}
}

// TestRunRefusesUnauthenticated checks that the daemon serves no address
// but loopback without TLS, and that it refuses a state or lock directory
// that others may write to, all before it creates anything.
func TestRunRefusesUnauthenticated(t *testing.T) {
	for _, tt := range []struct{ tcp, stateMode, lockMode, want string }{
		{tcp: "0.0.0.0:0", want: "not a loopback address"},
		{tcp: "[::]:0", want: "not a loopback address"},
		{tcp: "127.0.0.1:0", stateMode: "0777", want: "state has mode 0777"},
		{tcp: "127.0.0.1:0", stateMode: "0770", want: "state has mode 0770"},
		{tcp: "127.0.0.1:0", lockMode: "0703", want: "lock has mode 0703"},
	} {
		t.Run(tt.tcp+" "+tt.stateMode+tt.lockMode, func(t *testing.T) {
			dir := t.TempDir()
			specDir := filepath.Join(dir, "plugins")
			state, lock := filepath.Join(dir, "state"), filepath.Join(dir, "lock")
			for path, mode := range map[string]string{state: tt.stateMode, lock: tt.lockMode} {
				if mode == "" {
					continue
				}
				perm, _ := strconv.ParseUint(mode, 8, 32)
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, fs.FileMode(perm)); err != nil {
					t.Fatal(err)
				}
			}
			var stderr strings.Builder
			code := run(context.Background(), "test", []string{"--name", "refused", "--tcp", tt.tcp, "--spec-dir", specDir,
				"--state-dir", state, "--lock-dir", lock}, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit status %d, log:\n%s\nwant 1 and an error mentioning %q", code, stderr.String(), tt.want)
			}
			if entries, _ := os.ReadDir(specDir); len(entries) != 0 {
				t.Errorf("spec files left: %v", entries)
			}
			if tt.stateMode == "" {
				if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("state directory made by a daemon that refused to start: %v", err)
				}
			}
		})
	}
}

// TestRunTLS serves the driver API with mutual TLS on every address: only
// a client with a certificate of the deployment's CA is answered, and the
// spec file tells the engine how to be that client.
func TestRunTLS(t *testing.T) {
	nstest.RequireRoot(t)
	dir := t.TempDir()
	ca := testpki.NewCA(t, dir, "deploy")
	server := ca.Server(t, "daemon", net.IPv4(127, 0, 0, 1))
	engine := ca.Client(t, "engine")
	intruder := testpki.NewCA(t, dir, "other").Client(t, "intruder")

	specDir, state := filepath.Join(dir, "plugins"), filepath.Join(dir, "state")
	// A spec file of a daemon that ran without TLS before.
	if _, err := WriteSpec(specDir, Spec{Name: "tlstest", Addr: "tcp://127.0.0.1:9555"}); err != nil {
		t.Fatal(err)
	}
	stop := startDaemon(t, "--name", "tlstest", "--tcp", "0.0.0.0:0", "--spec-dir", specDir,
		"--state-dir", state, "--lock-dir", filepath.Join(dir, "lock"),
		"--tls-cert", server.Cert, "--tls-key", server.Key, "--tls-ca", ca.Cert,
		"--tls-client-cert", engine.Cert, "--tls-client-key", engine.Key)
	defer stop()
	specFile := filepath.Join(specDir, "tlstest.json")
	var spec Spec
	if err := json.Unmarshal(waitFile(t, specFile), &spec); err != nil {
		t.Fatal(err)
	}
	want := SpecTLS{CAFile: ca.Cert, CertFile: engine.Cert, KeyFile: engine.Key}
	addr, ok := strings.CutPrefix(spec.Addr, "https://127.0.0.1:")
	if spec.Name != "tlstest" || !ok || spec.TLSConfig == nil || *spec.TLSConfig != want {
		t.Fatalf("spec %+v, TLS %+v; want https://127.0.0.1:PORT and %+v", spec, spec.TLSConfig, want)
	}
	if _, err := os.Stat(filepath.Join(specDir, "tlstest.spec")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale tlstest.spec left beside tlstest.json: %v", err)
	}

	body, err := json.Marshal(createRequest())
	if err != nil {
		t.Fatal(err)
	}
	createNetwork := func(c *http.Client, url string) error {
		resp, err := c.Post(url+"/NetworkDriver.CreateNetwork", "", bytes.NewReader(body))
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s", resp.Status, answer)
		}
		return nil
	}
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	url := "https://127.0.0.1:" + addr
	for name, c := range map[string]*http.Client{
		"no certificate":         tlsClient(t, ca.Cert, nil),
		"another CA's":           tlsClient(t, ca.Cert, &intruder),
		"plain HTTP to TLS port": http.DefaultClient,
	} {
		target := url
		if c == http.DefaultClient {
			target = "http://127.0.0.1:" + addr
		}
		if err := createNetwork(c, target); err == nil {
			t.Errorf("%s: CreateNetwork answered", name)
		}
		if ids, err := st.List(kindNetwork); err != nil || len(ids) > 0 {
			t.Errorf("%s: networks recorded: %v %v", name, ids, err)
		}
		if nstest.LinkExists(t, "br-"+testNetworkID[:12]) {
			t.Errorf("%s: bridge made", name)
		}
	}

	good := tlsClient(t, spec.TLSConfig.CAFile, &testpki.Pair{Cert: spec.TLSConfig.CertFile, Key: spec.TLSConfig.KeyFile})
	activate(t, good, url)
	if err := createNetwork(good, url); err != nil {
		t.Errorf("CreateNetwork with the engine's certificate: %v", err)
	}
	if ids, err := st.List(kindNetwork); err != nil || len(ids) != 1 {
		t.Errorf("networks recorded: %v %v, want the one created", ids, err)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit status %d after stop, want 0", code)
	}
	if _, err := os.Stat(specFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("spec file left after stop: %v", err)
	}
}

// tlsClient returns a client that trusts the CA of the PEM file ca, with
// the certificate pair if not nil, as the engine makes it from a spec file.
func tlsClient(t *testing.T, ca string, pair *testpki.Pair) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	config := &tls.Config{RootCAs: x509.NewCertPool()}
	config.RootCAs.AppendCertsFromPEM(pem)
	if pair != nil {
		cert, err := tls.LoadX509KeyPair(pair.Cert, pair.Key)
		if err != nil {
			t.Fatal(err)
		}
		// Offered whatever CAs the server names, as a client that
		// tries its luck would.
		config.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: config}}
}
