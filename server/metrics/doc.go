// Package metrics is a small Prometheus registry: counters, histograms and gauges read at scrape
// time, written in the text exposition format (version 0.0.4) by Registry.WriteTo and served by
// Registry.Handler. It has no dependencies and no global state.
package metrics
