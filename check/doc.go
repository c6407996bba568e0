// Package check is a conformance suite for netavark network plugins: it runs
// a plugin executable, written in any language, the way netavark and podman
// do, and checks every answer against the protocol.
//
// [Run] executes the cases and returns a [Report] with one [Case] each.
// The plugin's file name is its driver name, as in a netavark plugin
// directory, and is the driver of every network the suite sends.
//
//   - info, info/no-argument: one JSON object of strings with version and
//     api_version, valid against the info schema of package schema.
//   - create/<fixture>: create with each network of the embedded fixtures
//     (or create/network with [Config.Network]) plus the unknown key
//     x_check_unknown. The answer is a network with name, id and driver
//     unchanged, the keys netavark 2.x requires, and every key the plugin
//     does not model handed back as it came. A plugin may refuse a network
//     with a correct error answer: the case is skipped with its message.
//     The case "create" fails if it refused every network.
//   - error/bad-json, error/empty-stdin, error/unknown-subcommand,
//     error/setup-without-netns, error/teardown-without-netns: each must exit
//     exactly 1 with exactly {"error":"message"} on stdout.
//   - netns/... (with [Config.Netns], as root): create a network on
//     10.213.0.0/24 (the next groups' networks are on 10.213.1.0/24 and
//     so on: a plugin may refuse two networks of one subnet), then setup
//     in a scratch network namespace; the interfaces the status block
//     names exist there (interfaces-present);
//     teardown removes them (interfaces-removed); teardown succeeds again
//     (teardown-again) and with a netns path that does not exist
//     (teardown-missing-netns); the host has the same links before and after
//     (no-leaked-links).
//   - ports/... (with [Config.Netns], as root): in scratch namespaces of
//     a host, an outside network behind a veth of the host (192.0.2.0/24)
//     and a container, the plugin, run in the host, creates a network and
//     sets the container up with port_mappings publishing tcp port 18080 on
//     port 8080. It may refuse with a correct error answer (setup passes,
//     the rest skip with its message). If it accepts, a client in the
//     outside connecting to 192.0.2.1:18080 must get the answer of a
//     server in the container (reachable), and after teardown must not
//     (withdrawn): a plugin that takes port mappings and publishes nothing
//     fails, since podman would report the port published to a user whose
//     clients hang.
//   - netavark/... (with [Config.Netavark], as root): the same setup and
//     teardown through a real netavark binary, which finds the plugin in a
//     temporary plugin directory.
//
// Every answer is also checked for what netavark needs of any plugin: stdout
// holds exactly one JSON value, and it is closed when the plugin exits (a
// background child that keeps it open makes netavark wait forever). Each run
// of a plugin is bounded by [Config.Timeout] and gets its own process
// group, killed when the time is up.
//
// Checks running at once on one host take turns for their netns and
// netavark cases, under a lock in /run: each compares the host's links
// before and after, and would count the other's as leaks. Links that other
// programs change meanwhile can still show as a leak.
package check
