package check

import (
	"os"
	"testing"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m.Run))
}
