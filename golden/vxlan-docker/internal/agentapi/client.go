package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
)

// ErrNoAgent is the error of a call when nothing serves the socket: the
// agent does not run on this host.
var ErrNoAgent = errors.New("no agent")

// Client calls the agent of this host.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a Client of the agent that serves socket.
func NewClient(socket string) *Client {
	dialer := &net.Dialer{}
	return &Client{socket: socket, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
	}}}
}

// Close closes the Client's idle connection.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// CreateNetwork records the network in the cluster (package cluster's
// CreateNetwork) and returns it with its VNI.
func (c *Client) CreateNetwork(ctx context.Context, spec Network) (Network, error) {
	var n Network
	err := c.call(ctx, PathCreateNetwork, spec, &n)
	return n, err
}

// Attach records an endpoint of this host, and returns it with its
// addresses, and the network's endpoints.
func (c *Client) Attach(ctx context.Context, req AttachRequest) (AttachResponse, error) {
	var res AttachResponse
	err := c.call(ctx, PathAttach, req, &res)
	return res, err
}

// Endpoint returns the endpoint key of this host on network, and whether
// there is one.
func (c *Client) Endpoint(ctx context.Context, network, key string) (Endpoint, bool, error) {
	var res EndpointResponse
	err := c.call(ctx, PathEndpoint, EndpointRequest{Network: network, Key: key}, &res)
	return res.Endpoint, res.Found, err
}

// Detach removes the endpoint key of this host on network, and frees its
// addresses; one that does not exist is no error.
func (c *Client) Detach(ctx context.Context, network, key string) error {
	return c.call(ctx, PathDetach, EndpointRequest{Network: network, Key: key}, &struct{}{})
}

// Network returns the network name of the cluster.
func (c *Client) Network(ctx context.Context, name string) (Network, error) {
	var n Network
	err := c.call(ctx, PathNetwork, NetworkRequest{Name: name}, &n)
	return n, err
}

// DeleteNetwork deletes the network name from the cluster, which frees its
// VNI and subnets; it refuses while the network has endpoints.
func (c *Client) DeleteNetwork(ctx context.Context, name string) error {
	return c.call(ctx, PathDeleteNetwork, NetworkRequest{Name: name}, &struct{}{})
}

// Reserve reserves an address of the network whose subnet is pool: want,
// or the first free one if want is the zero Addr.
func (c *Client) Reserve(ctx context.Context, pool netip.Prefix, want netip.Addr) (netip.Prefix, error) {
	var res AddressResponse
	err := c.call(ctx, PathReserve, AddressRequest{Pool: pool, Address: want}, &res)
	return res.Address, err
}

// Release frees an address that Reserve reserved.
func (c *Client) Release(ctx context.Context, pool netip.Prefix, addr netip.Addr) error {
	return c.call(ctx, PathRelease, AddressRequest{Pool: pool, Address: addr}, &struct{}{})
}

// call posts req to path and decodes the answer into res. A failed call's
// error is the agent's message.
func (c *Client) call(ctx context.Context, path string, req, res any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w at %s: start demo-agent on this host (systemctl enable --now demo-agent)", ErrNoAgent, c.socket)
		}
		return fmt.Errorf("agent at %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("agent at %s: %w", c.socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			return fmt.Errorf("agent at %s: %s: %q", c.socket, resp.Status, data)
		}
		return errors.New(e.Error)
	}
	if err := json.Unmarshal(data, res); err != nil {
		return fmt.Errorf("agent at %s: answer of %s: %w", c.socket, path, err)
	}
	return nil
}
