/* SSSE3 + SSE4.1 UTF-8 decoding into 1-, 2- or 4-byte characters, 16 bytes a step (the steps
 * are in utf8_decode_x86.h, the method in utf8_decode_kernels.h). Used at the "sse2" level when
 * the CPU has SSSE3 and SSE4.1 (utf8_decode_dispatch.c checks). */
#include "utf8_decode_x86.h"

#if defined(WSF_HAVE_X86_KERNELS)

/* Characters and largest byte: continuation bytes are counted 16 at a time in byte counters
 * (flushed with psadbw before they can overflow). */
WSF_U8D_128
void wsf_utf8_measure_sse4(const uint8_t *data, size_t len, wsf_utf8_shape *shape) {
    __m128i max = _mm_setzero_si128(), total = _mm_setzero_si128();
    const __m128i limit = _mm_set1_epi8(-64);
    size_t i = 0;
    while (i + 16 <= len) {
        __m128i counts = _mm_setzero_si128();
        /* Four blocks a round (each byte counter gains at most 4), then single blocks. */
        for (int round = 0; round < 63 && i + 64 <= len; round++, i += 64) {
            __m128i a = _mm_loadu_si128((const __m128i *)(data + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(data + i + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(data + i + 32));
            __m128i d = _mm_loadu_si128((const __m128i *)(data + i + 48));
            max = _mm_max_epu8(max, _mm_max_epu8(_mm_max_epu8(a, b), _mm_max_epu8(c, d)));
            __m128i ab = _mm_add_epi8(_mm_cmplt_epi8(a, limit), _mm_cmplt_epi8(b, limit));
            __m128i cd = _mm_add_epi8(_mm_cmplt_epi8(c, limit), _mm_cmplt_epi8(d, limit));
            counts = _mm_sub_epi8(counts, _mm_add_epi8(ab, cd));
        }
        if (i + 64 > len) {
            for (; i + 16 <= len; i += 16) { /* at most three: counters stay below 256 */
                __m128i in = _mm_loadu_si128((const __m128i *)(data + i));
                max = _mm_max_epu8(max, in);
                counts = _mm_sub_epi8(counts, _mm_cmplt_epi8(in, limit));
            }
        }
        total = _mm_add_epi64(total, _mm_sad_epu8(counts, _mm_setzero_si128()));
    }
    uint8_t lanes[16];
    _mm_storeu_si128((__m128i *)lanes, max);
    wsf_utf8_shape tail;
    wsf_utf8_measure_scalar(data + i, len - i, &tail);
    uint8_t max_byte = tail.max_byte;
    for (int k = 0; k < 16; k++) max_byte = lanes[k] > max_byte ? lanes[k] : max_byte;
    size_t continuations = (size_t)_mm_cvtsi128_si64(total) +
                           (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(total, total));
    shape->length = i - continuations + tail.length;
    shape->max_byte = max_byte;
}

WSF_U8D_128
int wsf_utf8_to_ucs1_sse4(const uint8_t *data, size_t len, uint8_t *out, size_t length) {
    return wsf_u8d_loop128_ucs1(data, data, data + len, out, out + length, _mm_setzero_si128());
}

WSF_U8D_128
int wsf_utf8_to_ucs2_sse4(const uint8_t *data, size_t len, uint16_t *out, size_t length) {
    return wsf_u8d_loop128_ucs2(data, data, data + len, out, out + length, _mm_setzero_si128());
}

WSF_U8D_128
int wsf_utf8_to_ucs4_sse4(const uint8_t *data, size_t len, uint32_t *out, size_t length) {
    return wsf_u8d_loop128_ucs4(data, data, data + len, out, out + length, _mm_setzero_si128());
}

#endif
