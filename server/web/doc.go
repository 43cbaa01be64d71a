// Package web is the web view of `sluice serve`: a few static pages and a script, embedded in the
// binary (nothing to build at install), that read the REST API. Pages: pipelines, runs, and a
// run page that draws the pipeline graph as SVG with each step's live status, duration, reuse,
// items/s of running dataflow steps (done/total, ETA, bottleneck) and log, refreshed by polling the API (no reload).
package web
