// Package command runs the `command` step of a pipeline: it renders the step's command line
// with its bindings substituted (each value quoted for sh), and runs it with `sh -c` as the
// leader of a new process group, so that cancellation, timeouts and the end of the step reach
// every process it started. Output goes to the step's log.
package command
