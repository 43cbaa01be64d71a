// Package secret keeps credentials out of logs, run records and error messages. Every secret
// Sluice reads comes through Env (or is declared with Add); from then on Redact, Error and
// Writer replace its value, wherever it appears, with "[REDACTED]". The set is process-wide:
// a secret loaded by one datastore is hidden in every other component's output too.
package secret
