//go:build linux

package embed

import "syscall"

// serveProcAttr puts the server in a process group of its own, so that it
// and its model runners can be killed together and a terminal's Ctrl-C
// reaches only attune (which then stops it), and asks the kernel to send it
// SIGTERM if attune dies without stopping it. Pdeathsig fires when the OS
// thread that started the child exits; the Go runtime does not retire
// threads other than those of goroutines that exit while locked to one.
func serveProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
