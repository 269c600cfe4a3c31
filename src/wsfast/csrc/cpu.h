/* Run-time CPU feature detection, shared by every hot path. */
#ifndef WSF_CPU_H
#define WSF_CPU_H

/* SIMD levels, in increasing order on each architecture. A hot path runs the widest kernel whose
 * level is <= min(what the CPU supports, what the user allows). */
enum wsf_simd_level {
    WSF_SIMD_SCALAR = 0, /* portable word-at-a-time C */
    WSF_SIMD_SSE2 = 1,   /* x86-64 baseline (SSE4.1/SSSE3 where a kernel needs them) */
    WSF_SIMD_NEON = 1,   /* aarch64 baseline */
    WSF_SIMD_AVX2 = 2,
    WSF_SIMD_AVX512 = 3  /* AVX-512 F + BW + VL, with the OS saving the ZMM state */
};

/* Feature bits reported by wsf_cpu_features(). */
#define WSF_CPU_SSE2      (1u << 0)
#define WSF_CPU_SSSE3     (1u << 1)
#define WSF_CPU_SSE41     (1u << 2)
#define WSF_CPU_AVX2      (1u << 3)
#define WSF_CPU_AVX512BW  (1u << 4) /* F, BW and VL together */
#define WSF_CPU_AVX512VBMI (1u << 5)
#define WSF_CPU_NEON      (1u << 6)

unsigned wsf_cpu_features(void);

/* The widest level of enum wsf_simd_level that this CPU and OS support. A kernel that needs more
 * than its level's baseline (SSSE3 at the SSE2 level, say) checks wsf_cpu_features() itself. */
int wsf_cpu_max_level(void);

/* level, capped to what this CPU supports (and raised to WSF_SIMD_SCALAR if below). */
int wsf_cpu_cap_level(int level);

/* The name of a level on this architecture: "scalar", "sse2", "avx2", "avx512", "neon". */
const char *wsf_simd_level_name(int level);

#endif /* WSF_CPU_H */
