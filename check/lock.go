package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockPath is the lock that serializes the setup and teardown cycles of
// checks running at the same time on one host: each compares the host's
// links before and after its cycle, and would see the other's as leaks.
const lockPath = "/run/netavark-plugin-gen-check.lock"

// lockWait bounds the wait for another check's cycle to end.
const lockWait = 5 * time.Minute

// lockHost takes the host-wide lock of the cycles and returns the function
// that releases it.
func lockHost(ctx context.Context) (unlock func(), err error) {
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for another check's setup and teardown cycle to end (lock %s): %w", lockPath, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
