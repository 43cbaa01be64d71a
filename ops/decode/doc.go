// Package decode turns encoded image files into packed 8-bit RGB pixels: JPEG (baseline,
// progressive, grayscale, CMYK/YCCK; EXIF orientation applied), PNG (8/16-bit, palette, alpha
// dropped as PIL's convert("RGB") does), GIF (first frame), BMP and WebP.
//
// JPEG goes through libjpeg-turbo (cgo, Debian libturbojpeg0-dev) when the build has cgo and not
// the tag noturbojpeg; otherwise, and for CMYK/YCCK files, through Go's image/jpeg. The image's
// size is read from its header and checked against Limits before any pixel buffer is allocated,
// so a decompression bomb is an error, not an out-of-memory.
package decode
