package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Metric is one metric family that can write itself.
type Metric interface {
	write(w *bufio.Writer)
}

// Registry holds metric families in registration order.
type Registry struct {
	mu      sync.Mutex
	metrics []Metric
}

// NewRegistry makes an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds metrics; names must be unique (not checked).
func (r *Registry) Register(ms ...Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.metrics = append(r.metrics, ms...)
}

// WriteTo writes every metric in the text exposition format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	ms := append([]Metric(nil), r.metrics...)
	r.mu.Unlock()
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	for _, m := range ms {
		m.write(bw)
	}
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Handler serves the registry.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = r.WriteTo(w)
	})
}

type desc struct {
	name, help string
	labels     []string
}

func (d desc) header(w *bufio.Writer, typ string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", d.name, escapeHelp(d.help), d.name, typ)
}

func (d desc) key(lvs []string) string {
	if len(lvs) != len(d.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", d.name, len(d.labels), len(lvs)))
	}
	return strings.Join(lvs, "\xff")
}

func (d desc) labelText(key string, extra ...string) string {
	var parts []string
	if len(d.labels) > 0 {
		for i, v := range strings.Split(key, "\xff") {
			parts = append(parts, d.labels[i]+`="`+escapeValue(v)+`"`)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		parts = append(parts, extra[i]+`="`+escapeValue(extra[i+1])+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Counter is a family of monotonically increasing values, one per combination of label values.
type Counter struct {
	desc
	mu   sync.Mutex
	vals map[string]float64
}

// NewCounter makes a counter family.
func NewCounter(name, help string, labels ...string) *Counter {
	return &Counter{desc: desc{name, help, labels}, vals: map[string]float64{}}
}

// Add adds v (>= 0) to the series of the label values lvs.
func (c *Counter) Add(v float64, lvs ...string) {
	k := c.key(lvs)
	c.mu.Lock()
	c.vals[k] += v
	c.mu.Unlock()
}

// Inc adds 1.
func (c *Counter) Inc(lvs ...string) { c.Add(1, lvs...) }

// Value returns the current value of one series.
func (c *Counter) Value(lvs ...string) float64 {
	k := c.key(lvs)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vals[k]
}

func (c *Counter) write(w *bufio.Writer) {
	c.header(w, "counter")
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range sortedKeys(c.vals) {
		fmt.Fprintf(w, "%s%s %s\n", c.name, c.labelText(k), num(c.vals[k]))
	}
}

// Histogram is a family of distributions with fixed bucket upper bounds.
type Histogram struct {
	desc
	buckets []float64
	mu      sync.Mutex
	series  map[string]*hseries
}

type hseries struct {
	counts []uint64 // per bucket, not cumulative
	count  uint64
	sum    float64
}

// NewHistogram makes a histogram family with the given (increasing) bucket upper bounds.
func NewHistogram(name, help string, buckets []float64, labels ...string) *Histogram {
	return &Histogram{desc: desc{name, help, labels}, buckets: buckets, series: map[string]*hseries{}}
}

// Observe records one value.
func (h *Histogram) Observe(v float64, lvs ...string) {
	k := h.key(lvs)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.series[k]
	if s == nil {
		s = &hseries{counts: make([]uint64, len(h.buckets))}
		h.series[k] = s
	}
	for i, b := range h.buckets {
		if v <= b {
			s.counts[i]++
			break
		}
	}
	s.count++
	s.sum += v
}

func (h *Histogram) write(w *bufio.Writer) {
	h.header(w, "histogram")
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range sortedKeys(h.series) {
		s := h.series[k]
		var cum uint64
		for i, b := range h.buckets {
			cum += s.counts[i]
			fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, h.labelText(k, "le", num(b)), cum)
		}
		fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, h.labelText(k, "le", "+Inf"), s.count)
		fmt.Fprintf(w, "%s_sum%s %s\n", h.name, h.labelText(k), num(s.sum))
		fmt.Fprintf(w, "%s_count%s %d\n", h.name, h.labelText(k), s.count)
	}
}

// GaugeFunc is a gauge family whose series are read at scrape time.
type GaugeFunc struct {
	desc
	fn func() map[string]float64
}

// NewGaugeFunc makes a gauge family; fn returns the value of each series keyed by its label
// values joined with "\xff" (or "" when there are no labels). One label: the value itself.
func NewGaugeFunc(name, help string, fn func() map[string]float64, labels ...string) *GaugeFunc {
	return &GaugeFunc{desc: desc{name, help, labels}, fn: fn}
}

func (g *GaugeFunc) write(w *bufio.Writer) {
	g.header(w, "gauge")
	vals := g.fn()
	for _, k := range sortedKeys(vals) {
		fmt.Fprintf(w, "%s%s %s\n", g.name, g.labelText(k), num(vals[k]))
	}
}

func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func escapeValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
