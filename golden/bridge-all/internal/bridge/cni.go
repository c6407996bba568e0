package bridge

// What the CNI front end (package cni) takes from this driver, so that a
// network gets the same bridge name and accepts the same MTUs, with the
// same messages, whichever runtime configures it.

// DerivedBridgeName is the bridge of a network that names none: "br-NAME",
// or "br-" and a hash of the name when that is no valid interface name.
func DerivedBridgeName(network string) string {
	return derivedBridgeName(network)
}

// ParseMTU parses an MTU given as decimal text; "" means the kernel's
// default and returns 0.
func ParseMTU(s string) (int, error) {
	return parseMTU(s)
}

// CheckIfName checks that name can be a Linux interface name.
func CheckIfName(name string) error {
	return checkIfName(name)
}
