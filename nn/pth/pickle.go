package pth

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// Python values as the unpickler builds them.
type (
	tuple  []any
	list   struct{ items []any }
	global struct{ module, name string }
	// dict keeps insertion order (state dicts are OrderedDicts).
	dict struct {
		keys []any
		vals map[any]any
	}
	// persistentRef is what a persistent id resolves to; see loader.persistent.
	persistentRef struct{ v any }
	// object is the result of calling an accepted global.
	object struct {
		class global
		args  tuple
		state any
	}
)

func newDict() *dict { return &dict{vals: map[any]any{}} }

func (d *dict) set(k, v any) error {
	switch k.(type) {
	case string, int64, bool, nil, float64:
	default:
		return fmt.Errorf("%w: dict key of type %T", ErrUnsupported, k)
	}
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
	return nil
}

type markT struct{}

var mark = markT{}

// unpickler runs the pickle opcodes of protocols 0–5 that checkpoints use.
type unpickler struct {
	data    []byte
	pos     int
	stack   []any
	memo    map[int]any
	persist func(pid any) (any, error)
	call    func(g global, args tuple) (any, error)
	maxMemo int
}

func (u *unpickler) errf(format string, args ...any) error {
	return fmt.Errorf("%w: pickle at byte %d: %s", ErrFormat, u.pos, fmt.Sprintf(format, args...))
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || u.pos+n > len(u.data) || u.pos+n < u.pos {
		return nil, u.errf("truncated (want %d bytes, %d left)", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) readLine() (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", u.errf("unterminated line")
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, u.errf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	if v == mark {
		return nil, u.errf("unexpected mark")
	}
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, u.errf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops everything above the topmost mark, and the mark.
func (u *unpickler) popMark() ([]any, error) {
	for i := len(u.stack) - 1; i >= 0; i-- {
		if u.stack[i] == mark {
			items := append([]any(nil), u.stack[i+1:]...)
			u.stack = u.stack[:i]
			return items, nil
		}
	}
	return nil, u.errf("no mark on the stack")
}

func (u *unpickler) memoize(idx int, v any) error {
	if idx < 0 || idx > u.maxMemo {
		return u.errf("memo index %d out of range", idx)
	}
	u.memo[idx] = v
	return nil
}

// run executes opcodes until STOP and returns the result.
func (u *unpickler) run() (any, error) {
	if u.memo == nil {
		u.memo = map[int]any{}
	}
	if u.maxMemo == 0 {
		u.maxMemo = 1 << 24
	}
	for {
		b, err := u.read(1)
		if err != nil {
			return nil, err
		}
		op := b[0]
		switch op {
		case 0x80: // PROTO
			if _, err := u.read(1); err != nil {
				return nil, err
			}
		case 0x95: // FRAME
			if _, err := u.read(8); err != nil {
				return nil, err
			}
		case '.': // STOP
			return u.pop()
		case '(': // MARK
			u.push(mark)
		case 'N':
			u.push(nil)
		case 0x88:
			u.push(true)
		case 0x89:
			u.push(false)
		case 'J': // BININT
			b, err := u.read(4)
			if err != nil {
				return nil, err
			}
			u.push(int64(int32(binary.LittleEndian.Uint32(b))))
		case 'K': // BININT1
			b, err := u.read(1)
			if err != nil {
				return nil, err
			}
			u.push(int64(b[0]))
		case 'M': // BININT2
			b, err := u.read(2)
			if err != nil {
				return nil, err
			}
			u.push(int64(binary.LittleEndian.Uint16(b)))
		case 0x8a, 0x8b: // LONG1, LONG4
			var n int
			if op == 0x8a {
				b, err := u.read(1)
				if err != nil {
					return nil, err
				}
				n = int(b[0])
			} else {
				b, err := u.read(4)
				if err != nil {
					return nil, err
				}
				n = int(int32(binary.LittleEndian.Uint32(b)))
			}
			b, err := u.read(n)
			if err != nil {
				return nil, err
			}
			v, err := decodeLong(b)
			if err != nil {
				return nil, u.errf("%v", err)
			}
			u.push(v)
		case 'I': // INT (protocol 0)
			s, err := u.readLine()
			if err != nil {
				return nil, err
			}
			switch s {
			case "00":
				u.push(false)
			case "01":
				u.push(true)
			default:
				var v int64
				if _, err := fmt.Sscan(s, &v); err != nil {
					return nil, u.errf("bad INT %q", s)
				}
				u.push(v)
			}
		case 'G': // BINFLOAT
			b, err := u.read(8)
			if err != nil {
				return nil, err
			}
			u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
			n, err := u.length(op == 0x8c, op == 0x8d)
			if err != nil {
				return nil, err
			}
			b, err := u.read(n)
			if err != nil {
				return nil, err
			}
			u.push(string(b))
		case 'T', 'U', 'B', 'C', 0x8e: // BINSTRING, SHORT_BINSTRING, BINBYTES, SHORT_BINBYTES, BINBYTES8
			n, err := u.length(op == 'U' || op == 'C', op == 0x8e)
			if err != nil {
				return nil, err
			}
			b, err := u.read(n)
			if err != nil {
				return nil, err
			}
			if op == 'T' || op == 'U' {
				u.push(string(b))
			} else {
				u.push(append([]byte(nil), b...))
			}
		case ')':
			u.push(tuple{})
		case ']':
			u.push(&list{})
		case '}':
			u.push(newDict())
		case 't': // TUPLE
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			u.push(tuple(items))
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			if len(u.stack) < n {
				return nil, u.errf("stack underflow")
			}
			items := append(tuple(nil), u.stack[len(u.stack)-n:]...)
			for _, it := range items {
				if it == mark {
					return nil, u.errf("unexpected mark")
				}
			}
			u.stack = u.stack[:len(u.stack)-n]
			u.push(items)
		case 'l': // LIST
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			u.push(&list{items: items})
		case 'd': // DICT
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			d := newDict()
			if err := setItems(d, items); err != nil {
				return nil, u.errf("%v", err)
			}
			u.push(d)
		case 'a': // APPEND
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			if err := u.appendTo([]any{v}); err != nil {
				return nil, err
			}
		case 'e': // APPENDS
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if err := u.appendTo(items); err != nil {
				return nil, err
			}
		case 's': // SETITEM
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			k, err := u.pop()
			if err != nil {
				return nil, err
			}
			if err := u.setItems([]any{k, v}); err != nil {
				return nil, err
			}
		case 'u': // SETITEMS
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if err := u.setItems(items); err != nil {
				return nil, err
			}
		case 'q', 'r': // BINPUT, LONG_BINPUT
			idx, err := u.index(op == 'q')
			if err != nil {
				return nil, err
			}
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			if err := u.memoize(idx, v); err != nil {
				return nil, err
			}
		case 0x94: // MEMOIZE
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			if err := u.memoize(len(u.memo), v); err != nil {
				return nil, err
			}
		case 'h', 'j': // BINGET, LONG_BINGET
			idx, err := u.index(op == 'h')
			if err != nil {
				return nil, err
			}
			v, ok := u.memo[idx]
			if !ok {
				return nil, u.errf("memo %d not set", idx)
			}
			u.push(v)
		case 'p': // PUT (protocol 0)
			s, err := u.readLine()
			if err != nil {
				return nil, err
			}
			var idx int
			if _, err := fmt.Sscan(s, &idx); err != nil {
				return nil, u.errf("bad PUT %q", s)
			}
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			if err := u.memoize(idx, v); err != nil {
				return nil, err
			}
		case 'g': // GET (protocol 0)
			s, err := u.readLine()
			if err != nil {
				return nil, err
			}
			var idx int
			if _, err := fmt.Sscan(s, &idx); err != nil {
				return nil, u.errf("bad GET %q", s)
			}
			v, ok := u.memo[idx]
			if !ok {
				return nil, u.errf("memo %d not set", idx)
			}
			u.push(v)
		case 'c': // GLOBAL
			mod, err := u.readLine()
			if err != nil {
				return nil, err
			}
			name, err := u.readLine()
			if err != nil {
				return nil, err
			}
			u.push(global{mod, name})
		case 0x93: // STACK_GLOBAL
			name, err := u.pop()
			if err != nil {
				return nil, err
			}
			mod, err := u.pop()
			if err != nil {
				return nil, err
			}
			ms, ok1 := mod.(string)
			ns, ok2 := name.(string)
			if !ok1 || !ok2 {
				return nil, u.errf("STACK_GLOBAL needs two strings")
			}
			u.push(global{ms, ns})
		case 'Q': // BINPERSID
			pid, err := u.pop()
			if err != nil {
				return nil, err
			}
			if u.persist == nil {
				return nil, u.errf("persistent id without a loader")
			}
			v, err := u.persist(pid)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'R', 0x81: // REDUCE, NEWOBJ
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			fn, err := u.pop()
			if err != nil {
				return nil, err
			}
			g, ok := fn.(global)
			if !ok {
				return nil, u.errf("call of a %T", fn)
			}
			t, ok := args.(tuple)
			if !ok {
				return nil, u.errf("call arguments are a %T, not a tuple", args)
			}
			v, err := u.call(g, t)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'b': // BUILD
			state, err := u.pop()
			if err != nil {
				return nil, err
			}
			obj, err := u.top()
			if err != nil {
				return nil, err
			}
			if o, ok := obj.(*object); ok {
				o.state = state
			}
			// Other targets (OrderedDict's _metadata, a tensor's hooks) carry nothing we use.
		case '0': // POP
			if _, err := u.pop(); err != nil {
				return nil, err
			}
		case '1': // POP_MARK
			if _, err := u.popMark(); err != nil {
				return nil, err
			}
		case '2': // DUP
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			u.push(v)
		default:
			return nil, u.errf("unsupported opcode 0x%02x", op)
		}
	}
}

func (u *unpickler) length(short, long bool) (int, error) {
	switch {
	case short:
		b, err := u.read(1)
		if err != nil {
			return 0, err
		}
		return int(b[0]), nil
	case long:
		b, err := u.read(8)
		if err != nil {
			return 0, err
		}
		n := binary.LittleEndian.Uint64(b)
		if n > uint64(len(u.data)) {
			return 0, u.errf("length %d beyond the file", n)
		}
		return int(n), nil
	}
	b, err := u.read(4)
	if err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint32(b)), nil
}

func (u *unpickler) index(short bool) (int, error) {
	if short {
		b, err := u.read(1)
		if err != nil {
			return 0, err
		}
		return int(b[0]), nil
	}
	b, err := u.read(4)
	if err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint32(b)), nil
}

func (u *unpickler) appendTo(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	l, ok := t.(*list)
	if !ok {
		return u.errf("append to a %T", t)
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItems(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	d, ok := t.(*dict)
	if !ok {
		return u.errf("setitem on a %T", t)
	}
	if err := setItems(d, items); err != nil {
		return u.errf("%v", err)
	}
	return nil
}

func setItems(d *dict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of dict items")
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer: an int64 when it fits, else a *big.Int.
func decodeLong(b []byte) (any, error) {
	if len(b) == 0 {
		return int64(0), nil
	}
	if len(b) <= 8 {
		var x uint64
		for i := len(b) - 1; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		shift := uint(64 - 8*len(b))
		return int64(x<<shift) >> shift, nil
	}
	if len(b) > 1<<16 {
		return nil, fmt.Errorf("integer of %d bytes", len(b))
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64(), nil
	}
	return v, nil
}
