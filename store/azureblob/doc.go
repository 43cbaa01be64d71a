// Package azureblob is the Azure Blob Storage datastore: one container (of one storage account)
// seen as a datastore.Datastore, with the FileUploader and FileDownloader capabilities (parallel
// blocks and ranges). Authentication is a shared key, a SAS, a connection string, azidentity's
// DefaultAzureCredential, or none (public containers); the secret values come from the caller
// (the workspace file names environment variables) and are never part of an error message.
//
// Checksums: every object written through this package records its Content-MD5 (computed while
// the data streams, or given by the caller), and each block is sent with a transactional CRC64
// that the service verifies. Reads of whole objects are checked against Content-MD5 when it is
// set: a mismatch is datastore.ErrChecksum.
//
// Transient faults (dropped connections, 5xx, throttling) are retried by the SDK's pipeline,
// with exponential backoff; Config.Retry tunes it. Retrying whole operations is safe: writes are
// committed only by the final Put Block List, so a failed upload leaves the old object intact.
package azureblob
