// Package catalog is the server's book of published pipelines and the one way runs of them are
// submitted (by the REST API and by schedules alike): it validates and records published
// versions, keeps their parsed form, and enforces the data-root policy — no parameter, default,
// output path or code folder of a published pipeline may point outside what the server was
// allowed.
//
// The data-root policy (Roots):
//   - a local path is allowed inside a data root folder (--data-root; default the server's
//     root), once symbolic links are resolved;
//   - a Blob URI (azblob://ACCOUNT/CONTAINER/PATH) is allowed when it parses (no "." or ".."
//     segments, no query) and lies inside a Blob data root given as --data-root
//     azblob://ACCOUNT/CONTAINER[/PREFIX], or inside a datastore of the workspace file
//     (Config.Datastores: the datastore's account and container, or the whole account when the
//     datastore names no container);
//   - anything else is refused (ErrForbiddenPath), so a client can never make the server open a
//     storage account it was not configured for.
//
// Code folders must lie inside the root itself.
//
// A published pipeline has no file of its own: its relative paths resolve against the server's
// root folder, as if the file lay there.
package catalog
