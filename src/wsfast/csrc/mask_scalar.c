/* Portable masking kernel: eight bytes at a time, then the tail (see wsf_mask_words). */
#include "mask.h"
#include "wsf_simd.h"

void wsf_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
#if defined(WSF_HAVE_X86_KERNELS) || defined(WSF_HAVE_NEON_KERNELS)
    /* Where SIMD kernels exist, the scalar level is what a user or a test forces to compare
     * against them: keep it scalar. Left alone, the compiler turns this loop into SSE2 or NEON,
     * and "scalar" would run at the speed of the 128-bit kernel. */
    uint64_t key64 = ((uint64_t)key << 32) | key;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t word = wsf_load64(src + i) ^ key64;
        WSF_KEEP_IN_REGISTER(word);
        wsf_store64(dst + i, word);
    }
    /* i is a multiple of 8 (of 4): the key phase is unchanged for the tail. */
    wsf_mask_words(dst + i, src + i, len - i, key);
#else
    /* No SIMD kernels on this architecture: let the compiler vectorize what it can. */
    wsf_mask_words(dst, src, len, key);
#endif
}
