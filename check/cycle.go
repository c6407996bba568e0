package check

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// cycle is one container's setup and teardown in a scratch network
// namespace, by the plugin itself or through netavark. Its cases are named
// after prefix.
type cycle struct {
	prefix string
	// setup sets the container of req up in the netns at path and returns
	// the run and the status block it answered, or why the answer is wrong.
	setup func(ctx context.Context, path string, req request) (*run, json.RawMessage, error)
	// teardown tears the container of req down from the netns at path.
	teardown func(ctx context.Context, path string, req request) *run
	// repeat also checks a second teardown and one with a netns path that
	// does not exist, which netavark 1.x does not tolerate itself.
	repeat bool
}

// needsRoot returns why the cases that make network namespaces cannot run,
// or "" if they can.
func needsRoot() string {
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Sprintf("needs root to make network namespaces (running as uid %d)", uid)
	}
	return ""
}

// runCycle creates a network with the plugin, then sets a container up on it
// in a scratch netns and tears it down, checking the interfaces in the netns
// and that the host's links are the same before and after.
func (s *suite) runCycle(ctx context.Context, c cycle) {
	name := func(step string) string { return c.prefix + "/" + step }
	if reason := needsRoot(); reason != "" {
		s.skip(c.prefix, nil, "%s", reason)
		return
	}
	unlock, err := lockHost(ctx)
	if err != nil {
		s.fail(c.prefix, nil, "%v", err)
		return
	}
	defer unlock()
	before, err := linkNames("")
	if err != nil {
		s.fail(c.prefix, nil, "list the host's links: %v", err)
		return
	}
	network, ok := s.cycleNetwork(ctx, "", name("create"))
	if !ok {
		s.skip(name("setup"), nil, "create failed")
		return
	}
	req, err := execRequest(network, "eth0")
	if err != nil {
		s.fail(name("setup"), nil, "%v", err)
		return
	}
	ns, err := newScratchNetns()
	if err != nil {
		s.fail(name("setup"), nil, "%v", err)
		return
	}
	defer func() {
		if err := ns.delete(); err != nil {
			s.fail(name("cleanup"), nil, "%v", err)
		}
	}()

	r, status, err := c.setup(ctx, ns.path, req)
	var ifaces []string
	if err == nil {
		ifaces, err = checkStatus(status, req.exec.NetworkOptions.StaticIPs)
	}
	s.result(name("setup"), r, err)
	setupOK := err == nil
	switch {
	case !setupOK:
		s.skip(name("interfaces-present"), nil, "setup failed")
	case len(ifaces) == 0:
		s.skip(name("interfaces-present"), nil, "the status block names no interface")
	default:
		s.result(name("interfaces-present"), nil, checkLinks(ns.path, ifaces, true))
	}

	r = c.teardown(ctx, ns.path, req)
	s.result(name("teardown"), r, teardownAnswer(r))
	if setupOK && len(ifaces) > 0 {
		s.result(name("interfaces-removed"), nil, checkLinks(ns.path, ifaces, false))
	} else {
		s.skip(name("interfaces-removed"), nil, "no interface to look for: setup failed or named none")
	}
	if c.repeat {
		r = c.teardown(ctx, ns.path, req)
		s.result(name("teardown-again"), r, teardownAnswer(r))
		r = c.teardown(ctx, missingNetnsPath(), req)
		s.result(name("teardown-missing-netns"), r, teardownAnswer(r))
	}
	s.result(name("no-leaked-links"), nil, checkHostLinks(before))
}

// cycleNetwork creates the test network with the plugin, run in the network
// namespace at netns ("" for the checker's own), recording the case name,
// and returns the network the plugin answered.
func (s *suite) cycleNetwork(ctx context.Context, netns, name string) (json.RawMessage, bool) {
	network, err := s.testNetwork()
	if err != nil {
		s.fail(name, nil, "%v", err)
		return nil, false
	}
	stdin, err := json.Marshal(network)
	if err != nil {
		s.fail(name, nil, "encode the network: %v", err)
		return nil, false
	}
	r := s.runPluginIn(ctx, netns, stdin, "create")
	created, err := createdNetwork(stdin, r)
	if err != nil {
		s.fail(name, r, "%v", err)
		return nil, false
	}
	s.pass(name, r)
	return created, true
}

// checkLinks checks that each interface in names exists in the netns at
// path, if present is true, or that none does.
func checkLinks(path string, names []string, present bool) error {
	links, err := linkNames(path)
	if err != nil {
		return err
	}
	var wrong []string
	for _, n := range names {
		if slices.Contains(links, n) != present {
			wrong = append(wrong, n)
		}
	}
	switch {
	case len(wrong) == 0:
		return nil
	case present:
		return fmt.Errorf("the status block names %s, missing from the netns (it has %s)",
			strings.Join(wrong, ", "), strings.Join(links, ", "))
	default:
		return fmt.Errorf("still in the netns after teardown: %s", strings.Join(wrong, ", "))
	}
}
