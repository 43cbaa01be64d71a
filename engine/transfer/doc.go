// Package transfer copies data between datastores: the `transfer` job type (DESIGN.md §1) and
// the staging of data URIs for steps that only read local files.
//
// Copy is concurrent (Options.Concurrency files at once; within a file, Blob uploads and
// downloads also run in parallel blocks), checksummed and resumable:
//
//   - before copying a file it compares the destination's size and MD5 with the source's (a Blob's
//     Content-MD5, or the MD5 of a local file computed on the spot); equal files are skipped, so a
//     rerun after a crash or a change copies only what is missing or different;
//   - every copied file is checked: streams are hashed as they pass and compared with the source's
//     MD5, uploads carry Content-MD5 and a per-block CRC64 the service verifies, downloads are
//     checked against Content-MD5; a mismatch is datastore.ErrChecksum and nothing is committed
//     under the destination name (writes go to a temporary name or an uncommitted block list);
//   - files present only at the destination are left alone (a transfer never deletes).
//
// The job: one data input (any name) and one output (any name) whose `path:` may be a data URI:
//
//	upload:
//	  type: transfer
//	  inputs:  {source: ${{parent.inputs.images}}}
//	  outputs: {dest: {type: uri_folder, path: azblob://acct/container/images}}
//	  concurrency: 8
package transfer
