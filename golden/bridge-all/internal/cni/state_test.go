package cni

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"example.com/demo/internal/firewall"
)

func TestStore(t *testing.T) {
	st := openStore(t.TempDir(), "net")
	if names, err := st.list(); err != nil || len(names) != 0 {
		t.Fatalf("list of a new store = %v, %v; want nothing", names, err)
	}
	a := record{
		ContainerID: "ctr-a", IfName: "eth0", Bridge: "br-net", HostIfName: "veth0123456789a",
		Addresses: prefixes("10.1.0.5/24"), AddressSource: sourceArgs,
		Labels: []Label{
			{Key: "app", Value: "web"},
		},
		Ports: []firewall.Port{
			{Protocol: firewall.TCP, HostPort: 8080, ContainerPort: 80, Range: 1},
		},
	}
	b := record{ContainerID: "ctr-b", IfName: "eth0", Bridge: "br-net", HostIfName: "vethbbbbbbbbbbb", IPAM: "host-local"}
	for _, r := range []record{a, b} {
		if err := st.put(r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.get(a.HostIfName)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("get = %+v, %v; want %+v", got, err, a)
	}
	if ok, err := st.exists(b.HostIfName); !ok || err != nil {
		t.Errorf("exists(%s) = %v, %v", b.HostIfName, ok, err)
	}
	info, err := os.Stat(st.dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, %v; want mode 0700", info, err)
	}

	// An interrupted write leaves a temporary file that list skips and
	// remove takes away.
	if err := os.WriteFile(st.path(a.HostIfName)+tmpExt, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if names, err := st.list(); err != nil || !slices.Equal(names, []string{a.HostIfName, b.HostIfName}) {
		t.Errorf("list = %v, %v; want %s and %s", names, err, a.HostIfName, b.HostIfName)
	}
	for range 2 {
		if err := st.remove(a.HostIfName); err != nil {
			t.Errorf("remove: %v", err)
		}
	}
	if _, err := st.get(a.HostIfName); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("get after remove: %v, want not found", err)
	}
	if left, _ := filepath.Glob(filepath.Join(st.dir, a.HostIfName+"*")); len(left) > 0 {
		t.Errorf("left after remove: %v", left)
	}

	// A record that does not decode exists, but is no record.
	if err := os.WriteFile(st.path("vethcccccccccccc"), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.exists("vethcccccccccccc"); !ok {
		t.Error("a corrupt record does not exist")
	}
	if _, err := st.get("vethcccccccccccc"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("get of a corrupt record: %v, want a decoding error", err)
	}
}
