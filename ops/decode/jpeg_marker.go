package decode

import "bytes"

// truncatedJPEG reports whether data lacks an end-of-image marker (FF D9) after its last
// start-of-scan marker (FF DA). Inside entropy-coded data every FF is followed by 00 or a
// restart marker, so both are real markers there; an EOI earlier in the file (an EXIF
// thumbnail's) does not count.
func truncatedJPEG(data []byte) bool {
	sos := bytes.LastIndex(data, []byte{0xFF, 0xDA})
	return sos < 0 || bytes.LastIndex(data, []byte{0xFF, 0xD9}) < sos
}
