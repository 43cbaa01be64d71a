// Package manifest describes folders and files by content: a Manifest lists every file's relative
// path, size and SHA-256, and its Hash identifies a dataset version. Code folders are walked with
// their .amlignore / .gitignore rules applied, the same way for hashing and for snapshots, so that
// what is hashed is exactly what a step sees.
//
// Hashing large folders repeatedly is avoided with a Cache keyed by (path, size, mtime, inode);
// a file modified within the last two seconds is never served from the cache, so a write that
// keeps size and timestamp tick cannot be missed.
package manifest
