#include "textflag.h"

DATA vhalf<>+0(SB)/4, $0x200000 // 1 << (precisionBits-1)
GLOBL vhalf<>(SB), RODATA|NOPTR, $4

// func vpass8(dst, src *uint8, offs *int, k *int32, n, blocks int)
// For each of `blocks` runs of 8 bytes: dst[i] = clip8(half + sum_t
// src[offs[t]+i]*k[t]) — the vertical pass of a resize (precisionBits 22,
// saturating to 0..255 as clip8 does).
TEXT ·vpass8(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), BX
	MOVQ k+24(FP), R8
	MOVQ n+32(FP), R9
	MOVQ blocks+40(FP), CX
	VPBROADCASTD vhalf<>(SB), Y15
	TESTQ CX, CX
	JEQ vpdone
	TESTQ R9, R9
	JEQ vpdone
vpblock:
	VMOVDQU Y15, Y0
	XORQ R10, R10
vptap:
	MOVQ (BX)(R10*8), R11
	VPMOVZXBD (SI)(R11*1), Y1
	VPBROADCASTD (R8)(R10*4), Y2
	VPMULLD Y2, Y1, Y1
	VPADDD Y1, Y0, Y0
	INCQ R10
	CMPQ R10, R9
	JLT vptap
	VPSRAD $22, Y0, Y0
	VPACKSSDW Y0, Y0, Y0
	VPERMQ $0x08, Y0, Y0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)
	ADDQ $8, DI
	ADDQ $8, SI
	DECQ CX
	JNE vpblock
vpdone:
	VZEROUPPER
	RET

// func hpass3(dst, row *uint8, bounds *int, k *int32, ksize, cw int)
// The horizontal pass of one RGB row over cw output pixels: pixel x sums
// taps t < n of input pixel xmin+t (bounds[2x] = xmin, bounds[2x+1] = n)
// weighted by k[x*ksize+t], per channel, from half, clipped as clip8. Each
// tap loads 4 bytes (one past the pixel) and each pixel stores 4 bytes
// (one past it): the caller guarantees both stay in bounds.
TEXT ·hpass3(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ row+8(FP), SI
	MOVQ bounds+16(FP), BX
	MOVQ k+24(FP), R8
	MOVQ ksize+32(FP), R9
	SHLQ $2, R9
	MOVQ cw+40(FP), CX
	VPBROADCASTD vhalf<>(SB), X15
	TESTQ CX, CX
	JEQ hpdone
hppix:
	MOVQ (BX), AX            // xmin
	MOVQ 8(BX), DX           // n
	LEAQ (AX)(AX*2), AX
	ADDQ SI, AX              // &row[3*xmin]
	MOVQ R8, R10             // taps
	VMOVDQU X15, X0
	TESTQ DX, DX
	JEQ hpstore
hptap:
	VPMOVZXBD (AX), X1
	VPBROADCASTD (R10), X2
	VPMULLD X2, X1, X1
	VPADDD X1, X0, X0
	ADDQ $3, AX
	ADDQ $4, R10
	DECQ DX
	JNE hptap
hpstore:
	VPSRAD $22, X0, X0
	VPACKSSDW X0, X0, X0
	VPACKUSWB X0, X0, X0
	MOVL X0, (DI)
	ADDQ $3, DI
	ADDQ $16, BX
	ADDQ R9, R8
	DECQ CX
	JNE hppix
hpdone:
	VZEROUPPER
	RET
