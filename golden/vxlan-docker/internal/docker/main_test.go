package docker_test

import (
	"os"
	"testing"

	"example.com/demo/internal/nstest"
)

func TestMain(m *testing.M) {
	os.Exit(nstest.Main(m.Run))
}
