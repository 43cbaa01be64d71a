//go:build !cgo || noturbojpeg

package decode

// Backend names the JPEG decoder compiled in.
const Backend = "image/jpeg"

func decodeJPEG(data []byte) (*Image, error) { return decodeStd("jpeg", data) }
