package stack

import "syscall"

// procAttr puts an instance in its own process group, so that the Ctrl+C of
// the terminal reaches the stack alone, which then stops its instances in
// order, and has the kernel kill the instance when the stack's process dies,
// however it dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
