//go:build cgo && !noturbojpeg

package decode

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdlib.h>
#include <turbojpeg.h>
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// Backend names the JPEG decoder compiled in.
const Backend = "libjpeg-turbo"

// TurboJPEG handles are not safe for concurrent use; keep one per goroutine via a pool.
var handles = sync.Pool{New: func() any { return C.tjInitDecompress() }}

func decodeJPEG(data []byte) (*Image, error) {
	h := handles.Get().(C.tjhandle)
	if h == nil {
		return nil, fmt.Errorf("%w: libjpeg-turbo: cannot create a decoder", ErrCorrupt)
	}
	img, err := turboDecode(h, data)
	if err != nil {
		// A handle that failed may keep state from the failure: never reuse it.
		C.tjDestroy(h)
		return nil, err
	}
	handles.Put(h)
	return img, nil
}

func turboDecode(h C.tjhandle, data []byte) (*Image, error) {
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	var w, hh, subsamp, cs C.int
	if C.tjDecompressHeader3(h, src, C.ulong(len(data)), &w, &hh, &subsamp, &cs) != 0 {
		return nil, fmt.Errorf("%w: jpeg: %s", ErrCorrupt, tjErr(h))
	}
	if w <= 0 || hh <= 0 {
		return nil, fmt.Errorf("%w: jpeg of %dx%d pixels", ErrCorrupt, w, hh)
	}
	if cs == C.TJCS_CMYK || cs == C.TJCS_YCCK {
		// Adobe's inverted CMYK needs the APP14 transform; Go's decoder handles it.
		return decodeStd("jpeg", data)
	}
	img := &Image{Width: int(w), Height: int(hh), Pix: make([]uint8, 3*int(w)*int(hh))}
	if C.tjDecompress2(h, src, C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&img.Pix[0])), w, 0, hh, C.TJPF_RGB, 0) != 0 {
		if C.tjGetErrorCode(h) == C.TJERR_FATAL {
			return nil, fmt.Errorf("%w: jpeg: %s", ErrCorrupt, tjErr(h))
		}
		// A warning. Extraneous bytes and the like leave a usable image; a premature end does
		// not. libjpeg-turbo formats warnings into one buffer shared by all threads, which a
		// concurrent decode may be rewriting, so its text cannot decide: look at the data.
		if truncatedJPEG(data) {
			return nil, fmt.Errorf("%w: jpeg: premature end of data (no end-of-image marker after the last scan)", ErrCorrupt)
		}
	}
	return img, nil
}

func tjErr(h C.tjhandle) string { return C.GoString(C.tjGetErrorStr2(h)) }
