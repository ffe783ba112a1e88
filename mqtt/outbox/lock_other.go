//go:build !unix

package outbox

import (
	"fmt"
	"os"
)

// lockDir opens the lock file; platforms without flock get no exclusion.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return f, nil
}

// diskFull is false where the platform's errors are not known: the write
// error itself still says why.
func diskFull(error) bool { return false }
