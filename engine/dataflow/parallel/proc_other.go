//go:build !unix

package parallel

import "os/exec"

// ownGroup: without process groups, only the command itself is killed.
func ownGroup(cmd *exec.Cmd) {}
