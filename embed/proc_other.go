//go:build !unix

package embed

import (
	"os"
	"syscall"
)

func serveProcAttr() *syscall.SysProcAttr { return nil }

// terminate kills the server: there is no SIGTERM to send here.
func terminate(p *os.Process) error { return p.Kill() }

func kill(p *os.Process) error { return p.Kill() }
