//go:build unix && !linux

package parallel

import (
	"os/exec"
	"syscall"
)

// ownGroup runs cmd in its own process group, killed whole when its context ends.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
