//go:build !linux

package stack

import "syscall"

// procAttr has nothing to add outside Linux, which alone can kill a child
// when its parent dies: there, instances of a stack whose process is killed
// outright keep running until they are stopped by hand.
func procAttr() *syscall.SysProcAttr { return nil }
