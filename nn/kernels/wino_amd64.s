#include "textflag.h"

// Vectorized Winograd F(2×2, 3×3) transforms, 8 tiles per ymm register
// (see winograd.go for the layouts and winoIn8Go / winoOut8Go for the
// same arithmetic in Go).

// func winoIn8(src *float32, ld, chunks int, dst *float32, xs int)
// src holds 8 rows ld floats apart: E0 O0 E1 O1 E2 O2 E3 O3, the even and
// odd columns of the 4 padded input rows of a tile row. Tile t reads
// d[r] = (E_r[t], O_r[t], E_r[t+1], O_r[t+1]). For each of `chunks` runs
// of 8 tiles, writes V = Bᵀ·d·B: element ξ = 4i+j of tile t to
// dst[ξ*xs + t].
TEXT ·winoIn8(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), SI
	MOVQ ld+8(FP), BX
	SHLQ $2, BX              // one row, bytes
	MOVQ chunks+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ xs+32(FP), R8
	SHLQ $2, R8              // ξ stride, bytes
	LEAQ (BX)(BX*2), R9      // three rows
	LEAQ (SI)(BX*4), R10     // E2
	MOVQ R8, R11
	SHLQ $2, R11             // 4 ξ strides (next i)
	LEAQ (R11)(R11*2), R12   // 12 ξ strides
	TESTQ CX, CX
	JEQ widone
wiloop:
	// column j = 0: t_r = E_r[t] - E_r[t+1]
	VMOVUPS (SI), Y0
	VSUBPS 4(SI), Y0, Y0
	VMOVUPS (SI)(BX*2), Y1
	VSUBPS 4(SI)(BX*2), Y1, Y1
	VMOVUPS (R10), Y2
	VSUBPS 4(R10), Y2, Y2
	VMOVUPS (R10)(BX*2), Y3
	VSUBPS 4(R10)(BX*2), Y3, Y3
	MOVQ DI, AX
	VSUBPS Y2, Y0, Y4
	VADDPS Y2, Y1, Y5
	VSUBPS Y1, Y2, Y6
	VSUBPS Y3, Y1, Y7
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, (AX)(R11*1)
	VMOVUPS Y6, (AX)(R11*2)
	VMOVUPS Y7, (AX)(R12*1)
	// column j = 1: t_r = O_r[t] + E_r[t+1]
	VMOVUPS (SI)(BX*1), Y0
	VADDPS 4(SI), Y0, Y0
	VMOVUPS (SI)(R9*1), Y1
	VADDPS 4(SI)(BX*2), Y1, Y1
	VMOVUPS (R10)(BX*1), Y2
	VADDPS 4(R10), Y2, Y2
	VMOVUPS (R10)(R9*1), Y3
	VADDPS 4(R10)(BX*2), Y3, Y3
	ADDQ R8, AX
	VSUBPS Y2, Y0, Y4
	VADDPS Y2, Y1, Y5
	VSUBPS Y1, Y2, Y6
	VSUBPS Y3, Y1, Y7
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, (AX)(R11*1)
	VMOVUPS Y6, (AX)(R11*2)
	VMOVUPS Y7, (AX)(R12*1)
	// column j = 2: t_r = E_r[t+1] - O_r[t]
	VMOVUPS 4(SI), Y0
	VSUBPS (SI)(BX*1), Y0, Y0
	VMOVUPS 4(SI)(BX*2), Y1
	VSUBPS (SI)(R9*1), Y1, Y1
	VMOVUPS 4(R10), Y2
	VSUBPS (R10)(BX*1), Y2, Y2
	VMOVUPS 4(R10)(BX*2), Y3
	VSUBPS (R10)(R9*1), Y3, Y3
	ADDQ R8, AX
	VSUBPS Y2, Y0, Y4
	VADDPS Y2, Y1, Y5
	VSUBPS Y1, Y2, Y6
	VSUBPS Y3, Y1, Y7
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, (AX)(R11*1)
	VMOVUPS Y6, (AX)(R11*2)
	VMOVUPS Y7, (AX)(R12*1)
	// column j = 3: t_r = O_r[t] - O_r[t+1]
	VMOVUPS (SI)(BX*1), Y0
	VSUBPS 4(SI)(BX*1), Y0, Y0
	VMOVUPS (SI)(R9*1), Y1
	VSUBPS 4(SI)(R9*1), Y1, Y1
	VMOVUPS (R10)(BX*1), Y2
	VSUBPS 4(R10)(BX*1), Y2, Y2
	VMOVUPS (R10)(R9*1), Y3
	VSUBPS 4(R10)(R9*1), Y3, Y3
	ADDQ R8, AX
	VSUBPS Y2, Y0, Y4
	VADDPS Y2, Y1, Y5
	VSUBPS Y1, Y2, Y6
	VSUBPS Y3, Y1, Y7
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, (AX)(R11*1)
	VMOVUPS Y6, (AX)(R11*2)
	VMOVUPS Y7, (AX)(R12*1)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, DI
	DECQ CX
	JNE wiloop
widone:
	VZEROUPPER
	RET

// func winoOut8(src *float32, ls, chunks int, dst *float32, ldd int, bias float32)
// src holds the 16 GEMM results of each tile, element ξ of tile t at
// src[ξ*ls + t]. For each of `chunks` runs of 8 tiles, computes the 2×2
// output Y = Aᵀ·m·A + bias and writes it as two interleaved rows: tile t's
// outputs at dst[2t], dst[2t+1] (row 0) and dst[ldd+2t], dst[ldd+2t+1].
TEXT ·winoOut8(SB), NOSPLIT, $0-44
	MOVQ src+0(FP), SI
	MOVQ ls+8(FP), BX
	SHLQ $2, BX
	MOVQ chunks+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ ldd+32(FP), DX
	SHLQ $2, DX
	VBROADCASTSS bias+40(FP), Y15
	LEAQ (BX)(BX*2), R9      // 3 ξ
	LEAQ (SI)(BX*4), R10     // ξ = 4
	LEAQ (R10)(BX*4), R11    // ξ = 8
	LEAQ (R11)(BX*4), R12    // ξ = 12
	TESTQ CX, CX
	JEQ wodone
woloop:
	// s_j = m0j + m1j + m2j (Y0 Y2 Y4 Y6), s_{4+j} = m1j - m2j - m3j (Y1 Y3 Y5 Y7)
	VMOVUPS (R10), Y1
	VMOVUPS (R11), Y8
	VADDPS (SI), Y1, Y0
	VADDPS Y8, Y0, Y0
	VSUBPS Y8, Y1, Y1
	VSUBPS (R12), Y1, Y1
	VMOVUPS (R10)(BX*1), Y3
	VMOVUPS (R11)(BX*1), Y8
	VADDPS (SI)(BX*1), Y3, Y2
	VADDPS Y8, Y2, Y2
	VSUBPS Y8, Y3, Y3
	VSUBPS (R12)(BX*1), Y3, Y3
	VMOVUPS (R10)(BX*2), Y5
	VMOVUPS (R11)(BX*2), Y8
	VADDPS (SI)(BX*2), Y5, Y4
	VADDPS Y8, Y4, Y4
	VSUBPS Y8, Y5, Y5
	VSUBPS (R12)(BX*2), Y5, Y5
	VMOVUPS (R10)(R9*1), Y7
	VMOVUPS (R11)(R9*1), Y8
	VADDPS (SI)(R9*1), Y7, Y6
	VADDPS Y8, Y6, Y6
	VSUBPS Y8, Y7, Y7
	VSUBPS (R12)(R9*1), Y7, Y7
	// y00 = s0+s1+s2, y01 = s1-s2-s3, y10 = s4+s5+s6, y11 = s5-s6-s7, + bias
	VADDPS Y2, Y0, Y10
	VADDPS Y4, Y10, Y10
	VADDPS Y15, Y10, Y10
	VSUBPS Y4, Y2, Y11
	VSUBPS Y6, Y11, Y11
	VADDPS Y15, Y11, Y11
	VADDPS Y3, Y1, Y12
	VADDPS Y5, Y12, Y12
	VADDPS Y15, Y12, Y12
	VSUBPS Y5, Y3, Y13
	VSUBPS Y7, Y13, Y13
	VADDPS Y15, Y13, Y13
	// interleave (y00, y01) into row 0 and (y10, y11) into row 1
	VUNPCKLPS Y11, Y10, Y0
	VUNPCKHPS Y11, Y10, Y1
	VPERM2F128 $0x20, Y1, Y0, Y2
	VPERM2F128 $0x31, Y1, Y0, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	VUNPCKLPS Y13, Y12, Y4
	VUNPCKHPS Y13, Y12, Y5
	VPERM2F128 $0x20, Y5, Y4, Y6
	VPERM2F128 $0x31, Y5, Y4, Y7
	VMOVUPS Y6, (DI)(DX*1)
	VMOVUPS Y7, 32(DI)(DX*1)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $64, DI
	DECQ CX
	JNE woloop
wodone:
	VZEROUPPER
	RET
