package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzRoundTrip decodes arbitrary input as each message type. Whatever
// decodes must encode (or fail only on a missing ipnet, which decoding allows
// and encoding refuses), and the encoding must be stable: decoding and
// encoding it again gives the same bytes.
func FuzzRoundTrip(f *testing.F) {
	for _, path := range fixtures(f) {
		doc, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, newMsg := range []func() any{
			func() any { return new(NetworkPluginExec) },
			func() any { return new(Network) },
			func() any { return new(StatusBlock) },
			func() any { return new(Info) },
			func() any { return new(NetavarkOptions) },
		} {
			first := newMsg()
			if json.Unmarshal(doc, first) != nil {
				continue
			}
			out, err := json.Marshal(first)
			if err != nil {
				if !errors.Is(err, errInvalidIPNet) {
					t.Fatalf("%T decoded %q but does not encode: %v", first, doc, err)
				}
				continue
			}
			second := newMsg()
			if err := json.Unmarshal(out, second); err != nil {
				t.Fatalf("%T does not decode its own encoding %s: %v", second, out, err)
			}
			again, err := json.Marshal(second)
			if err != nil {
				t.Fatalf("%T: second encoding failed: %v", second, err)
			}
			if !bytes.Equal(out, again) {
				t.Fatalf("%T encoding not stable:\n%s\n%s", second, out, again)
			}
		}
	})
}
