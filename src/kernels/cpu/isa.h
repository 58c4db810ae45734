#pragma once
// Function attributes that compile one function for a wider instruction set than the
// build's baseline (x86-64-v3). Such a function may only be called once cpu_path()
// (core/cpu_features.h) says the CPU has the set. Attributes, not per-file flags: an
// inline function from a header instantiated in a file built with -mavx512f could be the
// copy the linker keeps for the whole program, and then run on a CPU without AVX-512.
// Lambdas do not inherit the attribute, so code in these functions uses none.

#define LR_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define LR_TARGET_AVX512BF16                                                \
  __attribute__((                                                           \
      target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16," \
             "avx512vnni")))
