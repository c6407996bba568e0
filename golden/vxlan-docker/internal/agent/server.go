package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/cluster"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// CallTimeout bounds the work of one call of the plugin with etcd, so that
// the plugin hears of an etcd out of reach from the agent.
const CallTimeout = 5 * time.Second

// server serves the plugin's calls on the agent's socket.
type server struct {
	srv    *http.Server
	socket string
	done   chan struct{}
}

// serve listens on a.Socket, only root may connect to it, and serves
// a.Handler on it. A socket left by an agent that died is removed first.
func (a *Agent) serve() (*server, error) {
	if err := os.MkdirAll(filepath.Dir(a.Socket), 0o755); err != nil {
		return nil, fmt.Errorf("socket %s: %w", a.Socket, err)
	}
	if fi, err := os.Lstat(a.Socket); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("socket %s: a file that is not a socket is in the way", a.Socket)
		}
		if c, err := net.Dial("unix", a.Socket); err == nil {
			c.Close()
			return nil, fmt.Errorf("socket %s: another agent serves it", a.Socket)
		}
		if err := os.Remove(a.Socket); err != nil {
			return nil, fmt.Errorf("stale socket %s: %w", a.Socket, err)
		}
	}
	l, err := net.Listen("unix", a.Socket)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", a.Socket, err)
	}
	// Only root may call.
	if err := os.Chmod(a.Socket, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("socket %s: %w", a.Socket, err)
	}
	s := &server{srv: &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}, socket: a.Socket, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("serve", "socket", a.Socket, "err", err)
		}
	}()
	return s, nil
}

// close stops serving, lets the calls under way end, and removes the
// socket.
func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout+time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
	_ = os.Remove(s.socket)
}

// Handler serves the plugin's calls (package agentapi) for this host.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+agentapi.PathCreateNetwork, handle(a, func(ctx context.Context, spec agentapi.Network) (agentapi.Network, error) {
		return a.Cluster.CreateNetwork(ctx, spec)
	}))
	mux.HandleFunc("POST "+agentapi.PathAttach, handle(a, a.attach))
	mux.HandleFunc("POST "+agentapi.PathEndpoint, handle(a, func(ctx context.Context, req agentapi.EndpointRequest) (agentapi.EndpointResponse, error) {
		ep, found, err := a.Cluster.Endpoint(ctx, req.Network, a.Host, req.Key)
		return agentapi.EndpointResponse{Found: found, Endpoint: ep}, err
	}))
	mux.HandleFunc("POST "+agentapi.PathDetach, handle(a, func(ctx context.Context, req agentapi.EndpointRequest) (struct{}, error) {
		return struct{}{}, a.Cluster.Detach(ctx, req.Network, a.Host, req.Key)
	}))
	mux.HandleFunc("POST "+agentapi.PathNetwork, handle(a, func(ctx context.Context, req agentapi.NetworkRequest) (agentapi.Network, error) {
		return a.Cluster.Network(ctx, req.Name)
	}))
	mux.HandleFunc("POST "+agentapi.PathDeleteNetwork, handle(a, func(ctx context.Context, req agentapi.NetworkRequest) (struct{}, error) {
		return struct{}{}, a.Cluster.DeleteNetwork(ctx, req.Name)
	}))
	mux.HandleFunc("POST "+agentapi.PathReserve, handle(a, func(ctx context.Context, req agentapi.AddressRequest) (agentapi.AddressResponse, error) {
		addr, err := a.Cluster.Reserve(ctx, req.Pool, req.Address)
		return agentapi.AddressResponse{Address: addr}, err
	}))
	mux.HandleFunc("POST "+agentapi.PathRelease, handle(a, func(ctx context.Context, req agentapi.AddressRequest) (struct{}, error) {
		return struct{}{}, a.Cluster.Release(ctx, req.Pool, req.Address)
	}))
	return mux
}

// attach records the plugin's endpoint with this host's name, VTEP and
// lease, and returns it with the network's endpoints, read after it.
func (a *Agent) attach(ctx context.Context, req agentapi.AttachRequest) (agentapi.AttachResponse, error) {
	lease := clientv3.LeaseID(a.lease.Load())
	if lease == 0 {
		return agentapi.AttachResponse{}, fmt.Errorf("%w for host %s: the agent has not registered it yet", cluster.ErrNoAgent, a.Host)
	}
	spec := agentapi.Endpoint{Network: req.Network, Host: a.Host, Key: req.Key, VTEP: a.VTEP, MAC: req.MAC, Addresses: req.Addresses,
		Reserved: req.Reserved}
	ep, err := a.Cluster.Attach(ctx, spec, lease)
	if err != nil {
		return agentapi.AttachResponse{}, err
	}
	eps, _, err := a.Cluster.Endpoints(ctx, req.Network)
	if err != nil {
		// The plugin has no use for an endpoint it cannot program.
		return agentapi.AttachResponse{}, errors.Join(err, a.Cluster.Detach(context.WithoutCancel(ctx), ep.Network, ep.Host, ep.Key))
	}
	return agentapi.AttachResponse{Endpoint: ep, Endpoints: eps}, nil
}

// handle adapts a call to HTTP: it decodes the request, runs fn within
// CallTimeout, and encodes its answer or its error.
func handle[Req, Res any](a *Agent, fn func(context.Context, Req) (Res, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			reply(w, http.StatusBadRequest, agentapi.Error{Error: fmt.Sprintf("agent: request of %s: %v", r.URL.Path, err)})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), CallTimeout)
		defer cancel()
		res, err := fn(ctx, req)
		if err != nil {
			if ctx.Err() != nil && r.Context().Err() == nil {
				err = fmt.Errorf("etcd at %s is %w: no answer within %s (%v)", a.Cluster.Etcd(), cluster.ErrUnreachable, CallTimeout, err)
			}
			a.Log.Warn("call", "path", r.URL.Path, "err", err)
			reply(w, http.StatusInternalServerError, agentapi.Error{Error: err.Error()})
			return
		}
		a.Log.Debug("call", "path", r.URL.Path)
		reply(w, http.StatusOK, res)
	}
}

// reply writes v as the JSON answer with status.
func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
