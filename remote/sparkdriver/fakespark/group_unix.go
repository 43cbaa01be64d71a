//go:build unix

package fakespark

import (
	"os/exec"
	"syscall"
)

// ownGroup makes canceling the driver kill its tasks' processes too (sluice binaries).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
