/* AVX-512 masking kernel: 256 bytes per iteration, and the tail in one masked load/store. */
#include "mask.h"
#include "wsf_simd.h"

#if defined(WSF_HAVE_X86_KERNELS)
#include <immintrin.h>

WSF_TARGET("avx512f,avx512bw,avx512vl")
void wsf_mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    size_t i = 0;
    size_t misalign = (size_t)((uintptr_t)dst & 63);
    if (misalign && len >= 256) {
        /* A 64-byte store that is not 64-byte aligned straddles two cache lines; mask a short head
         * first so that every store in the loop is aligned. The key phase moves by the head's
         * length: rotate the key so its first octet is the one for the next byte. */
        size_t head = 64 - misalign;
        __mmask64 m = (__mmask64)((1ULL << head) - 1);
        __m512i h = _mm512_maskz_loadu_epi8(m, (const void *)src);
        _mm512_mask_storeu_epi8((void *)dst, m, _mm512_xor_si512(h, _mm512_set1_epi32((int)key)));
        i = head;
        key = wsf_rotate_key(key, head);
    }
    const __m512i k = _mm512_set1_epi32((int)key);
    for (; i + 256 <= len; i += 256) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
        __m512i c = _mm512_loadu_si512((const void *)(src + i + 128));
        __m512i d = _mm512_loadu_si512((const void *)(src + i + 192));
        _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
        _mm512_storeu_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
        _mm512_storeu_si512((void *)(dst + i + 128), _mm512_xor_si512(c, k));
        _mm512_storeu_si512((void *)(dst + i + 192), _mm512_xor_si512(d, k));
    }
    for (; i + 64 <= len; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
    }
    if (i < len) {
        /* Masked load and store touch only the bytes inside the buffer: no read past its end. */
        __mmask64 m = (__mmask64)((1ULL << (len - i)) - 1); /* len - i < 64 */
        __m512i a = _mm512_maskz_loadu_epi8(m, (const void *)(src + i));
        _mm512_mask_storeu_epi8((void *)(dst + i), m, _mm512_xor_si512(a, k));
    }
}
#endif
