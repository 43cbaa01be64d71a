//go:build linux

package parallel

import (
	"os/exec"
	"syscall"
)

// ownGroup runs cmd in its own process group, killed whole when its context ends; the command
// also dies with this process (Pdeathsig), so that a killed run leaves no command behind.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
