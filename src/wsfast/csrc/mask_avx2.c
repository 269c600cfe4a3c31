/* AVX2 masking kernel: 128 bytes per iteration. */
#include "mask.h"
#include "wsf_simd.h"

#if defined(WSF_HAVE_X86_KERNELS)
#include <immintrin.h>

WSF_TARGET("avx2")
void wsf_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    size_t i = 0;
    size_t misalign = (size_t)((uintptr_t)dst & 31);
    if (misalign && len >= 256) {
        /* Align the stores (a 32-byte store across a cache-line boundary costs double); the key
         * phase moves by the head's length. */
        size_t head = 32 - misalign;
        wsf_mask_scalar(dst, src, head, key);
        i = head;
        key = wsf_rotate_key(key, head);
    }
    const __m256i k = _mm256_set1_epi32((int)key);
    for (; i + 128 <= len; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; i + 32 <= len; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    if (i + 16 <= len) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, _mm256_castsi256_si128(k)));
        i += 16;
    }
    wsf_mask_scalar(dst + i, src + i, len - i, key);
}
#endif
