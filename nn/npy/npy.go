package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/sluice-ml/sluice/nn"
)

// ErrFormat: the input is not a valid .npy file, or uses a dtype this
// package does not read (object arrays, structured dtypes, complex).
var ErrFormat = errors.New("npy: invalid or unsupported file")

var magic = []byte("\x93NUMPY")

// Options bound what Read accepts.
type Options struct {
	// MaxBytes bounds the array data (default 4 GiB).
	MaxBytes int64
}

// maxHeader bounds the header length (NumPy itself refuses > 10000 bytes
// in its default safe mode).
const maxHeader = 1 << 16

// Read reads one array from r.
func Read(r io.Reader, opts Options) (*nn.Tensor, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 4 << 30
	}
	br := bufio.NewReader(r)
	pre := make([]byte, 8)
	if _, err := io.ReadFull(br, pre); err != nil {
		return nil, fmt.Errorf("%w: reading magic: %v", ErrFormat, err)
	}
	if string(pre[:6]) != string(magic) {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	var hlen int
	switch pre[6] {
	case 1:
		b := make([]byte, 2)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("%w: header length: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b))
	case 2, 3:
		b := make([]byte, 4)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("%w: header length: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint32(b))
	default:
		return nil, fmt.Errorf("%w: format version %d.%d", ErrFormat, pre[6], pre[7])
	}
	if hlen > maxHeader {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrFormat, hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	h, err := parseHeader(string(hdr))
	if err != nil {
		return nil, err
	}
	dt, size, order, err := parseDescr(h.descr)
	if err != nil {
		return nil, err
	}
	n := int64(1)
	for _, d := range h.shape {
		if d < 0 {
			return nil, fmt.Errorf("%w: negative dimension in %v", ErrFormat, h.shape)
		}
		if d > 0 && n > math.MaxInt64/int64(d) {
			return nil, fmt.Errorf("%w: shape %v overflows", nn.ErrTooLarge, h.shape)
		}
		n *= int64(d)
	}
	if n > opts.MaxBytes/int64(size) {
		return nil, fmt.Errorf("%w: array of shape %v exceeds %d bytes", nn.ErrTooLarge, h.shape, opts.MaxBytes)
	}
	// Read in chunks so a short stream fails before a big allocation.
	total := n * int64(size)
	raw := make([]byte, 0, min(total, 1<<20))
	buf := make([]byte, 1<<16)
	for int64(len(raw)) < total {
		want := min(int64(len(buf)), total-int64(len(raw)))
		k, err := io.ReadFull(br, buf[:want])
		raw = append(raw, buf[:k]...)
		if err != nil {
			return nil, fmt.Errorf("%w: data: want %d bytes, got %d: %v", ErrFormat, total, len(raw), err)
		}
	}
	t := &nn.Tensor{DType: dt, Shape: h.shape, Data: decode(dt, raw, int(n), order)}
	if h.fortran && len(h.shape) > 1 {
		t = fromFortran(t)
	}
	return t, nil
}

type header struct {
	descr   string
	fortran bool
	shape   []int
}

// parseHeader parses the Python dict literal of a .npy header.
func parseHeader(s string) (header, error) {
	var h header
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return h, fmt.Errorf("%w: header is not a dict: %q", ErrFormat, trunc(s))
	}
	body := s[1 : len(s)-1]
	seen := map[string]bool{}
	for len(strings.TrimSpace(body)) > 0 {
		body = strings.TrimSpace(body)
		key, rest, err := quoted(body)
		if err != nil {
			return h, err
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return h, fmt.Errorf("%w: header: expected ':' after %q", ErrFormat, key)
		}
		rest = strings.TrimSpace(rest[1:])
		switch key {
		case "descr":
			h.descr, rest, err = quoted(rest)
			if err != nil {
				return h, err
			}
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "True"):
				h.fortran, rest = true, rest[4:]
			case strings.HasPrefix(rest, "False"):
				rest = rest[5:]
			default:
				return h, fmt.Errorf("%w: header: fortran_order", ErrFormat)
			}
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return h, fmt.Errorf("%w: header: shape is not a tuple", ErrFormat)
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return h, fmt.Errorf("%w: header: unterminated shape", ErrFormat)
			}
			h.shape = []int{}
			for _, f := range strings.Split(rest[1:end], ",") {
				f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "L"))
				if f == "" {
					continue
				}
				v, err := strconv.ParseInt(f, 10, 64)
				if err != nil || v < 0 || v > math.MaxInt32 {
					return h, fmt.Errorf("%w: header: shape entry %q", ErrFormat, f)
				}
				h.shape = append(h.shape, int(v))
			}
			rest = rest[end+1:]
		default:
			return h, fmt.Errorf("%w: header: unknown key %q", ErrFormat, key)
		}
		seen[key] = true
		rest = strings.TrimSpace(rest)
		rest = strings.TrimPrefix(rest, ",")
		body = rest
	}
	if !seen["descr"] || !seen["shape"] {
		return h, fmt.Errorf("%w: header lacks descr or shape", ErrFormat)
	}
	return h, nil
}

func quoted(s string) (string, string, error) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') {
		return "", "", fmt.Errorf("%w: header: expected a string at %q", ErrFormat, trunc(s))
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", "", fmt.Errorf("%w: header: unterminated string", ErrFormat)
	}
	return s[1 : 1+end], s[end+2:], nil
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// parseDescr maps a NumPy type string to a DType, element size and byte
// order.
func parseDescr(d string) (nn.DType, int, binary.ByteOrder, error) {
	if len(d) < 3 {
		return 0, 0, nil, fmt.Errorf("%w: dtype %q", ErrFormat, d)
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch d[0] {
	case '<', '|', '=':
	case '>':
		order = binary.BigEndian
	default:
		return 0, 0, nil, fmt.Errorf("%w: dtype %q", ErrFormat, d)
	}
	types := map[string]nn.DType{
		"f2": nn.Float16, "f4": nn.Float32, "f8": nn.Float64,
		"i1": nn.Int8, "i2": nn.Int16, "i4": nn.Int32, "i8": nn.Int64,
		"u1": nn.Uint8, "u2": nn.Uint16, "u4": nn.Uint32, "u8": nn.Uint64,
		"b1": nn.Bool,
	}
	dt, ok := types[d[1:]]
	if !ok {
		return 0, 0, nil, fmt.Errorf("%w: dtype %q", ErrFormat, d)
	}
	return dt, dt.Size(), order, nil
}

func decode(dt nn.DType, raw []byte, n int, o binary.ByteOrder) any {
	switch dt {
	case nn.Float32:
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(o.Uint32(raw[4*i:]))
		}
		return s
	case nn.Float64:
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Float64frombits(o.Uint64(raw[8*i:]))
		}
		return s
	case nn.Float16:
		s := make([]nn.Half, n)
		for i := range s {
			s[i] = nn.Half(o.Uint16(raw[2*i:]))
		}
		return s
	case nn.Int8:
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(raw[i])
		}
		return s
	case nn.Uint8:
		return append([]uint8(nil), raw[:n]...)
	case nn.Bool:
		s := make([]bool, n)
		for i := range s {
			s[i] = raw[i] != 0
		}
		return s
	case nn.Int16:
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(o.Uint16(raw[2*i:]))
		}
		return s
	case nn.Uint16:
		s := make([]uint16, n)
		for i := range s {
			s[i] = o.Uint16(raw[2*i:])
		}
		return s
	case nn.Int32:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(o.Uint32(raw[4*i:]))
		}
		return s
	case nn.Uint32:
		s := make([]uint32, n)
		for i := range s {
			s[i] = o.Uint32(raw[4*i:])
		}
		return s
	case nn.Int64:
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(o.Uint64(raw[8*i:]))
		}
		return s
	case nn.Uint64:
		s := make([]uint64, n)
		for i := range s {
			s[i] = o.Uint64(raw[8*i:])
		}
		return s
	}
	return nil
}

// fromFortran reorders column-major data into row-major.
func fromFortran(t *nn.Tensor) *nn.Tensor {
	r := len(t.Shape)
	out := &nn.Tensor{DType: t.DType, Shape: t.Shape, Data: nn.MakeData(t.DType, t.Len())}
	// Fortran strides: first dim fastest.
	fst := make([]int, r)
	acc := 1
	for i := 0; i < r; i++ {
		fst[i] = acc
		acc *= t.Shape[i]
	}
	pos := make([]int, r)
	n := t.Len()
	for k := 0; k < n; k++ {
		rem := k
		for d := r - 1; d >= 0; d-- {
			pos[d] = rem % t.Shape[d]
			rem /= t.Shape[d]
		}
		off := 0
		for d := 0; d < r; d++ {
			off += pos[d] * fst[d]
		}
		setFrom(out.Data, k, t.Data, off)
	}
	return out
}

func setFrom(dst any, i int, src any, j int) {
	switch d := dst.(type) {
	case []float32:
		d[i] = src.([]float32)[j]
	case []float64:
		d[i] = src.([]float64)[j]
	case []nn.Half:
		d[i] = src.([]nn.Half)[j]
	case []int8:
		d[i] = src.([]int8)[j]
	case []uint8:
		d[i] = src.([]uint8)[j]
	case []bool:
		d[i] = src.([]bool)[j]
	case []int16:
		d[i] = src.([]int16)[j]
	case []uint16:
		d[i] = src.([]uint16)[j]
	case []int32:
		d[i] = src.([]int32)[j]
	case []uint32:
		d[i] = src.([]uint32)[j]
	case []int64:
		d[i] = src.([]int64)[j]
	case []uint64:
		d[i] = src.([]uint64)[j]
	}
}

var descrs = map[nn.DType]string{
	nn.Float16: "<f2", nn.Float32: "<f4", nn.Float64: "<f8",
	nn.Int8: "|i1", nn.Int16: "<i2", nn.Int32: "<i4", nn.Int64: "<i8",
	nn.Uint8: "|u1", nn.Uint16: "<u2", nn.Uint32: "<u4", nn.Uint64: "<u8",
	nn.Bool: "|b1",
}

// Write writes t as a .npy file.
func Write(w io.Writer, t *nn.Tensor) error {
	if err := t.Validate(); err != nil {
		return err
	}
	descr, ok := descrs[t.DType]
	if !ok {
		return fmt.Errorf("%w: cannot write %v", ErrFormat, t.DType)
	}
	var sh strings.Builder
	sh.WriteString("(")
	for i, d := range t.Shape {
		if i > 0 {
			sh.WriteString(", ")
		}
		sh.WriteString(strconv.Itoa(d))
	}
	if len(t.Shape) == 1 {
		sh.WriteString(",")
	}
	sh.WriteString(")")
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, sh.String())
	// Pad so that data starts on a 64-byte boundary; header ends with \n.
	version, pre := byte(1), 10
	if len(dict)+1+pre > math.MaxUint16 {
		version, pre = 2, 12
	}
	total := pre + len(dict) + 1
	pad := (64 - total%64) % 64
	hdr := dict + strings.Repeat(" ", pad) + "\n"
	bw := bufio.NewWriter(w)
	bw.Write(magic)
	bw.Write([]byte{version, 0})
	if version == 1 {
		binary.Write(bw, binary.LittleEndian, uint16(len(hdr)))
	} else {
		binary.Write(bw, binary.LittleEndian, uint32(len(hdr)))
	}
	bw.WriteString(hdr)
	le := binary.LittleEndian
	var b [8]byte
	switch d := t.Data.(type) {
	case []float32:
		for _, v := range d {
			le.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:4])
		}
	case []float64:
		for _, v := range d {
			le.PutUint64(b[:], math.Float64bits(v))
			bw.Write(b[:8])
		}
	case []nn.Half:
		for _, v := range d {
			le.PutUint16(b[:], uint16(v))
			bw.Write(b[:2])
		}
	case []int8:
		for _, v := range d {
			bw.WriteByte(byte(v))
		}
	case []uint8:
		bw.Write(d)
	case []bool:
		for _, v := range d {
			if v {
				bw.WriteByte(1)
			} else {
				bw.WriteByte(0)
			}
		}
	case []int16:
		for _, v := range d {
			le.PutUint16(b[:], uint16(v))
			bw.Write(b[:2])
		}
	case []uint16:
		for _, v := range d {
			le.PutUint16(b[:], v)
			bw.Write(b[:2])
		}
	case []int32:
		for _, v := range d {
			le.PutUint32(b[:], uint32(v))
			bw.Write(b[:4])
		}
	case []uint32:
		for _, v := range d {
			le.PutUint32(b[:], v)
			bw.Write(b[:4])
		}
	case []int64:
		for _, v := range d {
			le.PutUint64(b[:], uint64(v))
			bw.Write(b[:8])
		}
	case []uint64:
		for _, v := range d {
			le.PutUint64(b[:], v)
			bw.Write(b[:8])
		}
	}
	return bw.Flush()
}
