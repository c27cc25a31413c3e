//go:build unix && !linux

package embed

import "syscall"

// serveProcAttr puts the server in a process group of its own so that it
// and its model runners can be killed together. There is no parent-death
// signal outside Linux: callers must Stop the server on shutdown.
func serveProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
