/* SSSE3 + SSE4.1 UTF-8 validation: 16 bytes a block, four blocks a step, with an ASCII fast path.
 * Used at the "sse2" level when the CPU has SSSE3 and SSE4.1 (utf8_dispatch.c checks). See
 * utf8_kernels.h for the method and for how exact offsets and chunk boundaries are left to the
 * scalar step. */
#include "utf8_kernels.h"
#include "wsf_simd.h"

#include <string.h>

#if defined(WSF_HAVE_X86_KERNELS)
#include <immintrin.h>

#define WSF_U8_128_TARGET WSF_TARGET("ssse3,sse4.1")

#define WSF_U8_PREV128(in, prev, n) _mm_alignr_epi8((in), (prev), 16 - (n))

WSF_U8_128_TARGET
static inline __m128i wsf_u8_check128(__m128i in, __m128i prev) {
    const __m128i t_b1h = _mm_setr_epi8(WSF_U8_TABLE_BYTE1_HIGH);
    const __m128i t_b1l = _mm_setr_epi8(WSF_U8_TABLE_BYTE1_LOW);
    const __m128i t_b2h = _mm_setr_epi8(WSF_U8_TABLE_BYTE2_HIGH);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    __m128i p1 = WSF_U8_PREV128(in, prev, 1);
    __m128i b1h = _mm_shuffle_epi8(t_b1h, _mm_and_si128(_mm_srli_epi16(p1, 4), nibble));
    __m128i b1l = _mm_shuffle_epi8(t_b1l, _mm_and_si128(p1, nibble));
    __m128i b2h = _mm_shuffle_epi8(t_b2h, _mm_and_si128(_mm_srli_epi16(in, 4), nibble));
    __m128i special = _mm_and_si128(_mm_and_si128(b1h, b1l), b2h);
    __m128i third = _mm_subs_epu8(WSF_U8_PREV128(in, prev, 2), _mm_set1_epi8((char)(0xE0 - 0x80)));
    __m128i fourth = _mm_subs_epu8(WSF_U8_PREV128(in, prev, 3), _mm_set1_epi8((char)(0xF0 - 0x80)));
    __m128i must23_80 = _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8((char)0x80));
    return _mm_xor_si128(must23_80, special);
}

WSF_U8_128_TARGET
static size_t wsf_u8_scan128(const uint8_t *data, size_t len) {
    const __m128i incomplete_limit = _mm_setr_epi8(
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)0xEF, (char)0xDF, (char)0xBF);
    __m128i prev = _mm_setzero_si128();
    __m128i incomplete = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(data + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(data + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(data + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(data + i + 48));
        __m128i any = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));
        if (WSF_LIKELY(_mm_movemask_epi8(any) == 0)) {
            if (!_mm_testz_si128(incomplete, incomplete)) return i;
            prev = d;
            continue;
        }
        __m128i err = _mm_or_si128(wsf_u8_check128(a, prev), wsf_u8_check128(b, a));
        err = _mm_or_si128(err, _mm_or_si128(wsf_u8_check128(c, b), wsf_u8_check128(d, c)));
        if (!_mm_testz_si128(err, err)) return i;
        incomplete = _mm_subs_epu8(d, incomplete_limit);
        prev = d;
    }
    for (; i + 16 <= len; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(data + i));
        __m128i err = wsf_u8_check128(a, prev);
        if (!_mm_testz_si128(err, err)) return i;
        prev = a;
    }
    if (i < len) {
        /* The tail, copied into a zeroed block: the padding is ASCII, which flags a code point
         * cut by the end as too short, so a clean tail means complete. An error only in the
         * padding means exactly that: a valid prefix that ends inside a code point, which the
         * scalar step finishes from the last lead byte. */
        uint8_t buf[16] = {0};
        memcpy(buf, data + i, len - i);
        __m128i a = _mm_loadu_si128((const __m128i *)buf);
        __m128i err = wsf_u8_check128(a, prev);
        if (_mm_testz_si128(err, err)) return WSF_U8_COMPLETE;
        unsigned flagged = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(err, _mm_setzero_si128()));
        return (flagged & ((1u << (len - i)) - 1)) ? i : len; /* len - i < 16 */
    }
    /* Ended on a block boundary: complete unless the last block ends inside a code point. */
    __m128i err = _mm_subs_epu8(prev, incomplete_limit);
    return (!_mm_testz_si128(err, err)) ? len : WSF_U8_COMPLETE;
}

int wsf_utf8_feed_sse4(wsf_utf8_state *s, const uint8_t *data, size_t len) {
    size_t start;
    if (!wsf_utf8_finish_open(s, data, len, &start)) return 0;
    data += start;
    len -= start;
    size_t pos = wsf_u8_scan128(data, len);
    if (pos == WSF_U8_COMPLETE) { s->offset += len; return 1; }
    return wsf_utf8_resume(s, data, len, pos);
}
#endif
