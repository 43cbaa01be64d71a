//go:build !amd64

package kernels

// depthwisePlaneFast runs a specialised kernel when one fits the shape and
// reports whether it did.
func depthwisePlaneFast(p ConvParams, ip *implicitPlan, xp, w []float32, bias float32, yp, scratch []float32) bool {
	return false
}

func depthwiseScratch(ip *implicitPlan) int { return 0 }

func maxWideFast(ip *implicitPlan, buf, wide []float32) bool { return false }
