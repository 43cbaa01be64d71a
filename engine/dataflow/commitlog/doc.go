// Package commitlog keeps the commit records of a partitioned output that lives in a datastore
// (an azblob:// folder): next to each committed partition file part-<id><ext> it writes
// _sluice/ledger/<id>.json, after the file itself, holding the run key, the file's name, size and
// MD5, the partition's counts, who committed it, and each item's content hash, path, row and
// error. A record counts only when its run key matches and the file it names is present with the
// recorded size and MD5, so a partition is committed exactly when its record says so — whatever
// machine (a laptop, a Spark task) wrote it.
//
// Runs that share an output share its records: each run imports them before starting and skips
// the partitions they hold, which is how a scoring run started on a cluster and finished on this
// machine (or the reverse) never redoes work. The local SQLite ledger (package ledger) stays each
// machine's cache of the same facts.
package commitlog
