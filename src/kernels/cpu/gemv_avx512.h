#pragma once
// The AVX-512 dot products of the panel GEMVs (gemv_bf16_panels.cpp, gemv_q8_panels.cpp):
// the same products as their AVX2 loops, over 16-float vectors. Call only where cpu_path()
// allows (each says which).
#include <cstdint>

namespace lr {

// out[j] = row j of a 4-row bf16 panel (K % 16 == 0) . x, with x given as xs (each
// 16-chunk [evens, odds]); bit-identical to the AVX2 kernel. Path avx512 and up.
void gemv_panel_dot_bf16_avx512(const uint16_t* p, int K, const float* xs, float out[4]);

// out[j] = row j of a 4-row q8 panel of nb blocks . x, with x as int16 xq and one scale per
// block xs: int8 weights widened to int16 and multiplied by vpdpwssd (AVX512-VNNI, 256-bit);
// bit-identical to the AVX2 kernel. Path avx512bf16 (which has VNNI).
void gemv_panel_dot_q8_vnni(const uint8_t* p, int nb, const int16_t* xq, const float* xs,
                            float out[4]);

}  // namespace lr
