// Package check is a conformance suite for netavark network plugins: it runs
// a plugin executable, written in any language, the way netavark and podman
// do, and checks every answer against the protocol.
//
// [Run] executes the cases and returns a [Report] with one [Case] each:
//
//   - info, info/no-argument: one JSON object with string keys version and
//     api_version (and, if any, other string keys), valid against the
//     info schema.
//   - create/<fixture>: create with each network of the embedded fixtures
//     (or the one given in [Config.Network]) plus an unknown key. The answer
//     is a network with name, id and driver unchanged, the keys netavark 2.x
//     requires, and every key the plugin does not model handed back as it
//     came. A plugin may refuse a network with a correct error answer: the
//     case is skipped with its message; refusing every network fails the
//     case "create".
//   - error/...: bad JSON, empty stdin, an unknown subcommand, setup and
//     teardown without a netns path: each must exit 1 with exactly
//     {"error":"message"} on stdout.
//   - netns/... (with [Config.Netns], as root): create, then setup and
//     teardown in a scratch network namespace; the interfaces the status
//     block names exist in the namespace after setup and are gone after
//     teardown; teardown succeeds again, and with a netns path that does not
//     exist; the host's links are the same before and after.
//   - netavark/... (with [Config.Netavark], as root): setup and teardown of
//     the same kind through a real netavark binary.
//
// Every answer is also checked for what netavark needs of any plugin: stdout
// holds exactly one JSON value, and it is closed when the plugin exits (a
// background child that keeps it open makes netavark wait forever). Each run
// of a plugin is bounded by [Config.Timeout].
package check
