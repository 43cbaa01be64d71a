// CUDA kernels of Sluice's GPU backend (package gpu). Compiled to PTX by
// `go generate ./gpu` (see gpu/generate.go); the PTX is committed and
// embedded, so a normal build needs no nvcc. Every kernel is extern "C" so
// that its PTX name is the plain name the Go side loads.
//
// Conventions: float32 NCHW tensors; sizes are int (the Go side checks that
// element counts fit); every kernel is a grid-stride loop over its output,
// so any grid size is correct. act: 0 none, 1 Relu, 2 Clip(lo, hi),
// 3 LeakyRelu(alpha = lo).

#include <float.h>

__device__ __forceinline__ float activate(float v, int act, float lo, float hi) {
	switch (act) {
	case 1:
		return v > 0.f ? v : 0.f;
	case 2:
		return fminf(fmaxf(v, lo), hi);
	case 3:
		return v < 0.f ? v * lo : v;
	}
	return v;
}

#define GRID_LOOP(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)blockDim.x * gridDim.x)

extern "C" {

// im2col for a chunk of nb images starting at image n0: col[k][img*P + p]
// with k = (c*KH + ky)*KW + kx, P = OH*OW.
__global__ void im2col(const float* __restrict__ x, float* __restrict__ col, int n0, int nb, int C, int H, int W,
		int KH, int KW, int OH, int OW, int sh, int sw, int ph, int pw, int dh, int dw) {
	long long P = (long long)OH * OW;
	long long cols = (long long)nb * P;
	long long total = (long long)C * KH * KW * cols;
	GRID_LOOP(i, total) {
		long long k = i / cols;
		long long j = i - k * cols;
		int img = (int)(j / P);
		int p = (int)(j - (long long)img * P);
		int oy = p / OW, ox = p - (p / OW) * OW;
		int kx = (int)(k % KW);
		int ky = (int)((k / KW) % KH);
		int c = (int)(k / ((long long)KW * KH));
		int iy = oy * sh - ph + ky * dh;
		int ix = ox * sw - pw + kx * dw;
		float v = 0.f;
		if (iy >= 0 && iy < H && ix >= 0 && ix < W)
			v = x[(((long long)(n0 + img) * C + c) * H + iy) * W + ix];
		col[i] = v;
	}
}

// Conv epilogue of the wide layout: tmp is the GEMM result [M][nb*P] of images n0..n0+nb;
// y[n0+img][m][p] = act(tmp + bias[m] + res[n0+img][m][p]). bias and res
// may be null. When inplace is set, tmp and y are one [nb][M][P] buffer
// (nb == 1) and the element is updated where it lies.
__global__ void conv_epilogue_wide(const float* tmp, float* y, const float* __restrict__ bias,
		const float* __restrict__ res, int n0, int nb, int M, int P, int act, float lo, float hi) {
	long long total = (long long)nb * M * P;
	GRID_LOOP(i, total) {
		int p = (int)(i % P);
		int m = (int)((i / P) % M);
		int img = (int)(i / ((long long)P * M));
		float v = tmp[((long long)m * nb + img) * P + p];
		if (bias) v += bias[m];
		long long o = ((long long)(n0 + img) * M + m) * P + p;
		if (res) v += res[o];
		y[o] = activate(v, act, lo, hi);
	}
}

// Conv epilogue in place over n elements of [.][M][P]:
// y = act(y + bias[m] + res). bias and res may be null.
__global__ void conv_epilogue(float* y, const float* __restrict__ bias, const float* __restrict__ res, long long n,
		int M, int P, int act, float lo, float hi) {
	GRID_LOOP(i, n) {
		float v = y[i];
		if (bias) v += bias[(int)((i / P) % M)];
		if (res) v += res[i];
		y[i] = activate(v, act, lo, hi);
	}
}

// Direct convolution (2-D), used for grouped and depthwise convolutions:
// one thread per output element.
__global__ void conv_direct(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
		const float* __restrict__ res, float* __restrict__ y, int N, int C, int H, int W, int M, int G, int KH, int KW,
		int OH, int OW, int sh, int sw, int ph, int pw, int dh, int dw, int act, float lo, float hi) {
	long long total = (long long)N * M * OH * OW;
	int cg = C / G, mg = M / G;
	GRID_LOOP(i, total) {
		int ox = (int)(i % OW);
		int oy = (int)((i / OW) % OH);
		int m = (int)((i / ((long long)OW * OH)) % M);
		int n = (int)(i / ((long long)OW * OH * M));
		int g = m / mg;
		float acc = 0.f;
		const float* wm = w + (long long)m * cg * KH * KW;
		for (int c = 0; c < cg; c++) {
			const float* xc = x + ((long long)n * C + g * cg + c) * H * W;
			for (int ky = 0; ky < KH; ky++) {
				int iy = oy * sh - ph + ky * dh;
				if (iy < 0 || iy >= H) continue;
				for (int kx = 0; kx < KW; kx++) {
					int ix = ox * sw - pw + kx * dw;
					if (ix < 0 || ix >= W) continue;
					acc += xc[iy * W + ix] * wm[(c * KH + ky) * KW + kx];
				}
			}
		}
		if (bias) acc += bias[m];
		if (res) acc += res[i];
		y[i] = activate(acc, act, lo, hi);
	}
}

// 2-D max/average pooling over [NC][H][W] planes, ONNX semantics (pads,
// dilations, count_include_pad counted over the window clipped to the
// padded input).
__global__ void pool2d(const float* __restrict__ x, float* __restrict__ y, int NC, int H, int W, int OH, int OW,
		int KH, int KW, int sh, int sw, int pt, int pl, int pb, int pr, int dh, int dw, int isMax, int includePad) {
	long long total = (long long)NC * OH * OW;
	GRID_LOOP(i, total) {
		int ox = (int)(i % OW);
		int oy = (int)((i / OW) % OH);
		long long nc = i / ((long long)OW * OH);
		const float* xp = x + nc * H * W;
		int y0 = oy * sh - pt, x0 = ox * sw - pl;
		float best = -FLT_MAX;
		int found = 0;
		float sum = 0.f;
		int cnt = 0;
		for (int ky = 0; ky < KH; ky++) {
			int iy = y0 + ky * dh;
			if (iy < 0 || iy >= H) continue;
			for (int kx = 0; kx < KW; kx++) {
				int ix = x0 + kx * dw;
				if (ix < 0 || ix >= W) continue;
				float v = xp[iy * W + ix];
				if (!found || v > best) best = v;
				found = 1;
				sum += v;
				cnt++;
			}
		}
		if (isMax) {
			y[i] = found ? best : -INFINITY;
		} else {
			int div = cnt;
			if (includePad) {
				int hy = min(y0 + (KH - 1) * dh + 1, H + pb);
				int hx = min(x0 + (KW - 1) * dw + 1, W + pr);
				div = ((hy - y0 + dh - 1) / dh) * ((hx - x0 + dw - 1) / dw);
			}
			y[i] = div > 0 ? sum / (float)div : 0.f;
		}
	}
}

// Per-plane reduction (one block per plane of n elements): mode 0 mean
// (GlobalAveragePool), 1 max (GlobalMaxPool). Block size 256.
__global__ void plane_reduce(const float* __restrict__ x, float* __restrict__ y, int n, int mode) {
	__shared__ float sh[256];
	const float* xp = x + (long long)blockIdx.x * n;
	float acc = mode == 1 ? -INFINITY : 0.f;
	for (int i = threadIdx.x; i < n; i += blockDim.x) {
		float v = xp[i];
		acc = mode == 1 ? fmaxf(acc, v) : acc + v;
	}
	sh[threadIdx.x] = acc;
	__syncthreads();
	for (int s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s) sh[threadIdx.x] = mode == 1 ? fmaxf(sh[threadIdx.x], sh[threadIdx.x + s]) : sh[threadIdx.x] + sh[threadIdx.x + s];
		__syncthreads();
	}
	if (threadIdx.x == 0) y[blockIdx.x] = mode == 1 ? sh[0] : sh[0] / (float)n;
}

// InstanceNormalization in three kernels, so that a few large planes still
// fill the GPU. in_partial: block b reduces chunk b % nchunks of plane
// b / nchunks (chunk elements) to a sum and a sum of squares in double.
// Block size 256.
__global__ void in_partial(const float* __restrict__ x, double* __restrict__ part, int sp, int chunk, int nchunks) {
	__shared__ double s1[256];
	__shared__ double s2[256];
	long long b = blockIdx.x;
	long long plane = b / nchunks;
	int j = (int)(b - plane * nchunks);
	const float* xp = x + plane * sp;
	int lo = j * chunk, hi = min(sp, lo + chunk);
	double a = 0, q = 0;
	for (int i = lo + threadIdx.x; i < hi; i += blockDim.x) {
		double v = xp[i];
		a += v;
		q += v * v;
	}
	s1[threadIdx.x] = a;
	s2[threadIdx.x] = q;
	__syncthreads();
	for (int s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s) {
			s1[threadIdx.x] += s1[threadIdx.x + s];
			s2[threadIdx.x] += s2[threadIdx.x + s];
		}
		__syncthreads();
	}
	if (threadIdx.x == 0) {
		part[2 * b] = s1[0];
		part[2 * b + 1] = s2[0];
	}
}

// in_final: per plane, the scale a and shift b of y = x*a + b from the
// partial sums (population variance, epsilon, the channel's scale and bias).
__global__ void in_final(const double* __restrict__ part, float* __restrict__ ab, const float* __restrict__ scale,
		const float* __restrict__ bias, int planes, int C, int sp, int nchunks, float eps) {
	GRID_LOOP(p, planes) {
		double s = 0, q = 0;
		for (int j = 0; j < nchunks; j++) {
			s += part[2 * (p * nchunks + j)];
			q += part[2 * (p * nchunks + j) + 1];
		}
		double mean = s / sp;
		double var = q / sp - mean * mean;
		if (var < 0) var = 0;
		double inv = 1.0 / sqrt(var + (double)eps);
		int c = (int)(p % C);
		ab[2 * p] = (float)(scale[c] * inv);
		ab[2 * p + 1] = (float)(bias[c] - mean * scale[c] * inv);
	}
}

// in_apply: y = act(x*a[plane] + b[plane]) over n elements, sp per plane.
__global__ void in_apply(const float* __restrict__ x, float* __restrict__ y, const float* __restrict__ ab, int sp,
		long long n, int act, float lo, float hi) {
	GRID_LOOP(i, n) {
		long long p = i / sp;
		y[i] = activate(x[i] * ab[2 * p] + ab[2 * p + 1], act, lo, hi);
	}
}

// Per-channel affine y = x*a[c] + b[c] over [N][C][sp] (BatchNormalization
// with precomputed a, b), with an activation.
__global__ void channel_affine(const float* __restrict__ x, float* __restrict__ y, const float* __restrict__ a,
		const float* __restrict__ b, int C, int sp, long long total, int act, float lo, float hi) {
	GRID_LOOP(i, total) {
		int c = (int)((i / sp) % C);
		y[i] = activate(x[i] * a[c] + b[c], act, lo, hi);
	}
}

// Unary activation over n elements: act codes as above plus 4 Sigmoid,
// 5 Tanh.
__global__ void unary(const float* __restrict__ x, float* __restrict__ y, long long n, int act, float lo, float hi) {
	GRID_LOOP(i, n) {
		float v = x[i];
		if (act == 4) v = 1.f / (1.f + expf(-v));
		else if (act == 5) v = tanhf(v);
		else v = activate(v, act, lo, hi);
		y[i] = v;
	}
}

// Broadcast binary op on 4 dims (shapes left-padded with 1): op 0 add,
// 1 sub, 2 mul, 3 div; then an activation. a0..a3 / b0..b3 are the element
// strides of a and b per output dim (0 where broadcast); d0..d3 is the
// output shape.
__global__ void binary(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y, long long n,
		int d0, int d1, int d2, int d3, int a0, int a1, int a2, int a3, int b0, int b1, int b2, int b3,
		int op, int act, float lo, float hi) {
	GRID_LOOP(i, n) {
		int q3 = (int)(i % d3);
		long long r = i / d3;
		int q2 = (int)(r % d2);
		r /= d2;
		int q1 = (int)(r % d1);
		int q0 = (int)(r / d1);
		(void)d0;
		long long ia = (long long)q0 * a0 + (long long)q1 * a1 + (long long)q2 * a2 + (long long)q3 * a3;
		long long ib = (long long)q0 * b0 + (long long)q1 * b1 + (long long)q2 * b2 + (long long)q3 * b3;
		float u = a[ia], v = b[ib], w;
		switch (op) {
		case 0: w = u + v; break;
		case 1: w = u - v; break;
		case 2: w = u * v; break;
		default: w = u / v; break;
		}
		y[i] = activate(w, act, lo, hi);
	}
}

// Same-shape add with activation (the common residual case).
__global__ void add_same(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y, long long n,
		int act, float lo, float hi) {
	GRID_LOOP(i, n) y[i] = activate(a[i] + b[i], act, lo, hi);
}

// Strided block copy for Concat: the input viewed as [outer][inner] is
// copied to the output viewed as [outer][outInner] at column offset off.
__global__ void copy_block(const float* __restrict__ x, float* __restrict__ y, long long outer, long long inner,
		long long outInner, long long off) {
	long long total = outer * inner;
	GRID_LOOP(i, total) {
		long long o = i / inner;
		long long j = i - o * inner;
		y[o * outInner + off + j] = x[i];
	}
}

// Gather by per-dimension index maps over 4 dims (left-padded with 1):
// maps holds, for dims 0..3 in order, the source index of each output
// coordinate (-1: outside, the element is cval); o0..o3 is the output shape
// and s0..s3 the input's element strides. Used by Pad (constant, reflect,
// edge) and nearest Resize/Upsample.
__global__ void gather4(const float* __restrict__ x, float* __restrict__ y, const int* __restrict__ maps, long long n,
		int o0, int o1, int o2, int o3, int s0, int s1, int s2, int s3, float cval) {
	GRID_LOOP(i, n) {
		int q3 = (int)(i % o3);
		long long r = i / o3;
		int q2 = (int)(r % o2);
		r /= o2;
		int q1 = (int)(r % o1);
		int q0 = (int)(r / o1);
		int i0 = maps[q0], i1 = maps[o0 + q1], i2 = maps[o0 + o1 + q2], i3 = maps[o0 + o1 + o2 + q3];
		if (i0 < 0 || i1 < 0 || i2 < 0 || i3 < 0) {
			y[i] = cval;
		} else {
			y[i] = x[(long long)i0 * s0 + (long long)i1 * s1 + (long long)i2 * s2 + (long long)i3 * s3];
		}
	}
}

// Broadcast-fill y[M][N] with beta*c (c viewed as [cr][cc], cr in {1, M},
// cc in {1, N}), the C term of Gemm before cuBLAS adds alpha*A*B.
__global__ void gemm_bias(const float* __restrict__ c, float* __restrict__ y, int M, int N, int cr, int cc, float beta) {
	long long total = (long long)M * N;
	GRID_LOOP(i, total) {
		int m = (int)(i / N), n = (int)(i % N);
		y[i] = beta * c[(cr > 1 ? m : 0) * cc + (cc > 1 ? n : 0)];
	}
}

// Fill n floats with v.
__global__ void fill(float* y, long long n, float v) {
	GRID_LOOP(i, n) y[i] = v;
}

} // extern "C"
