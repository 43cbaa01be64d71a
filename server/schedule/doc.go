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
// A file fires once it is settled: seen with the same version (size and modification time) by
// two scans in a row, so a file still being written does not start a run with half its data.
// Names starting with "." and ending in ".tmp", ".part" or "~" are ignored.
//
// Locations are watched through the Watcher interface: LocalFolder polls a folder; other
// schemes (a Blob prefix) plug in with RegisterWatcher.
package schedule
