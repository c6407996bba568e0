package netavark

import (
	"encoding/json"
	"testing"

	"example.com/demo/internal/protocol"
)

// decodeNetwork decodes a network in the form podman sends to create.
func decodeNetwork(t *testing.T, doc string) protocol.Network {
	t.Helper()
	var n protocol.Network
	if err := json.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

const basic = `{"name":"basic","id":"4da14bddb409c357265c4d8a6952dd22615de5bfe5dead4562c439378d6ba9be","driver":"demo",
	"subnets":[{"subnet":"10.91.0.0/24","gateway":"10.91.0.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":true,
	"options":{"mtu":"1400"},"x_future":{"a":1}}`
