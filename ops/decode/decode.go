package decode

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// Image is packed RGB: Pix[3*(y*Width+x)+c].
type Image struct {
	Width, Height int
	Pix           []uint8
}

// Limits bound what Decode accepts.
type Limits struct {
	MaxPixels int64 // width*height; default 100 megapixels
	MaxBytes  int64 // encoded size; default 256 MiB
}

// DefaultLimits are used for zero fields of Limits.
var DefaultLimits = Limits{MaxPixels: 100 << 20, MaxBytes: 256 << 20}

func (l Limits) withDefaults() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultLimits.MaxPixels
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	return l
}

// Format names the container of data from its first bytes ("jpeg", "png", "gif", "bmp", "webp"),
// or "" when unknown.
func Format(data []byte) string {
	switch {
	case len(data) >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff:
		return "jpeg"
	case len(data) >= 8 && string(data[:8]) == "\x89PNG\r\n\x1a\n":
		return "png"
	case len(data) >= 6 && (string(data[:6]) == "GIF87a" || string(data[:6]) == "GIF89a"):
		return "gif"
	case len(data) >= 2 && string(data[:2]) == "BM":
		return "bmp"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// Decode decodes data into RGB within the limits.
func Decode(data []byte, lim Limits) (*Image, error) {
	lim = lim.withDefaults()
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(data), lim.MaxBytes)
	}
	f := Format(data)
	if f == "" {
		return nil, fmt.Errorf("%w: unknown signature % x", ErrFormat, head(data))
	}
	cfg, err := config(f, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s header: %v", ErrCorrupt, f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s of %dx%d pixels", ErrCorrupt, f, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d = %d pixels (limit %d)", ErrTooLarge, cfg.Width, cfg.Height, px, lim.MaxPixels)
	}
	var img *Image
	if f == "jpeg" {
		img, err = decodeJPEG(data)
		if err == nil {
			img = applyOrientation(img, exifOrientation(data))
		}
	} else {
		img, err = decodeStd(f, data)
	}
	if err != nil {
		return nil, err
	}
	return img, nil
}

func head(b []byte) []byte {
	if len(b) > 8 {
		return b[:8]
	}
	return b
}

func config(f string, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch f {
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "png":
		return png.DecodeConfig(r)
	case "gif":
		return gif.DecodeConfig(r)
	case "bmp":
		return bmp.DecodeConfig(r)
	default:
		return webp.DecodeConfig(r)
	}
}

// decodeStd decodes with Go's decoders and converts to RGB.
func decodeStd(f string, data []byte) (*Image, error) {
	r := bytes.NewReader(data)
	var im image.Image
	var err error
	switch f {
	case "jpeg":
		im, err = jpeg.Decode(r)
	case "png":
		im, err = png.Decode(r)
	case "gif":
		im, err = gif.Decode(r) // the first frame
	case "bmp":
		im, err = bmp.Decode(r)
	default:
		im, err = webp.Decode(r)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, f, err)
	}
	return toRGB(im), nil
}

// toRGB drops alpha without compositing, as PIL's convert("RGB") does.
func toRGB(im image.Image) *Image {
	b := im.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &Image{Width: w, Height: h, Pix: make([]uint8, 3*w*h)}
	p := out.Pix
	switch s := im.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := s.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = r, g, bb
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+4*w]
			for x := 0; x < w; x++ {
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := s.Pix[y*s.Stride+x]
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = v, v, v
			}
		}
	case *image.Paletted:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				nc := color.NRGBAModel.Convert(s.Palette[s.Pix[y*s.Stride+x]]).(color.NRGBA)
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = nc.R, nc.G, nc.B
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBA64Model.Convert(im.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			}
		}
	}
	return out
}
