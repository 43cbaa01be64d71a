// Package datastore is the storage contract of Sluice (DESIGN.md §3): a Datastore is a flat
// namespace of immutable-once-written objects ("files" under slash-separated names) in a local
// folder or an Azure Blob container. The core interface is small — Open, Create (committed on
// Close), List, Stat, Delete — and stores that can do better offer optional capabilities,
// discovered by type assertion as database/sql/driver does: FileUploader and FileDownloader
// (parallel block transfers straight from and to local files) and LocalPather (the object is a
// local file already).
//
// Data is named by URI: a local path (absolute, or relative to whatever the caller resolves it
// against) or azblob://ACCOUNT/CONTAINER/PREFIX (see ParseURI). A Resolver turns a URI into
// the Datastore holding it plus the prefix inside it; it is configured by the workspace file
// (package internal/wsconfig), which says which endpoint and which credential each account uses.
//
// Errors: ErrNotFound (wrapped) for a missing object; ErrBadURI for a malformed URI; errors of
// a remote store never contain a credential (see Redactor).
package datastore
