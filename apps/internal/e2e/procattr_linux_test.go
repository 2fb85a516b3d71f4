package e2e

import "syscall"

// procAttr makes each role process die with the test binary, so a test
// killed by its timeout leaves no role running.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
