//go:build unix

package embed

import (
	"os"
	"syscall"
)

// terminate asks the server to shut down; it then unloads its runners.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// kill kills the server's whole process group, which serveProcAttr created,
// so that no model runner it spawned is left behind.
func kill(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		return p.Kill()
	}
	return nil
}
