package metrics

import (
	"strings"
	"testing"
)

func TestExpositionFormat(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	c := NewCounter("x_total", "Things.\nCounted", "code")
	h := NewHistogram("d_seconds", "Durations", []float64{0.5, 1}, "status")
	g := NewGaugeFunc("runs", "Runs by status", func() map[string]float64 { return map[string]float64{"Finished": 2, `a"b`: 1} }, "status")
	r.Register(c, h, g)
	c.Inc("200")
	c.Add(2, "200")
	h.Observe(0.25, "ok")
	h.Observe(0.75, "ok")
	h.Observe(3, "ok")
	var sb strings.Builder
	if _, err := r.WriteTo(&sb); err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_total Things.\nCounted
# TYPE x_total counter
x_total{code="200"} 3
# HELP d_seconds Durations
# TYPE d_seconds histogram
d_seconds_bucket{status="ok",le="0.5"} 1
d_seconds_bucket{status="ok",le="1"} 2
d_seconds_bucket{status="ok",le="+Inf"} 3
d_seconds_sum{status="ok"} 4
d_seconds_count{status="ok"} 3
# HELP runs Runs by status
# TYPE runs gauge
runs{status="Finished"} 2
runs{status="a\"b"} 1
`
	if sb.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", sb.String(), want)
	}
}
