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

// func winoOut8(src *float32, ls, chunks int, dst *float32, ldd int, bias, lo, hi float32)
// src holds the 16 GEMM results of each tile, element ξ of tile t at
// src[ξ*ls + t]. For each of `chunks` runs of 8 tiles, computes the 2×2
// output Y = Aᵀ·m·A + bias, clamped to [lo, hi], and writes it as two
// interleaved rows: tile t's outputs at dst[2t], dst[2t+1] (row 0) and
// dst[ldd+2t], dst[ldd+2t+1].
TEXT ·winoOut8(SB), NOSPLIT, $0-52
	MOVQ src+0(FP), SI
	MOVQ ls+8(FP), BX
	SHLQ $2, BX
	MOVQ chunks+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ ldd+32(FP), DX
	SHLQ $2, DX
	VBROADCASTSS bias+40(FP), Y15
	VBROADCASTSS lo+44(FP), Y9
	VBROADCASTSS hi+48(FP), Y14
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
	VMAXPS Y9, Y10, Y10
	VMAXPS Y9, Y11, Y11
	VMAXPS Y9, Y12, Y12
	VMAXPS Y9, Y13, Y13
	VMINPS Y14, Y10, Y10
	VMINPS Y14, Y11, Y11
	VMINPS Y14, Y12, Y12
	VMINPS Y14, Y13, Y13
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

// Constants of the F(4×4, 3×3) transforms.
DATA wino43c<>+0(SB)/4, $0x40800000  // 4
DATA wino43c<>+4(SB)/4, $0x40a00000  // 5
DATA wino43c<>+8(SB)/4, $0x40000000  // 2
DATA wino43c<>+12(SB)/4, $0x41000000 // 8
GLOBL wino43c<>(SB), RODATA|NOPTR, $16

// BT43 applies Bᵀ (6×6) of F(4×4, 3×3) to z = Y0..Y5, with Y13 = 4,
// Y14 = 5, Y15 = 2: o0..o5 in Y6 Y10 Y11 Y12 Y8 Y7.
//   o0 = 4z0 - 5z2 + z4          o5 = 4z1 - 5z3 + z5
//   o1 = (z4 - 4z2) + (z3 - 4z1)  o2 = (z4 - 4z2) - (z3 - 4z1)
//   o3 = (z4 - z2) + 2(z3 - z1)   o4 = (z4 - z2) - 2(z3 - z1)
#define BT43 \
	VMOVAPS Y4, Y6; \
	VFMADD231PS Y13, Y0, Y6; \
	VFNMADD231PS Y14, Y2, Y6; \
	VMOVAPS Y5, Y7; \
	VFMADD231PS Y13, Y1, Y7; \
	VFNMADD231PS Y14, Y3, Y7; \
	VMOVAPS Y4, Y8; \
	VFNMADD231PS Y13, Y2, Y8; \
	VMOVAPS Y3, Y9; \
	VFNMADD231PS Y13, Y1, Y9; \
	VADDPS Y9, Y8, Y10; \
	VSUBPS Y9, Y8, Y11; \
	VSUBPS Y2, Y4, Y8; \
	VSUBPS Y1, Y3, Y9; \
	VMULPS Y15, Y9, Y9; \
	VADDPS Y9, Y8, Y12; \
	VSUBPS Y9, Y8, Y8

// func winoIn43(src *float32, ld, chunks int, dst *float32, xs int, tmp *float32)
// Input transform of F(4×4, 3×3) for `chunks` runs of 8 tiles of one
// channel and tile row. src holds the 6 padded input rows of the tile row,
// 4*ld floats apart, each as 4 phase rows ld floats apart (phase k holds
// padded columns 4j+k at j), so tile t reads row r as (P0[t], P1[t],
// P2[t], P3[t], P0[t+1], P1[t+1]). Element ξ = 6i+j of V = Bᵀ·d·B goes to
// dst[ξ*xs + t]. tmp is 36*8 floats of scratch.
TEXT ·winoIn43(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ ld+8(FP), BX
	SHLQ $2, BX              // phase row, bytes
	MOVQ chunks+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ xs+32(FP), R8
	SHLQ $2, R8              // ξ stride, bytes
	MOVQ tmp+40(FP), R12
	MOVQ BX, R13
	SHLQ $2, R13             // padded row, bytes
	LEAQ (R8)(R8*2), R11
	SHLQ $1, R11             // 6 ξ strides (next i)
	VBROADCASTSS wino43c<>+0(SB), Y13
	VBROADCASTSS wino43c<>+4(SB), Y14
	VBROADCASTSS wino43c<>+8(SB), Y15
	TESTQ CX, CX
	JEQ w43idone
w43ichunk:
	// rows: t[r][j] = (d[r]·B)[j] into tmp[(6r+j)*8]
	LEAQ (BX)(BX*2), R9
	MOVQ SI, AX
	MOVQ R12, DX
	MOVQ $6, R10
w43irow:
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(BX*1), Y1
	VMOVUPS (AX)(BX*2), Y2
	VMOVUPS (AX)(R9*1), Y3
	VMOVUPS 4(AX), Y4
	VMOVUPS 4(AX)(BX*1), Y5
	BT43
	VMOVUPS Y6, 0(DX)
	VMOVUPS Y10, 32(DX)
	VMOVUPS Y11, 64(DX)
	VMOVUPS Y12, 96(DX)
	VMOVUPS Y8, 128(DX)
	VMOVUPS Y7, 160(DX)
	ADDQ R13, AX
	ADDQ $192, DX
	DECQ R10
	JNE w43irow
	// columns: V[i][j] = (Bᵀ·t[·][j])[i] to dst[(6i+j)*xs]
	MOVQ R12, DX
	MOVQ DI, AX
	MOVQ $6, R10
w43icol:
	VMOVUPS 0(DX), Y0
	VMOVUPS 192(DX), Y1
	VMOVUPS 384(DX), Y2
	VMOVUPS 576(DX), Y3
	VMOVUPS 768(DX), Y4
	VMOVUPS 960(DX), Y5
	BT43
	MOVQ AX, R9
	VMOVUPS Y6, (R9)
	ADDQ R11, R9
	VMOVUPS Y10, (R9)
	ADDQ R11, R9
	VMOVUPS Y11, (R9)
	ADDQ R11, R9
	VMOVUPS Y12, (R9)
	ADDQ R11, R9
	VMOVUPS Y8, (R9)
	ADDQ R11, R9
	VMOVUPS Y7, (R9)
	ADDQ R8, AX
	ADDQ $32, DX
	DECQ R10
	JNE w43icol
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE w43ichunk
w43idone:
	VZEROUPPER
	RET

// AT43 applies Aᵀ (4×6) of F(4×4, 3×3) to z = Y0..Y5, with Y13 = 2,
// Y14 = 4, Y15 = 8: y0..y3 in Y0 Y1 Y4 Y5.
//   p = z1+z2, q = z1-z2, r = z3+z4, s = z3-z4
//   y0 = z0+p+r, y1 = q+2s, y2 = p+4r, y3 = q+8s+z5
#define AT43 \
	VADDPS Y2, Y1, Y6; \
	VSUBPS Y2, Y1, Y7; \
	VADDPS Y4, Y3, Y8; \
	VSUBPS Y4, Y3, Y9; \
	VADDPS Y6, Y0, Y0; \
	VADDPS Y8, Y0, Y0; \
	VMOVAPS Y7, Y1; \
	VFMADD231PS Y13, Y9, Y1; \
	VMOVAPS Y6, Y4; \
	VFMADD231PS Y14, Y8, Y4; \
	VADDPS Y7, Y5, Y5; \
	VFMADD231PS Y15, Y9, Y5

// func winoOut43(src *float32, ls, chunks int, dst *float32, ldd int, bias, lo, hi float32, tmp *float32)
// Output transform of F(4×4, 3×3) for `chunks` runs of 8 tiles of one
// output channel and tile row: element ξ = 6i+j of tile t's GEMM result is
// src[ξ*ls + t]; Y = Aᵀ·m·A + bias goes to 4 rows ldd floats apart, tile
// t's row a at dst[a*ldd + 4t : a*ldd + 4t + 4], clamped to [lo, hi].
// tmp is 40*8 floats.
TEXT ·winoOut43(SB), NOSPLIT, $0-64
	MOVQ src+0(FP), SI
	MOVQ ls+8(FP), BX
	SHLQ $2, BX              // ξ stride, bytes
	MOVQ chunks+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ ldd+32(FP), R8
	SHLQ $2, R8              // output row, bytes
	VBROADCASTSS bias+40(FP), Y12
	VBROADCASTSS lo+44(FP), Y10
	VBROADCASTSS hi+48(FP), Y11
	MOVQ tmp+56(FP), R13
	LEAQ (BX)(BX*2), R11
	SHLQ $1, R11             // 6 ξ strides (next i)
	VBROADCASTSS wino43c<>+8(SB), Y13
	VBROADCASTSS wino43c<>+0(SB), Y14
	VBROADCASTSS wino43c<>+12(SB), Y15
	TESTQ CX, CX
	JEQ w43odone
w43ochunk:
	// rows: u[i][b] = (m[i]·A)[b] into tmp[(4i+b)*8]
	LEAQ (BX)(BX*2), R9      // 3 ξ
	LEAQ (BX)(BX*4), R10     // 5 ξ
	MOVQ SI, AX
	MOVQ R13, DX
	MOVQ $6, R12
w43orow:
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(BX*1), Y1
	VMOVUPS (AX)(BX*2), Y2
	VMOVUPS (AX)(R9*1), Y3
	VMOVUPS (AX)(BX*4), Y4
	VMOVUPS (AX)(R10*1), Y5
	AT43
	VMOVUPS Y0, 0(DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y4, 64(DX)
	VMOVUPS Y5, 96(DX)
	ADDQ R11, AX
	ADDQ $128, DX
	DECQ R12
	JNE w43orow
	// columns: Y[a][b] = clamp((Aᵀ·u[·][b])[a] + bias) into tmp[(24+4a+b)*8]
	MOVQ R13, DX
	MOVQ $4, R12
w43ocol:
	VMOVUPS 0(DX), Y0
	VMOVUPS 128(DX), Y1
	VMOVUPS 256(DX), Y2
	VMOVUPS 384(DX), Y3
	VMOVUPS 512(DX), Y4
	VMOVUPS 640(DX), Y5
	AT43
	VADDPS Y12, Y0, Y0
	VADDPS Y12, Y1, Y1
	VADDPS Y12, Y4, Y4
	VADDPS Y12, Y5, Y5
	VMAXPS Y10, Y0, Y0
	VMAXPS Y10, Y1, Y1
	VMAXPS Y10, Y4, Y4
	VMAXPS Y10, Y5, Y5
	VMINPS Y11, Y0, Y0
	VMINPS Y11, Y1, Y1
	VMINPS Y11, Y4, Y4
	VMINPS Y11, Y5, Y5
	VMOVUPS Y0, 768(DX)
	VMOVUPS Y1, 896(DX)
	VMOVUPS Y4, 1024(DX)
	VMOVUPS Y5, 1152(DX)
	ADDQ $32, DX
	DECQ R12
	JNE w43ocol
	// rows of the output: interleave Y[a][0..3] of 8 tiles into 32 floats
	MOVQ R13, DX
	MOVQ DI, AX
	MOVQ $4, R12
w43ost:
	VMOVUPS 768(DX), Y0
	VMOVUPS 800(DX), Y1
	VMOVUPS 832(DX), Y2
	VMOVUPS 864(DX), Y3
	VUNPCKLPS Y1, Y0, Y4
	VUNPCKHPS Y1, Y0, Y5
	VUNPCKLPS Y3, Y2, Y6
	VUNPCKHPS Y3, Y2, Y7
	VUNPCKLPD Y6, Y4, Y0
	VUNPCKHPD Y6, Y4, Y1
	VUNPCKLPD Y7, Y5, Y2
	VUNPCKHPD Y7, Y5, Y3
	VPERM2F128 $0x20, Y1, Y0, Y4
	VPERM2F128 $0x20, Y3, Y2, Y5
	VPERM2F128 $0x31, Y1, Y0, Y6
	VPERM2F128 $0x31, Y3, Y2, Y7
	VMOVUPS Y4, 0(AX)
	VMOVUPS Y5, 32(AX)
	VMOVUPS Y6, 64(AX)
	VMOVUPS Y7, 96(AX)
	ADDQ $128, DX
	ADDQ R8, AX
	DECQ R12
	JNE w43ost
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ CX
	JNE w43ochunk
w43odone:
	VZEROUPPER
	RET

// func split4(dst, src *float32, ld, n32 int)
// The 4-way deinterleave of src[0 : 32*n32]: phase row k (dst + k*ld)
// gets src[4j+k] at j, 8 values per 32 floats of src.
TEXT ·split4(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), BX
	SHLQ $2, BX
	MOVQ n32+24(FP), CX
	LEAQ (BX)(BX*2), R9
	TESTQ CX, CX
	JEQ s4done
s4loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	// even/odd of each pair of vectors (as deinterleave2)
	VSHUFPS $0x88, Y1, Y0, Y4
	VSHUFPS $0xDD, Y1, Y0, Y5
	VPERMPD $0xD8, Y4, Y4    // src[0,2,..,14]
	VPERMPD $0xD8, Y5, Y5    // src[1,3,..,15]
	VSHUFPS $0x88, Y3, Y2, Y6
	VSHUFPS $0xDD, Y3, Y2, Y7
	VPERMPD $0xD8, Y6, Y6    // src[16,18,..,30]
	VPERMPD $0xD8, Y7, Y7    // src[17,19,..,31]
	// even/odd again: phases 0 and 2 from the evens, 1 and 3 from the odds
	VSHUFPS $0x88, Y6, Y4, Y0
	VSHUFPS $0xDD, Y6, Y4, Y2
	VPERMPD $0xD8, Y0, Y0
	VPERMPD $0xD8, Y2, Y2
	VSHUFPS $0x88, Y7, Y5, Y1
	VSHUFPS $0xDD, Y7, Y5, Y3
	VPERMPD $0xD8, Y1, Y1
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (DI)(BX*1)
	VMOVUPS Y2, (DI)(BX*2)
	VMOVUPS Y3, (DI)(R9*1)
	ADDQ $128, SI
	ADDQ $32, DI
	DECQ CX
	JNE s4loop
s4done:
	VZEROUPPER
	RET
