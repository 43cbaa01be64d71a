package pth

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

type expectation struct {
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

func loadExpected(t *testing.T) (map[string]expectation, []string) {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]expectation
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// File order, as written by gen_fixtures.py.
	dec := json.NewDecoder(bytesReader(b))
	var order []string
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		order = append(order, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return m, order
}

func TestBothSerializationsGiveTheSameTensors(t *testing.T) {
	t.Parallel()
	want, order := loadExpected(t)
	for _, file := range []string{"small_zip.pth", "small_legacy.pth", "nested_zip.pth"} {
		t.Run(file, func(t *testing.T) {
			sd, err := LoadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sd.Names, order) {
				t.Fatalf("names %v, want %v", sd.Names, order)
			}
			for name, w := range want {
				got := sd.Tensors[name]
				if !reflect.DeepEqual(got.Shape, w.Shape) && !(len(got.Shape) == 0 && len(w.Shape) == 0) {
					t.Fatalf("%s: shape %v, want %v", name, got.Shape, w.Shape)
				}
				if len(got.Data) != len(w.Values) {
					t.Fatalf("%s: %d values, want %d", name, len(got.Data), len(w.Values))
				}
				for i, v := range w.Values {
					if float32(v) != got.Data[i] && !(math.IsNaN(v) && math.IsNaN(float64(got.Data[i]))) {
						t.Fatalf("%s[%d] = %v, want %v", name, i, got.Data[i], v)
					}
				}
			}
			if sd.Tensors["half"].DType != "float16" || sd.Tensors["double"].DType != "float64" {
				t.Fatalf("dtypes %s %s", sd.Tensors["half"].DType, sd.Tensors["double"].DType)
			}
		})
	}
}

func TestDropStaleInstanceNormStats(t *testing.T) {
	t.Parallel()
	sd, err := LoadFile("testdata/small_legacy.pth")
	if err != nil {
		t.Fatal(err)
	}
	dropped := sd.DropStaleInstanceNormStats()
	if !reflect.DeepEqual(dropped, []string{"in1.running_mean", "in1.running_var"}) {
		t.Fatalf("dropped %v", dropped)
	}
	if _, ok := sd.Tensors["in1.running_mean"]; ok || len(sd.Names) != len(sd.Tensors) {
		t.Fatal("stale stats kept")
	}
	if _, ok := sd.Tensors["in1.weight"]; !ok {
		t.Fatal("in1.weight dropped")
	}
}

func TestMalformedFilesAreErrors(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile("testdata/small_legacy.pth")
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := os.ReadFile("testdata/small_zip.pth")
	cases := map[string][]byte{
		"empty":            nil,
		"text":             []byte("hello, this is not a checkpoint\n"),
		"legacy truncated": good[:len(good)-10],
		"legacy half":      good[:len(good)/2],
		"zip truncated":    zipped[:len(zipped)/2],
		"pickle of code":   []byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R."),
	}
	for name, b := range cases {
		if _, err := Read(b); !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// The code-running pickle names what it tried to call.
	_, err = Read(cases["pickle of code"])
	if err == nil || !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
		t.Fatalf("%v", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"small_zip.pth", "small_legacy.pth", "nested_zip.pth"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := Read(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		for _, n := range sd.Names {
			tt := sd.Tensors[n]
			count := 1
			for _, s := range tt.Shape {
				count *= s
			}
			if count != len(tt.Data) {
				t.Fatalf("%s: shape %v but %d values", n, tt.Shape, len(tt.Data))
			}
		}
	})
}
