package npy

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/nn"
)

func TestRoundTrip(t *testing.T) {
	tests := []*nn.Tensor{
		nn.FromFloat32([]float32{1, -2.5, float32(math.Inf(1)), 0}, 2, 2),
		{DType: nn.Float64, Shape: []int{3}, Data: []float64{1e300, -0.5, 0}},
		{DType: nn.Int64, Shape: []int{}, Data: []int64{-7}},
		{DType: nn.Int32, Shape: []int{1, 2}, Data: []int32{math.MinInt32, 3}},
		{DType: nn.Uint8, Shape: []int{2}, Data: []uint8{0, 255}},
		{DType: nn.Int8, Shape: []int{2}, Data: []int8{-128, 127}},
		{DType: nn.Bool, Shape: []int{3}, Data: []bool{true, false, true}},
		{DType: nn.Float16, Shape: []int{1}, Data: []nn.Half{0x3c00}},
		{DType: nn.Uint16, Shape: []int{0, 4}, Data: []uint16{}},
	}
	for _, want := range tests {
		t.Run(want.String(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, want); err != nil {
				t.Fatal(err)
			}
			if (buf.Len()-len(dataBytes(want)))%64 != 0 {
				t.Errorf("header of %d bytes is not 64-byte aligned", buf.Len()-len(dataBytes(want)))
			}
			got, err := Read(&buf, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) || fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
				t.Fatalf("got %v %v, want %v %v", got, got.Data, want, want.Data)
			}
		})
	}
}

func dataBytes(t *nn.Tensor) []byte { return make([]byte, t.Len()*t.DType.Size()) }

func npyHeader(dict string) []byte {
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), 0)
	return append(b, dict...)
}

func TestReadVariants(t *testing.T) {
	be := append(npyHeader("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }"), 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe)
	got, err := Read(bytes.NewReader(be), Options{})
	if err != nil || fmt.Sprint(got.Data) != "[1 -2]" {
		t.Fatalf("big-endian: %v %v", got, err)
	}
	// Fortran order [[1,2,3],[4,5,6]] is stored column-major: 1 4 2 5 3 6.
	f := npyHeader("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }")
	f = append(f, 1, 4, 2, 5, 3, 6)
	got, err = Read(bytes.NewReader(f), Options{})
	if err != nil || fmt.Sprint(got.Data) != "[1 2 3 4 5 6]" {
		t.Fatalf("fortran: %v %v", got.Data, err)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"bad magic", []byte("NOTNUMPY...."), ErrFormat},
		{"object dtype", npyHeader("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"), ErrFormat},
		{"unknown key", npyHeader("{'descr': '<f4', 'shape': (1,), 'evil': 1}"), ErrFormat},
		{"truncated data", append(npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"), 1, 2, 3), ErrFormat},
		{"claims 10^12 elements", npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"), nn.ErrTooLarge},
		{"claims 100M elements, has none", npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000,), }"), ErrFormat},
		{"negative dim", npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data), Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestNumPyInterop checks files written here load in NumPy and the other
// way round, when Debian's python3-numpy is installed.
func TestNumPyInterop(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("python3-numpy not installed")
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.npy")
	f, _ := os.Create(ours)
	if err := Write(f, nn.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	theirs := filepath.Join(dir, "theirs.npy")
	script := fmt.Sprintf(`import numpy as np
a = np.load(%q)
assert a.dtype == np.float32 and a.shape == (2, 3) and a[1, 2] == 6, (a.dtype, a.shape)
np.save(%q, np.arange(6, dtype=np.int64).reshape(3, 2).T)`, ours, theirs)
	if out, err := exec.Command(py, "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	g, err := os.Open(theirs)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got, err := Read(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Shape, got.Data) != "[2 3] [0 2 4 1 3 5]" {
		t.Fatalf("got %v %v", got.Shape, got.Data)
	}
}

// FuzzRead: arbitrary input gives a valid tensor or an error, never a
// panic; a tensor read back writes and re-reads identically.
//
//	go test ./nn/npy -run '^$' -fuzz FuzzRead -fuzztime 2m
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	Write(&buf, nn.FromFloat32([]float32{1, 2, 3}, 3))
	f.Add(buf.Bytes())
	f.Add(npyHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"))
	f.Add(npyHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (1000000, 1000000), }"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Read(bytes.NewReader(data), Options{MaxBytes: 64 << 20})
		if err != nil {
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Write(&out, got); err != nil {
			t.Fatal(err)
		}
		again, err := Read(&out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(again.Shape) != fmt.Sprint(got.Shape) || again.Len() != got.Len() {
			t.Fatalf("round trip changed %v to %v", got, again)
		}
	})
}
