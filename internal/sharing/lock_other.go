//go:build !unix

package sharing

import "os"

// fileLocks: no locks here.
const fileLocks = false

// lockFile does nothing where advisory locks are not available: give each
// process its own body log path there.
func lockFile(f *os.File) error { return nil }
