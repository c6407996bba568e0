// Package etcdtest runs a real, single-member etcd server inside the
// process, for the tests of the plugin and for a cluster of one host
// (test/cluster). Nothing is mocked: the server is etcd's own, from its
// embed package.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is a running etcd server.
type Server struct {
	etcd   *embed.Etcd
	client url.URL
	close  sync.Once
}

// Run starts etcd on ip ("127.0.0.1" for loopback; an underlay address of
// a network namespace works too, if the process is in it) on ports of its
// own, with its data in dir, and waits until it serves. The server logs
// nothing. Close it when done.
func Run(dir, ip string) (*Server, error) {
	client := url.URL{Scheme: "http", Host: net.JoinHostPort(ip, "0")}
	return start(dir, client, client, ip, nil)
}

// TLS is the PEM files of an etcd that serves TLS and answers only
// clients with a certificate of CA.
type TLS struct {
	Cert, Key, CA string
}

// StartTLS runs etcd on ip for the test t as Start does, serving TLS with
// the files of tls and requiring clients' certificates.
func StartTLS(t testing.TB, ip string, tls TLS) *Server {
	t.Helper()
	client := url.URL{Scheme: "https", Host: net.JoinHostPort(ip, "0")}
	s, err := start(t.TempDir(), client, client, ip, func(cfg *embed.Config) {
		cfg.ClientTLSInfo = transport.TLSInfo{CertFile: tls.Cert, KeyFile: tls.Key, TrustedCAFile: tls.CA, ClientCertAuth: true}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// RunSocket starts etcd as Run does, with its client endpoint a unix
// socket in dir: unlike a TCP address, it is reachable from every network
// namespace of the host.
func RunSocket(dir string) (*Server, error) {
	client := url.URL{Scheme: "unix", Path: filepath.Join(dir, "etcd.sock")}
	// etcd requires a host:port to advertise, which no client of this
	// single member reads.
	return start(dir, client, url.URL{Scheme: "http", Host: "127.0.0.1:2379"}, "127.0.0.1", nil)
}

// start starts etcd serving clients on listen, and its peer port on ip;
// configure, if not nil, sets more of its configuration.
func start(dir string, listen, advertise url.URL, ip string, configure func(*embed.Config)) (*Server, error) {
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir, "data")
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	peer := url.URL{Scheme: "http", Host: net.JoinHostPort(ip, "0")}
	cfg.ListenClientUrls = []url.URL{listen}
	cfg.AdvertiseClientUrls = []url.URL{advertise}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	if configure != nil {
		configure(cfg)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd on %s: %w", listen.String(), err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return &Server{etcd: e, client: listen}, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd on %s failed: %w", listen.String(), err)
	case <-time.After(10 * time.Second):
		e.Close()
		return nil, fmt.Errorf("etcd on %s is not ready after 10s", listen.String())
	}
}

// Start runs etcd on ip for the test t, with its data in a temporary
// directory, and stops it when the test ends. A failure to start fails the
// test.
func Start(t testing.TB, ip string) *Server {
	t.Helper()
	s, err := Run(t.TempDir(), ip)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; closing it again does nothing.
func (s *Server) Close() { s.close.Do(s.etcd.Close) }

// Endpoints returns the URLs that clients reach the server at.
func (s *Server) Endpoints() []string {
	if s.client.Scheme == "unix" {
		return []string{s.client.String()}
	}
	var eps []string
	for _, l := range s.etcd.Clients {
		eps = append(eps, s.client.Scheme+"://"+l.Addr().String())
	}
	return eps
}
