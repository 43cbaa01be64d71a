// Package rest is the JSON-over-HTTP client the remote compute targets share: authentication
// headers added per request, retries with exponential backoff and full jitter on throttling (429,
// honouring Retry-After), server errors (500, 502, 503, 504) and dropped connections, and typed
// errors (*StatusError) that carry the HTTP status and the response body — never the request's
// credentials.
//
// A request is retried only when that is safe: GET, HEAD, PUT and DELETE always; a POST only when
// the caller says it is idempotent (Request.Idempotent: a Databricks submit carrying an
// idempotency_token, a cancel). A POST that is not idempotent is sent once; if its response is
// lost the error wraps ErrUnknownOutcome, and the caller must find out what happened before
// trying again (as remote/livy does, by looking for the batch by name).
package rest
