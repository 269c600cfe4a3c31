/* Run-time CPU feature detection: cpuid + xgetbv on x86-64 (the OS must have enabled the YMM/ZMM
 * state, not only the CPU support the instructions), NEON is always present on aarch64. */
#include "cpu.h"
#include "wsf_simd.h"

#if defined(WSF_X86_64)
#  if defined(_MSC_VER)
#    include <intrin.h>
static void wsf_cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    int regs[4];
    __cpuidex(regs, (int)leaf, (int)sub);
    r[0] = (unsigned)regs[0]; r[1] = (unsigned)regs[1]; r[2] = (unsigned)regs[2]; r[3] = (unsigned)regs[3];
}
static unsigned long long wsf_xgetbv(void) { return _xgetbv(0); }
#  else
#    include <cpuid.h>
static void wsf_cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static unsigned long long wsf_xgetbv(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#  endif

static unsigned wsf_detect(void) {
    unsigned r[4], features = WSF_CPU_SSE2; /* SSE2 is part of x86-64 */
    wsf_cpuid(0, 0, r);
    unsigned max_leaf = r[0];
    wsf_cpuid(1, 0, r);
    if (r[2] & (1u << 9)) features |= WSF_CPU_SSSE3;
    if (r[2] & (1u << 19)) features |= WSF_CPU_SSE41;
    int osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    if (!osxsave || !avx || max_leaf < 7) return features;
    unsigned long long xcr0 = wsf_xgetbv();
    int ymm_enabled = (xcr0 & 0x6) == 0x6;       /* XMM and YMM state */
    int zmm_enabled = (xcr0 & 0xe6) == 0xe6;     /* + opmask, ZMM_Hi256, Hi16_ZMM */
    wsf_cpuid(7, 0, r);
    if (ymm_enabled && (r[1] & (1u << 5))) features |= WSF_CPU_AVX2;
    unsigned need512 = (1u << 16) | (1u << 30) | (1u << 31); /* F, BW, VL */
    if (zmm_enabled && (features & WSF_CPU_AVX2) && (r[1] & need512) == need512) {
        features |= WSF_CPU_AVX512BW;
        if (r[2] & (1u << 1)) features |= WSF_CPU_AVX512VBMI;
    }
    return features;
}
#elif defined(WSF_ARM64)
static unsigned wsf_detect(void) { return WSF_CPU_NEON; }
#else
static unsigned wsf_detect(void) { return 0; }
#endif

static unsigned wsf_cached_features = ~0u;

unsigned wsf_cpu_features(void) {
    /* Racing first calls compute the same value, so no lock is needed. */
    if (wsf_cached_features == ~0u) wsf_cached_features = wsf_detect();
    return wsf_cached_features;
}

int wsf_cpu_max_level(void) {
    unsigned f = wsf_cpu_features();
#if defined(WSF_HAVE_X86_KERNELS)
    if (f & WSF_CPU_AVX512BW) return WSF_SIMD_AVX512;
    if (f & WSF_CPU_AVX2) return WSF_SIMD_AVX2;
    return WSF_SIMD_SSE2;
#elif defined(WSF_HAVE_NEON_KERNELS)
    (void)f;
    return WSF_SIMD_NEON;
#else
    (void)f;
    return WSF_SIMD_SCALAR;
#endif
}

int wsf_cpu_cap_level(int level) {
    int max = wsf_cpu_max_level();
    if (level > max) level = max;
    if (level < WSF_SIMD_SCALAR) level = WSF_SIMD_SCALAR;
    return level;
}

const char *wsf_simd_level_name(int level) {
    switch (level) {
    case WSF_SIMD_SCALAR: return "scalar";
#if defined(WSF_ARM64)
    case WSF_SIMD_NEON: return "neon";
#else
    case WSF_SIMD_SSE2: return "sse2";
#endif
    case WSF_SIMD_AVX2: return "avx2";
    case WSF_SIMD_AVX512: return "avx512";
    default: return "unknown";
    }
}
