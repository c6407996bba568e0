package docker_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"example.com/demo/internal/docker"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/nstest"
	"example.com/demo/internal/store"
)

// engineID matches the network and endpoint IDs of the engine.
var engineID = regexp.MustCompile(`[0-9a-f]{64}`)

// TestReplayOnBridge replays a real engine's calls (testdata/dockerd-20.10)
// against the bridge driver, with a daemon restarted before every call: a
// new driver on the same state directory. So each call, Join after
// CreateEndpoint and Leave after Join among them, finds only what the store
// kept. The engine's IDs are replaced by fresh ones, so that the bridge and
// veth names are the test's own.
func TestReplayOnBridge(t *testing.T) {
	nstest.RequireRoot(t)
	files, err := filepath.Glob("testdata/dockerd-20.10/*.http")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded requests: %v", err)
	}
	stateDir, lockDir := t.TempDir(), t.TempDir()
	ids := make(map[string]string)
	freshIDs := func(body []byte) []byte {
		return engineID.ReplaceAllFunc(body, func(id []byte) []byte {
			if ids[string(id)] == "" {
				b := make([]byte, 32)
				rand.Read(b)
				ids[string(id)] = hex.EncodeToString(b)
			}
			return []byte(ids[string(id)])
		})
	}
	bridges := make(map[string]string)  // network ID -> bridge
	srcNames := make(map[string]string) // endpoint ID -> SrcName of its Join
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(freshIDs(data))))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		var ids docker.EndpointRequest
		if len(body) > 0 {
			if err := json.Unmarshal(body, &ids); err != nil {
				t.Fatal(err)
			}
		}

		st, err := store.Open(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		p := docker.NewPlugin(driver.New(lockDir), st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		rec := httptest.NewRecorder()
		docker.NewServer(p, slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(rec, req)

		step := filepath.Base(file)
		t.Logf("%s: %d %s", step, rec.Code, strings.TrimSpace(rec.Body.String()))
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("%s: answer %q: %v", step, rec.Body, err)
		}
		wantStatus := http.StatusOK
		if strings.HasPrefix(step, "26-") {
			wantStatus = http.StatusInternalServerError // -o foo=bar
		}
		if rec.Code != wantStatus {
			t.Fatalf("%s: answer %d %s, want status %d", step, rec.Code, rec.Body, wantStatus)
		}

		switch {
		case strings.Contains(step, "CreateNetwork") && rec.Code == http.StatusOK:
			bridges[ids.NetworkID] = "br-" + ids.NetworkID[:12]
			cleanupLink(t, bridges[ids.NetworkID])
		case strings.Contains(step, "Join"):
			name, _ := answer["InterfaceName"].(map[string]any)["SrcName"].(string)
			srcNames[ids.EndpointID] = name
			cleanupLink(t, name)
			checkJoined(t, step, name, bridges[ids.NetworkID], answer)
		case strings.HasPrefix(step, "21-"): // -p 8080:80
			if got := publishedPorts(t); len(got) != 1 {
				t.Errorf("%s: published ports %v, want 8080/tcp to the container", step, got)
			}
		case strings.Contains(step, "Leave"):
			if _, err := netlink.LinkByName(srcNames[ids.EndpointID]); err == nil {
				t.Errorf("%s: %s still exists after Leave", step, srcNames[ids.EndpointID])
			}
			if _, err := netlink.LinkByName(bridges[ids.NetworkID]); err == nil {
				t.Errorf("%s: bridge %s left after its last Leave", step, bridges[ids.NetworkID])
			}
		}
	}

	st, _ := store.Open(stateDir)
	for _, kind := range []string{"networks", "endpoints"} {
		if ids, err := st.List(kind); err != nil || len(ids) != 0 {
			t.Errorf("%s left in the store after the networks were removed: %v, %v", kind, ids, err)
		}
	}
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ListTableOfFamily(driver.Name, nftables.TableFamilyINet); err == nil {
		t.Errorf("table inet %s left after the last network's last endpoint", driver.Name)
	}
}

// publishedPorts returns the elements of the plugin's map of IPv4 ports
// published on every address.
func publishedPorts(t *testing.T) []nftables.SetElement {
	t.Helper()
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	table := &nftables.Table{Family: nftables.TableFamilyINet, Name: driver.Name}
	els, err := conn.GetSetElements(&nftables.Set{Table: table, Name: "ports_v4"})
	if err != nil {
		t.Fatalf("list the published ports: %v", err)
	}
	return els
}

// cleanupLink removes the host link name at the end of the test if a
// failure left it.
func cleanupLink(t *testing.T, name string) {
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(name); err == nil {
			netlink.LinkDel(l)
		}
	})
}

// checkJoined checks the host after a Join: the container end, not yet
// moved by an engine, is on the host, a veth whose peer is a port of the
// network's bridge.
func checkJoined(t *testing.T, step, name, bridgeName string, answer map[string]any) {
	t.Helper()
	link, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatalf("%s: no %s on the host after Join: %v", step, name, err)
	}
	br, err := netlink.LinkByName(bridgeName)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		t.Fatalf("%s: no bridge %s after Join", step, bridgeName)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := link.(*netlink.Veth); !ok {
		t.Errorf("%s: %s is a %s, want a veth", step, name, link.Type())
	}
	peerIndex, err := netlink.VethPeerIndex(link.(*netlink.Veth))
	if err != nil {
		t.Fatal(err)
	}
	peer, err := netlink.LinkByIndex(peerIndex)
	if err != nil || peer.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("%s: the host end of %s is not a port of %s: %v", step, name, bridgeName, err)
	}
	prefix, _ := answer["InterfaceName"].(map[string]any)["DstPrefix"].(string)
	if prefix != "eth" {
		t.Errorf("%s: DstPrefix %q, want eth", step, prefix)
	}
	switch step {
	case "05-NetworkDriver.Join.http": // -o mtu=1400 --subnet 198.18.79.0/24
		if link.Attrs().MTU != 1400 || br.Attrs().MTU != 1400 {
			t.Errorf("%s: MTU %d, bridge %d; want 1400", step, link.Attrs().MTU, br.Attrs().MTU)
		}
		if answer["Gateway"] != "198.18.79.1" {
			t.Errorf("%s: Gateway %v, want 198.18.79.1", step, answer["Gateway"])
		}
	case "14-NetworkDriver.Join.http": // --internal, --mac-address 02:11:22:33:44:55
		if link.Attrs().HardwareAddr.String() != "02:11:22:33:44:55" {
			t.Errorf("%s: MAC %s, want the engine's 02:11:22:33:44:55", step, link.Attrs().HardwareAddr)
		}
		if answer["Gateway"] != nil || answer["GatewayIPv6"] != nil {
			t.Errorf("%s: an internal network answered gateways %v %v", step, answer["Gateway"], answer["GatewayIPv6"])
		}
	}
}
