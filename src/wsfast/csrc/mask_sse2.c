/* SSE2 masking kernel (the x86-64 baseline): 64 bytes per iteration. */
#include "mask.h"
#include "wsf_simd.h"

#if defined(WSF_HAVE_X86_KERNELS)
#include <emmintrin.h>

void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    const __m128i k = _mm_set1_epi32((int)key);
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= len; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    /* 16 is a multiple of 4: the key phase is unchanged for the tail. */
    wsf_mask_scalar(dst + i, src + i, len - i, key);
}
#endif
