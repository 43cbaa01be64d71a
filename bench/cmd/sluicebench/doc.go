// Command sluicebench runs Sluice's benchmark harness; see bench/README.md.
package main
