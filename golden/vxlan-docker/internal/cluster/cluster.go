// Package cluster is the state that the hosts of a demo cluster share, kept
// in etcd v3: the networks with their VXLAN network identifiers (VNIs) and
// subnets, the hosts with their VXLAN tunnel endpoints (VTEPs), and the
// containers' endpoints with their addresses.
//
// Every key is under a prefix, DefaultPrefix unless configured:
//
//	PREFIX/networks/NETWORK              JSON Network
//	PREFIX/vnis/VNI                      the name of the network that has VNI
//	PREFIX/hosts/HOST                    JSON Host, with the host's lease
//	PREFIX/endpoints/NETWORK/HOST/KEY    JSON Endpoint, with the host's lease
//	PREFIX/addresses/NETWORK/IP          the endpoint key that holds IP, with the host's lease,
//	                                     or Reserved, with none
//
// Whatever must stay consistent is written in one transaction that also
// checks that what it was computed from has not changed: a network with its
// VNI, an endpoint with its addresses. A transaction that loses a race with
// another host is computed again from a new read, so that two hosts never
// get one VNI or one address. The agent of each host keeps the host's lease
// alive; when a host dies, its lease expires and etcd removes its endpoints
// and frees their addresses.
package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"example.com/demo/internal/agentapi"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// DefaultPrefix is the prefix of every key, unless Config.Prefix says
// otherwise.
const DefaultPrefix = "/demo/"

// DefaultDialTimeout is how long Open waits for etcd to answer, unless
// Config.DialTimeout says otherwise.
const DefaultDialTimeout = 2 * time.Second

// The range that CreateNetwork picks VNIs from, unless Config says
// otherwise. VNIs below DefaultVNIMin are left for networks that ask for
// theirs.
const (
	DefaultVNIMin = 4096
	DefaultVNIMax = agentapi.MaxVNI
)

// attempts bounds how often a transaction is computed again after losing
// a race: each loss is another host's or process's success, so only that
// many concurrent writers of one network could exhaust it.
const attempts = 64

// Errors that callers test with errors.Is. The errors returned wrap them
// with what was asked.
var (
	ErrNoEtcd             = errors.New("no etcd endpoints")
	ErrUnreachable        = errors.New("unreachable")
	ErrNoAgent            = errors.New("no agent registered")
	ErrLeaseLost          = errors.New("lease lost")
	ErrNetworkNotFound    = errors.New("network not found")
	ErrNetworkExists      = errors.New("network exists with other settings")
	ErrNetworkInUse       = errors.New("network in use")
	ErrSubnetOverlap      = errors.New("subnets overlap")
	ErrVNIInUse           = errors.New("VNI in use")
	ErrVNIExhausted       = errors.New("no free VNI")
	ErrAddressInUse       = errors.New("address in use")
	ErrAddressesExhausted = errors.New("no free address")
	ErrContention         = errors.New("too many concurrent changes")
)

// Config says how to reach etcd and how to use it.
type Config struct {
	// Endpoints are etcd's client URLs, such as http://192.0.2.1:2379.
	Endpoints []string
	// CACert, Cert and Key are PEM files: the CA that signs etcd's
	// certificate, and this host's client certificate and its key. All
	// empty for plain HTTP; Cert and Key go together.
	CACert, Cert, Key string
	// Prefix is the prefix of every key; empty is DefaultPrefix. Clusters
	// that share one etcd need prefixes of their own.
	Prefix string
	// DialTimeout bounds how long Open waits for etcd; 0 is
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// VNIMin and VNIMax bound the VNIs that CreateNetwork picks for the
	// networks that do not ask for one; 0 is DefaultVNIMin and
	// DefaultVNIMax.
	VNIMin, VNIMax uint32
}

// Cluster is a connection to the cluster's state in etcd.
type Cluster struct {
	client *clientv3.Client
	etcd   []string
	prefix string
	vniMin uint32
	vniMax uint32
}

// Open connects to etcd and checks that it answers within the dial
// timeout, so that a plugin call fails at once, naming the endpoints, when
// etcd is down or misconfigured. Close the Cluster when done.
func Open(ctx context.Context, cfg Config) (*Cluster, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: demo keeps its networks in etcd and needs to reach it; pass --etcd-endpoints http://HOST:2379, or write \"etcd\": {\"endpoints\": [...]} in its configuration file", ErrNoEtcd)
	}
	c := &Cluster{etcd: cfg.Endpoints, prefix: cfg.Prefix, vniMin: cfg.VNIMin, vniMax: cfg.VNIMax}
	if c.prefix == "" {
		c.prefix = DefaultPrefix
	}
	if !strings.HasSuffix(c.prefix, "/") {
		c.prefix += "/"
	}
	if c.vniMin == 0 {
		c.vniMin = DefaultVNIMin
	}
	if c.vniMax == 0 {
		c.vniMax = DefaultVNIMax
	}
	if c.vniMin > c.vniMax || c.vniMax > DefaultVNIMax {
		return nil, fmt.Errorf("VNI range %d-%d: VNIs are 1-%d, the smallest first", c.vniMin, c.vniMax, DefaultVNIMax)
	}
	timeout := cfg.DialTimeout
	if timeout == 0 {
		timeout = DefaultDialTimeout
	}
	var tlsConfig *tls.Config
	if cfg.CACert != "" || cfg.Cert != "" || cfg.Key != "" {
		info := transport.TLSInfo{TrustedCAFile: cfg.CACert, CertFile: cfg.Cert, KeyFile: cfg.Key}
		var err error
		if tlsConfig, err = info.ClientConfig(); err != nil {
			return nil, fmt.Errorf("etcd TLS files: %w", err)
		}
	}
	// The client neither blocks nor logs: the Get below tells whether
	// etcd answers, and errors are returned, never logged.
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		TLS:         tlsConfig,
		DialTimeout: timeout,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd at %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	check, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := client.Get(check, c.prefix, clientv3.WithCountOnly()); err != nil {
		client.Close()
		return nil, fmt.Errorf("etcd at %s is %w: %v (no answer within %s); start one (see the README) or pass --etcd-endpoints",
			strings.Join(cfg.Endpoints, ","), ErrUnreachable, err, timeout)
	}
	c.client = client
	return c, nil
}

// Etcd returns etcd's endpoints, comma-separated, for messages.
func (c *Cluster) Etcd() string { return strings.Join(c.etcd, ",") }

// Close closes the connection to etcd.
func (c *Cluster) Close() error {
	return c.client.Close()
}

// key returns the key of parts, joined by slashes, under the prefix.
func (c *Cluster) key(parts ...string) string {
	return c.prefix + strings.Join(parts, "/")
}

// checkName refuses the names that would not make one element of a key.
func checkName(what, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("%s name %q: it must be non-empty and have no slash", what, name)
	}
	return nil
}
