// Package catalog is the server's book of published pipelines and the one way runs of them are
// submitted (by the REST API and by schedules alike): it validates and records published
// versions, keeps their parsed form, and enforces the data-root policy — no parameter, default
// or code folder of a published pipeline may point outside the folders the server was allowed.
//
// A published pipeline has no file of its own: its relative paths resolve against the server's
// root folder, as if the file lay there.
package catalog
