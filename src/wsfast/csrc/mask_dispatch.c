/* Chooses the masking kernel once, from the CPU's features and the level the user allows. */
#include "cpu.h"
#include "mask.h"
#include "wsf_simd.h"

static wsf_mask_kernel wsf_mask_active = wsf_mask_scalar;
static int wsf_mask_active_level = WSF_SIMD_SCALAR;

int wsf_mask_select(int level) {
    level = wsf_cpu_cap_level(level);
    wsf_mask_kernel kernel = wsf_mask_scalar;
#if defined(WSF_HAVE_X86_KERNELS)
    if (level >= WSF_SIMD_AVX512) kernel = wsf_mask_avx512;
    else if (level == WSF_SIMD_AVX2) kernel = wsf_mask_avx2;
    else if (level == WSF_SIMD_SSE2) kernel = wsf_mask_sse2;
#elif defined(WSF_HAVE_NEON_KERNELS)
    if (level >= WSF_SIMD_NEON) { kernel = wsf_mask_neon; level = WSF_SIMD_NEON; }
#else
    level = WSF_SIMD_SCALAR;
#endif
    wsf_mask_active = kernel;
    wsf_mask_active_level = level;
    return level;
}

int wsf_mask_level(void) { return wsf_mask_active_level; }

void wsf_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase) {
    uint32_t k;
    memcpy(&k, key, 4);
    k = wsf_rotate_key(k, phase);
    if (len < 16) {
        /* Small frames: skip the indirect call and the vector setup. */
        wsf_mask_scalar(dst, src, len, k);
        return;
    }
    wsf_mask_active(dst, src, len, k);
}
