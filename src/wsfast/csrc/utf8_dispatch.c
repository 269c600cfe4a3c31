/* Chooses the UTF-8 validation kernel once, from the CPU's features and the level allowed. */
#include "cpu.h"
#include "utf8.h"
#include "utf8_kernels.h"
#include "wsf_simd.h"

typedef int (*wsf_utf8_kernel)(wsf_utf8_state *s, const uint8_t *data, size_t len);

static wsf_utf8_kernel wsf_utf8_active = wsf_utf8_feed_scalar;
static int wsf_utf8_active_level = WSF_SIMD_SCALAR;

int wsf_utf8_select(int level) {
    level = wsf_cpu_cap_level(level);
    wsf_utf8_kernel kernel = wsf_utf8_feed_scalar;
#if defined(WSF_HAVE_X86_KERNELS)
    if (level >= WSF_SIMD_AVX512) {
        kernel = wsf_utf8_feed_avx512;
    } else if (level == WSF_SIMD_AVX2) {
        kernel = wsf_utf8_feed_avx2;
    } else if (level == WSF_SIMD_SSE2) {
        /* The 128-bit kernel needs pshufb (SSSE3) and ptest (SSE4.1), beyond the x86-64 baseline. */
        unsigned need = WSF_CPU_SSSE3 | WSF_CPU_SSE41;
        if ((wsf_cpu_features() & need) == need) kernel = wsf_utf8_feed_sse4;
        else level = WSF_SIMD_SCALAR;
    }
#elif defined(WSF_HAVE_NEON_KERNELS)
    if (level >= WSF_SIMD_NEON) { kernel = wsf_utf8_feed_neon; level = WSF_SIMD_NEON; }
#else
    level = WSF_SIMD_SCALAR;
#endif
    wsf_utf8_active = kernel;
    wsf_utf8_active_level = level;
    return level;
}

int wsf_utf8_level(void) { return wsf_utf8_active_level; }

int wsf_utf8_feed(wsf_utf8_state *s, const uint8_t *data, size_t len) {
    /* Short chunks: the scalar step is done before a vector kernel has set up. */
    if (len < 16) return wsf_utf8_feed_scalar(s, data, len);
    return wsf_utf8_active(s, data, len);
}

int wsf_utf8_valid(const uint8_t *data, size_t len) {
    wsf_utf8_state s;
    wsf_utf8_reset(&s);
    return wsf_utf8_feed(&s, data, len) && wsf_utf8_at_boundary(&s);
}
