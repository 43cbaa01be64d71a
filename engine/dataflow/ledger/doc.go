// Package ledger is the per-item record of partitioned runs, in SQLite (modernc.org/sqlite,
// pure Go): which items, by content hash, were processed under which run key (a fingerprint of
// model, code and parameters), into which partition file and row, and with which error.
//
// A partition is recorded in one transaction together with all its items, after its file has
// been committed (fsync, rename): a partition present in the ledger is complete on disk, and
// one absent from it is redone by the next run. The database runs in WAL mode with
// synchronous=NORMAL, which survives a killed process (not necessarily a power cut). A Ledger
// is safe for concurrent use; two processes may share a file (SQLite locking, busy timeout).
package ledger
