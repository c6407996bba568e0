package check

import (
	"encoding/json"
	"fmt"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// request is the setup and teardown input of a container, and its encoding.
type request struct {
	exec types.NetworkPluginExec
	json []byte
}

// execRequest returns the setup and teardown input of a container, with a
// name and id unique to this run, joining network with the interface
// ifname and one static IP in each subnet, and publishing ports.
func execRequest(network json.RawMessage, ifname string, ports ...types.PortMapping) (request, error) {
	var n types.Network
	if err := json.Unmarshal(network, &n); err != nil {
		return request{}, fmt.Errorf("decode the network: %w", err)
	}
	id := randomHex(32)
	req := types.NetworkPluginExec{
		ContainerID:   id,
		ContainerName: "check-" + id[:8],
		PortMappings:  ports,
		Network:       n,
		NetworkOptions: types.PerNetworkOptions{
			InterfaceName: ifname,
			StaticIPs:     staticIPs(n),
		},
	}
	b, err := json.Marshal(req)
	if err != nil {
		return request{}, fmt.Errorf("encode the setup input: %w", err)
	}
	return request{exec: req, json: b}, nil
}
