// Package spec reads, builds and validates pipeline definitions: the Azure ML v2 YAML subset of
// DESIGN.md §4 and the equivalent Go builder API. Every error carries the file, line and column
// it concerns. The package knows nothing about running pipelines; see package executor.
package spec
