package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// MediaType is the media type of the plugin protocol's JSON. The engine
// sends it as Accept; the handler sends it as Content-Type.
const MediaType = "application/vnd.docker.plugins.v1.2+json"

// maxBody bounds a request body: the largest the engine sends is a
// CreateNetwork with its options, a few kilobytes.
const maxBody = 1 << 20

// call is one method of the protocol: it decodes its argument from body
// and returns the value to answer with.
type call func(ctx context.Context, body []byte) (any, error)

// Server serves the protocol over HTTP for a Handler.
type Server struct {
	calls map[string]call
	// implements are the plugin APIs that Plugin.Activate names.
	implements []string
	log        *slog.Logger
}

// NewServer returns the server of every call of the NetworkDriver API, and
// of Plugin.Activate, answered by h. It logs failed calls to log.
func NewServer(h Handler, log *slog.Logger) *Server {
	srv := &Server{log: log, implements: []string{"NetworkDriver"}}
	srv.calls = map[string]call{
		"/Plugin.Activate": func(context.Context, []byte) (any, error) {
			return ActivateResponse{Implements: srv.implements}, nil
		},
		"/NetworkDriver.GetCapabilities": func(context.Context, []byte) (any, error) {
			return h.Capabilities(), nil
		},
		"/NetworkDriver.CreateNetwork":               withoutAnswer(h.CreateNetwork),
		"/NetworkDriver.DeleteNetwork":               withoutAnswer(h.DeleteNetwork),
		"/NetworkDriver.CreateEndpoint":              withAnswer(h.CreateEndpoint),
		"/NetworkDriver.EndpointOperInfo":            withAnswer(h.EndpointOperInfo),
		"/NetworkDriver.DeleteEndpoint":              withoutAnswer(h.DeleteEndpoint),
		"/NetworkDriver.Join":                        withAnswer(h.Join),
		"/NetworkDriver.Leave":                       withoutAnswer(h.Leave),
		"/NetworkDriver.DiscoverNew":                 withoutAnswer(h.DiscoverNew),
		"/NetworkDriver.DiscoverDelete":              withoutAnswer(h.DiscoverDelete),
		"/NetworkDriver.ProgramExternalConnectivity": withoutAnswer(h.ProgramExternalConnectivity),
		"/NetworkDriver.RevokeExternalConnectivity":  withoutAnswer(h.RevokeExternalConnectivity),
	}
	return srv
}

// withAnswer adapts a Handler method that answers with a value.
func withAnswer[Req, Resp any](f func(context.Context, Req) (Resp, error)) call {
	return func(ctx context.Context, body []byte) (any, error) {
		var req Req
		if err := decode(body, &req); err != nil {
			return nil, err
		}
		return f(ctx, req)
	}
}

// withoutAnswer adapts a Handler method whose success is answered with {}.
func withoutAnswer[Req any](f func(context.Context, Req) error) call {
	return func(ctx context.Context, body []byte) (any, error) {
		var req Req
		if err := decode(body, &req); err != nil {
			return nil, err
		}
		return struct{}{}, f(ctx, req)
	}
}

// ServeHTTP answers one call. It neither requires nor checks Content-Type
// and Accept, which the engine sets as it likes, and it reads an empty body
// as a call without arguments.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	c, ok := srv.calls[r.URL.Path]
	if !ok {
		srv.answer(w, name, http.StatusNotFound, nil, fmt.Errorf("%s: %w", name, ErrNotImplemented))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		srv.answer(w, name, http.StatusMethodNotAllowed, nil, fmt.Errorf("%s: method %s not allowed, want POST", name, r.Method))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		srv.answer(w, name, http.StatusBadRequest, nil, fmt.Errorf("%s: read request: %w", name, err))
		return
	}
	srv.log.Debug("call", "method", name, "body", string(body))
	v, err := runCall(r.Context(), c, body)
	switch {
	case errors.Is(err, ErrNotImplemented):
		srv.answer(w, name, http.StatusNotFound, nil, err)
	case err != nil:
		srv.answer(w, name, http.StatusInternalServerError, nil, err)
	default:
		srv.answer(w, name, http.StatusOK, v, nil)
	}
}

// runCall runs c, turning a panic into an error so that the engine gets an
// answer and the daemon goes on serving.
func runCall(ctx context.Context, c call, body []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	return c(ctx, body)
}

// answer writes v, or err as {"Err":...}, with status.
func (srv *Server) answer(w http.ResponseWriter, name string, status int, v any, err error) {
	if err != nil {
		srv.log.Warn("call failed", "method", name, "status", status, "err", err)
		v = ErrorResponse{Err: err.Error()}
	}
	data, merr := json.Marshal(v)
	if merr != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(ErrorResponse{Err: fmt.Sprintf("%s: encode answer: %v", name, merr)}) // a string always encodes
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

// decode reads the JSON document in body into v; an empty body leaves v
// as it is, the zero value of the call's argument.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("decode request: more than one JSON document")
	}
	return nil
}
