// Package preprocess turns decoded RGB images into model input tensors: resize (bilinear with
// antialiasing, computed exactly as PIL's Image.resize does it — separable passes in 22-bit fixed
// point, rounded to 8 bits after each pass — so results match torchvision on PIL images), center
// crop, scale, per-channel mean/std, channel order (RGB/BGR) and layout (CHW/HWC). With a center
// crop only the crop window is resampled (ResizeWindow). On amd64 with AVX2 both passes run in
// assembly (vpass_amd64.s); the arithmetic is integer, so the bytes are the Go loops' bytes, and
// ~5× faster for a 600×800 image (BenchmarkResizeWindow).
//
// Presets: "torchvision" (shorter side to 256, center crop 224, ImageNet mean/std, CHW),
// "inception" (299×299, values in [0, 1] as the original Azure sample fed them) and
// "inception-tf" (299×299, values in [-1, 1]). A free spec is written as comma-separated key=value
// pairs, e.g. "resize=256,crop=224,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,layout=chw,order=rgb".
package preprocess
