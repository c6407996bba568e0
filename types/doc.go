// Package types holds the JSON messages of netavark's plugin protocol: what
// netavark and podman send to a network plugin and what the plugin answers.
//
// These types are the single source of truth of netavark-plugin-gen: the
// generated plugins carry a copy of them (see [Source]) and the JSON Schemas
// that plugins in other languages use are reflected from them.
//
// Decoding is lenient in the way netavark 1.6 to 2.1 and podman 4.5 to 6 need:
// netavark 1.x writes null for every absent optional field, 2.x omits it, and
// unknown keys are ignored (a [Network] keeps them, so that a plugin's create
// hands them back). Encoding is strict in the way netavark needs: addresses
// with a prefix are always CIDR strings, MAC addresses are colon-separated
// hex, and the keys netavark requires are always written.
package types

// APIVersion is the version of netavark's plugin API that these types describe.
// A plugin reports it as "api_version" in its [Info].
const APIVersion = "1.0.0"
