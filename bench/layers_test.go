package bench

import "testing"

func TestModelLayersShapes(t *testing.T) {
	want := map[string]struct {
		layers int
		gflop  float64 // per image, 2 flop per MAC
	}{
		"resnet18":      {20, 3.63},
		"mobilenet_v2":  {52, 0.60},
		"squeezenet1_1": {26, 0.70},
	}
	for _, m := range Models {
		ls, err := ModelLayers(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		var f float64
		for _, l := range ls {
			if err := l.P.Validate(); err != nil {
				t.Fatalf("%s %s: %v", m, l.Name, err)
			}
			f += l.P.FLOPs()
		}
		w := want[m]
		if len(ls) != w.layers || f/1e9 < w.gflop*0.97 || f/1e9 > w.gflop*1.03 {
			t.Errorf("%s: %d layers, %.3f GFLOP; want %d, ~%.2f", m, len(ls), f/1e9, w.layers, w.gflop)
		}
	}
	if _, err := ModelLayers("nope", 1); err == nil {
		t.Error("unknown model accepted")
	}
}
