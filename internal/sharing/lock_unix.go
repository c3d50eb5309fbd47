//go:build unix

package sharing

import (
	"errors"
	"os"
	"syscall"
)

// fileLocks: body logs are locked here.
const fileLocks = true

// lockFile takes an exclusive advisory lock on f without waiting; it is
// released when f is closed.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLogBusy
	}
	return err
}
