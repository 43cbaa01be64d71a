// Package schedule starts runs of published pipelines unattended: on a cron recurrence in a time
// zone, or for each new or changed file under a watched location (a datastore-change trigger,
// the file's path bound to a pipeline input).
//
// Exactly once: before a run is submitted, its fire (schedule, file or cron slot, version, run
// id) is claimed in the workspace in one transaction; the run is then recorded with that id.
// A restart between the two finds the claimed fire without its run and submits it (Recover), and
// a fire already claimed is never claimed again, so one change never starts two runs. Files
// that arrived while the server was down are seen by the first scans after it starts.
//
// A file fires once it is settled: seen with the same version by two scans in a row, so a file
// still being written does not start a run with half its data. Names starting with "." and
// ending in ".tmp", ".part" or "~" are ignored.
//
// Locations are watched through the Watcher interface. LocalFolder polls a folder (version:
// size and modification time; the bound value is the file's absolute path). Store polls a
// Blob prefix azblob://ACCOUNT/CONTAINER/PREFIX through a datastore.Resolver (version: the
// blob's Content-MD5, or its ETag when it has none, and its size — so a re-upload of the same
// bytes starts nothing; the bound value is the blob's full azblob:// URI, ready for a uri_file
// input). Config.Watchers maps a URI scheme to its Watcher per Scheduler (the server maps
// "azblob" to a Store on its resolver); RegisterWatcher does so process-wide. Each scan of a
// Blob prefix lists it whole, one List call per 5,000 blobs.
package schedule
