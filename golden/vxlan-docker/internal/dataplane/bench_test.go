package dataplane

import (
	"testing"

	"example.com/demo/internal/nstest"
)

// BenchmarkAttachDetach measures one container's setup and teardown: cold
// creates and deletes the bridge every time, as for a network's only
// container; warm finds it in place, held by another container.
func BenchmarkAttachDetach(b *testing.B) {
	nstest.RequireRoot(b)
	b.Run("cold", func(b *testing.B) {
		br := testBridge(b, "198.18.0.1/24", "2001:db8::1/64")
		benchmarkCycle(b, br)
	})
	b.Run("warm", func(b *testing.B) {
		br := testBridge(b, "198.18.0.1/24", "2001:db8::1/64")
		keep := testAttachment(b, nstest.NewNetns(b), []string{"198.18.0.3/24", "2001:db8::3/64"})
		if _, err := Attach(br, keep); err != nil {
			b.Fatalf("Attach: %v", err)
		}
		benchmarkCycle(b, br)
	})
}

func benchmarkCycle(b *testing.B, br Bridge) {
	a := testAttachment(b, nstest.NewNetns(b), []string{"198.18.0.2/24", "2001:db8::2/64"},
		via("0.0.0.0/0", "198.18.0.1"), via("::/0", "2001:db8::1"))
	for b.Loop() {
		if _, err := Attach(br, a); err != nil {
			b.Fatalf("Attach: %v", err)
		}
		if _, err := Detach(br, a); err != nil {
			b.Fatalf("Detach: %v", err)
		}
	}
}
