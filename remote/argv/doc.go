// Package argv splits a rendered command line into words the way a POSIX shell would for simple
// commands — single quotes, double quotes (with \" \\ \$ \` escapes), backslashes — so that a
// command written for the local target (`python main.py ${{inputs.x}}`) becomes the argument list
// of a remote Spark task. Anything a shell would expand ($VAR, globs, pipes, ;) is refused rather
// than passed on wrong.
package argv
