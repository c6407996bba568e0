package cni

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/containernetworking/cni/pkg/invoke"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// IPAM is delegated as the reference plugins do it (SPEC.md, section 4): the
// plugin named by ipam.type, found in CNI_PATH, gets the same configuration
// and environment, with CNI_COMMAND set to the operation. Its errors are
// passed on as they are, with their codes.

// ipamAdd allocates the container's addresses.
func (c *config) ipamAdd(ctx context.Context, stdin []byte) (*current.Result, error) {
	r, err := invoke.DelegateAdd(ctx, c.IPAM.Type, stdin, nil)
	if err != nil {
		return nil, fmt.Errorf("ipam %s: %w", c.IPAM.Type, err)
	}
	res, err := current.NewResultFromResult(r)
	if err != nil {
		return nil, fmt.Errorf("ipam %s: convert result: %w", c.IPAM.Type, err)
	}
	return res, nil
}

// ipamDel releases the addresses of the attachment in the environment.
func (c *config) ipamDel(ctx context.Context, stdin []byte) error {
	if err := invoke.DelegateDel(ctx, c.IPAM.Type, stdin, nil); err != nil {
		return fmt.Errorf("ipam %s: %w", c.IPAM.Type, err)
	}
	return nil
}

// ipamDelRecorded releases the addresses of a recorded attachment, for GC:
// the environment is GC's, so the attachment's own is rebuilt from its
// record. stdin is GC's configuration without the GC keys.
func (c *config) ipamDelRecorded(ctx context.Context, stdin []byte, rec record, cniPath string) error {
	pluginPath, err := invoke.FindInPath(c.IPAM.Type, filepath.SplitList(cniPath))
	if err != nil {
		return fmt.Errorf("ipam %s: %w", c.IPAM.Type, err)
	}
	args := &invoke.Args{
		Command:       "DEL",
		ContainerID:   rec.ContainerID,
		NetNS:         rec.Netns,
		IfName:        rec.IfName,
		PluginArgsStr: rec.CNIArgs,
		Path:          cniPath,
	}
	if err := invoke.ExecPluginWithoutResult(ctx, pluginPath, stdin, args, nil); err != nil {
		return fmt.Errorf("ipam %s: %w", c.IPAM.Type, err)
	}
	return nil
}

// ipamCheck asks the IPAM plugin whether the container's addresses are
// still allocated.
func (c *config) ipamCheck(ctx context.Context, stdin []byte) error {
	if err := invoke.DelegateCheck(ctx, c.IPAM.Type, stdin, nil); err != nil {
		return fmt.Errorf("ipam %s: %w", c.IPAM.Type, err)
	}
	return nil
}

// ipamGC forwards GC, which the spec requires of a plugin that delegates.
func (c *config) ipamGC(ctx context.Context, stdin []byte) error {
	if err := invoke.DelegateGC(ctx, c.IPAM.Type, stdin, nil); err != nil {
		return fmt.Errorf("ipam %s: %w", c.IPAM.Type, err)
	}
	return nil
}

// ipamStatus forwards STATUS: the plugin can serve ADD only if its IPAM
// plugin can.
func (c *config) ipamStatus(ctx context.Context, stdin []byte) error {
	if err := invoke.DelegateStatus(ctx, c.IPAM.Type, stdin, nil); err != nil {
		return fmt.Errorf("ipam %s: %w", c.IPAM.Type, err)
	}
	return nil
}

// withoutKeys returns the JSON object stdin without the given keys.
func withoutKeys(stdin []byte, keys ...string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(stdin, &m); err != nil {
		return nil, err
	}
	for _, k := range keys {
		delete(m, k)
	}
	return json.Marshal(m)
}
