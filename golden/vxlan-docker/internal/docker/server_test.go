package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorded are requests of a real engine; see testdata/dockerd-20.10/README.md.
const recorded = "testdata/dockerd-20.10"

// fakeDriver records the calls it gets and answers them with err.
type fakeDriver struct {
	calls []string
	reqs  []any
	err   error
}

func (f *fakeDriver) record(name string, req any) error {
	f.calls = append(f.calls, name)
	f.reqs = append(f.reqs, req)
	return f.err
}

func (f *fakeDriver) Capabilities() CapabilitiesResponse {
	f.record("GetCapabilities", nil)
	return CapabilitiesResponse{Scope: ScopeLocal, ConnectivityScope: ScopeLocal}
}

func (f *fakeDriver) CreateNetwork(_ context.Context, req CreateNetworkRequest) error {
	return f.record("CreateNetwork", req)
}

func (f *fakeDriver) DeleteNetwork(_ context.Context, req DeleteNetworkRequest) error {
	return f.record("DeleteNetwork", req)
}

func (f *fakeDriver) CreateEndpoint(_ context.Context, req CreateEndpointRequest) (CreateEndpointResponse, error) {
	return CreateEndpointResponse{}, f.record("CreateEndpoint", req)
}

func (f *fakeDriver) EndpointOperInfo(_ context.Context, req EndpointRequest) (EndpointOperInfoResponse, error) {
	return EndpointOperInfoResponse{Value: map[string]any{"bridge": "br-test"}}, f.record("EndpointOperInfo", req)
}

func (f *fakeDriver) DeleteEndpoint(_ context.Context, req EndpointRequest) error {
	return f.record("DeleteEndpoint", req)
}

func (f *fakeDriver) Join(_ context.Context, req JoinRequest) (JoinResponse, error) {
	return JoinResponse{
		InterfaceName: &InterfaceName{SrcName: "veth0123456789a", DstPrefix: "eth"},
		Gateway:       netip.MustParseAddr("198.18.79.1"),
	}, f.record("Join", req)
}

func (f *fakeDriver) Leave(_ context.Context, req EndpointRequest) error {
	return f.record("Leave", req)
}

func (f *fakeDriver) DiscoverNew(_ context.Context, req DiscoveryNotification) error {
	return f.record("DiscoverNew", req)
}

func (f *fakeDriver) DiscoverDelete(_ context.Context, req DiscoveryNotification) error {
	return f.record("DiscoverDelete", req)
}

func (f *fakeDriver) ProgramExternalConnectivity(_ context.Context, req ExternalConnectivityRequest) error {
	return f.record("ProgramExternalConnectivity", req)
}

func (f *fakeDriver) RevokeExternalConnectivity(_ context.Context, req EndpointRequest) error {
	return f.record("RevokeExternalConnectivity", req)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// readRecorded reads a recorded request.
func readRecorded(t *testing.T, path string) *http.Request {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return req
}

// serve runs one request through h and returns the status and the body.
func serve(t *testing.T, h http.Handler, req *http.Request) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != MediaType {
		t.Errorf("%s: Content-Type %q, want %q", req.URL.Path, ct, MediaType)
	}
	body := rec.Body.String()
	if !json.Valid([]byte(body)) {
		t.Errorf("%s: answer is not JSON: %q", req.URL.Path, body)
	}
	return rec.Code, strings.TrimSpace(body)
}

// TestRecordedRequests replays what a real engine sent and checks that each
// call reaches the driver method it names, decoded, and is answered as the
// engine expects.
func TestRecordedRequests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(recorded, "*.http"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded requests in %s: %v", recorded, err)
	}
	want := map[string]string{
		"/Plugin.Activate":                           `{"Implements":["NetworkDriver"]}`,
		"/NetworkDriver.GetCapabilities":             `{"Scope":"local","ConnectivityScope":"local"}`,
		"/NetworkDriver.CreateNetwork":               `{}`,
		"/NetworkDriver.CreateEndpoint":              `{}`,
		"/NetworkDriver.Join":                        `{"InterfaceName":{"SrcName":"veth0123456789a","DstPrefix":"eth"},"Gateway":"198.18.79.1"}`,
		"/NetworkDriver.ProgramExternalConnectivity": `{}`,
		"/NetworkDriver.EndpointOperInfo":            `{"Value":{"bridge":"br-test"}}`,
		"/NetworkDriver.RevokeExternalConnectivity":  `{}`,
		"/NetworkDriver.Leave":                       `{}`,
		"/NetworkDriver.DeleteEndpoint":              `{}`,
		"/NetworkDriver.DeleteNetwork":               `{}`,
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			req := readRecorded(t, file)
			// What the engine sends, which the handler must not depend on.
			if ct := req.Header.Get("Content-Type"); ct != "" {
				t.Errorf("recorded request has Content-Type %q", ct)
			}
			if accept := req.Header.Get("Accept"); accept != MediaType {
				t.Errorf("recorded request has Accept %q", accept)
			}
			f := &fakeDriver{}
			status, body := serve(t, NewServer(f, discard()), req)
			if status != http.StatusOK || body != want[req.URL.Path] {
				t.Errorf("answer %d %s, want 200 %s", status, body, want[req.URL.Path])
			}
			method := strings.TrimPrefix(req.URL.Path, "/NetworkDriver.")
			if req.URL.Path == "/Plugin.Activate" {
				if len(f.calls) != 0 {
					t.Errorf("Plugin.Activate reached the driver: %v", f.calls)
				}
				return
			}
			if len(f.calls) != 1 || f.calls[0] != method {
				t.Fatalf("driver calls %v, want [%s]", f.calls, method)
			}
		})
	}
}

// TestRecordedArguments checks that the engine's arguments are decoded into
// the typed requests.
func TestRecordedArguments(t *testing.T) {
	call := func(file string) any {
		t.Helper()
		f := &fakeDriver{}
		if status, body := serve(t, NewServer(f, discard()), readRecorded(t, filepath.Join(recorded, file))); status != http.StatusOK {
			t.Fatalf("%s: %d %s", file, status, body)
		}
		return f.reqs[0]
	}

	cn := call("03-NetworkDriver.CreateNetwork.http").(CreateNetworkRequest)
	generic, _ := cn.Options[OptionGeneric].(map[string]any)
	if len(cn.NetworkID) != 64 || generic["mtu"] != "1400" || len(cn.IPv4Data) != 1 ||
		cn.IPv4Data[0].Pool != netip.MustParsePrefix("198.18.79.0/24") ||
		cn.IPv4Data[0].Gateway != netip.MustParsePrefix("198.18.79.1/24") || len(cn.IPv6Data) != 0 {
		t.Errorf("CreateNetwork decoded as %+v", cn)
	}
	cn = call("12-NetworkDriver.CreateNetwork.http").(CreateNetworkRequest)
	if cn.Options[OptionInternal] != true || cn.Options[OptionEnableIPv6] != true || len(cn.IPv6Data) != 1 ||
		cn.IPv6Data[0].Gateway != netip.MustParsePrefix("2001:db8:80::1/64") {
		t.Errorf("internal IPv6 CreateNetwork decoded as %+v", cn)
	}

	ce := call("04-NetworkDriver.CreateEndpoint.http").(CreateEndpointRequest)
	if ce.Interface == nil || ce.Interface.Address != netip.MustParsePrefix("198.18.79.2/24") ||
		ce.Interface.AddressIPv6.IsValid() || ce.Interface.MacAddress != "" || len(ce.EndpointID) != 64 {
		t.Errorf("CreateEndpoint decoded as %+v (interface %+v)", ce, ce.Interface)
	}
	ce = call("13-NetworkDriver.CreateEndpoint.http").(CreateEndpointRequest)
	if ce.Interface == nil || ce.Interface.Address != netip.MustParsePrefix("198.18.80.9/24") ||
		ce.Interface.AddressIPv6 != netip.MustParsePrefix("2001:db8:80::2/64") || ce.Interface.MacAddress != "02:11:22:33:44:55" {
		t.Errorf("CreateEndpoint with static address and MAC decoded as %+v", ce.Interface)
	}

	join := call("05-NetworkDriver.Join.http").(JoinRequest)
	if !strings.HasPrefix(join.SandboxKey, "/var/run/docker/netns/") || len(join.EndpointID) != 64 {
		t.Errorf("Join decoded as %+v", join)
	}

	pec := call("21-NetworkDriver.ProgramExternalConnectivity.http").(ExternalConnectivityRequest)
	if ports, _ := pec.Options[OptionPortMap].([]any); len(ports) != 1 {
		t.Errorf("ProgramExternalConnectivity with -p 8080:80 decoded as %+v", pec)
	}
	pec = call("06-NetworkDriver.ProgramExternalConnectivity.http").(ExternalConnectivityRequest)
	if ports, ok := pec.Options[OptionPortMap].([]any); !ok || len(ports) != 0 {
		t.Errorf("ProgramExternalConnectivity without -p decoded as %+v", pec)
	}
}

func post(path, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Accept", MediaType)
	return req
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		req        *http.Request
		driverErr  error
		wantStatus int
		wantErr    string
	}{
		{"driver error", post("/NetworkDriver.CreateNetwork", `{"NetworkID":"n1"}`), errors.New("bad option"), 500, "bad option"},
		{"not implemented by the driver", post("/NetworkDriver.ProgramExternalConnectivity", `{}`), ErrNotImplemented, 404, "not implemented"},
		{"unknown call", post("/NetworkDriver.AllocateNetwork", `{}`), nil, 404, "NetworkDriver.AllocateNetwork: not implemented"},
		{"unknown plugin type", post("/IpamDriver.GetCapabilities", ``), nil, 404, "not implemented"},
		{"not POST", httptest.NewRequest(http.MethodGet, "/Plugin.Activate", nil), nil, 405, "want POST"},
		{"malformed body", post("/NetworkDriver.Join", `{"EndpointID":`), nil, 500, "decode request"},
		{"wrong type", post("/NetworkDriver.CreateEndpoint", `{"Interface":{"Address":"10.1.2.3"}}`), nil, 500, "decode request"},
		{"two documents", post("/NetworkDriver.Leave", `{}{}`), nil, 500, "more than one JSON document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := serve(t, NewServer(&fakeDriver{err: tt.driverErr}, discard()), tt.req)
			var resp ErrorResponse
			if err := json.Unmarshal([]byte(body), &resp); err != nil {
				t.Fatal(err)
			}
			if status != tt.wantStatus || !strings.Contains(resp.Err, tt.wantErr) {
				t.Errorf("answer %d %s, want %d with Err mentioning %q", status, body, tt.wantStatus, tt.wantErr)
			}
		})
	}
}

// panicky panics in Join.
type panicky struct{ fakeDriver }

func (*panicky) Join(context.Context, JoinRequest) (JoinResponse, error) { panic("boom") }

func TestPanicIsAnError(t *testing.T) {
	status, body := serve(t, NewServer(&panicky{}, discard()), post("/NetworkDriver.Join", `{}`))
	if status != 500 || !strings.Contains(body, "internal error: boom") {
		t.Errorf("answer %d %s, want 500 with the panic", status, body)
	}
}

// TestEmptyBody checks that an empty body is a call without arguments, for
// every call: the engine sends none for those without.
func TestEmptyBody(t *testing.T) {
	for path := range NewServer(&fakeDriver{}, discard()).calls {
		f := &fakeDriver{}
		req := post(path, "")
		if status, body := serve(t, NewServer(f, discard()), req); status != http.StatusOK {
			t.Errorf("%s with an empty body: %d %s", path, status, body)
		}
	}
}
