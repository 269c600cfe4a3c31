/* AVX-512 (F + BW) UTF-8 validation: 64 bytes a block, four blocks a step, with an ASCII fast path
 * that checks 256 bytes with one OR and one mask test. See utf8_kernels.h for the method and for
 * how exact offsets and chunk boundaries are left to the scalar step. */
#include "utf8_kernels.h"
#include "wsf_simd.h"

#if defined(WSF_HAVE_X86_KERNELS)
#include <immintrin.h>

#define WSF_U8_512_TARGET WSF_TARGET("avx512f,avx512bw,avx512vl")

/* The 64 bytes ending n bytes before each byte of `in` (prev is the block before in): a lane-wide
 * byte alignment needs the 16 bytes preceding each 128-bit lane, which valignd supplies. */
#define WSF_U8_PREV512(in, prev, n)                                                                \
    _mm512_alignr_epi8((in), _mm512_alignr_epi32((in), (prev), 12), 16 - (n))

WSF_U8_512_TARGET
static inline __m512i wsf_u8_check512(__m512i in, __m512i prev) {
    const __m512i t_b1h = _mm512_broadcast_i32x4(_mm_setr_epi8(WSF_U8_TABLE_BYTE1_HIGH));
    const __m512i t_b1l = _mm512_broadcast_i32x4(_mm_setr_epi8(WSF_U8_TABLE_BYTE1_LOW));
    const __m512i t_b2h = _mm512_broadcast_i32x4(_mm_setr_epi8(WSF_U8_TABLE_BYTE2_HIGH));
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    __m512i p1 = WSF_U8_PREV512(in, prev, 1);
    __m512i b1h = _mm512_shuffle_epi8(t_b1h, _mm512_and_si512(_mm512_srli_epi16(p1, 4), nibble));
    __m512i b1l = _mm512_shuffle_epi8(t_b1l, _mm512_and_si512(p1, nibble));
    __m512i b2h = _mm512_shuffle_epi8(t_b2h, _mm512_and_si512(_mm512_srli_epi16(in, 4), nibble));
    __m512i special = _mm512_ternarylogic_epi64(b1h, b1l, b2h, 0x80); /* a & b & c */
    /* A byte 2 or 3 places after a 3- or 4-byte lead must be a continuation (bit 7 set). */
    __m512i third = _mm512_subs_epu8(WSF_U8_PREV512(in, prev, 2), _mm512_set1_epi8((char)(0xE0 - 0x80)));
    __m512i fourth = _mm512_subs_epu8(WSF_U8_PREV512(in, prev, 3), _mm512_set1_epi8((char)(0xF0 - 0x80)));
    __m512i must23_80 = _mm512_ternarylogic_epi64(third, fourth, _mm512_set1_epi8((char)0x80), 0xA8); /* (a|b)&c */
    return _mm512_xor_si512(must23_80, special);
}

/* Returns WSF_U8_COMPLETE if data is valid and ends on a code-point boundary; otherwise the
 * position (a multiple of 64) from which the scalar step must take over: the start of the first
 * group of blocks with an error or with a code point cut by the end of the data. */
WSF_U8_512_TARGET
static size_t wsf_u8_scan512(const uint8_t *data, size_t len) {
    /* Non-zero where the last block ends inside a code point (the last 3 bytes vs. C0/E0/F0). */
    const __m512i incomplete_limit = _mm512_set_epi8(
        (char)0xBF, (char)0xDF, (char)0xEF, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1);
    __m512i prev = _mm512_setzero_si512();
    __m512i incomplete = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 256 <= len; i += 256) {
        __m512i a = _mm512_loadu_si512((const void *)(data + i));
        __m512i b = _mm512_loadu_si512((const void *)(data + i + 64));
        __m512i c = _mm512_loadu_si512((const void *)(data + i + 128));
        __m512i d = _mm512_loadu_si512((const void *)(data + i + 192));
        __m512i any = _mm512_ternarylogic_epi64(a, b, _mm512_or_si512(c, d), 0xFE); /* a|b|c */
        if (WSF_LIKELY(_mm512_movepi8_mask(any) == 0)) {
            /* All ASCII: valid unless the previous block left a code point open. */
            if (_mm512_test_epi8_mask(incomplete, incomplete)) return i;
            prev = d;
            continue;
        }
        __m512i err = _mm512_or_si512(wsf_u8_check512(a, prev), wsf_u8_check512(b, a));
        err = _mm512_ternarylogic_epi64(err, wsf_u8_check512(c, b), wsf_u8_check512(d, c), 0xFE);
        if (_mm512_test_epi8_mask(err, err)) return i;
        incomplete = _mm512_subs_epu8(d, incomplete_limit);
        prev = d;
    }
    for (; i + 64 <= len; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(data + i));
        __m512i err = wsf_u8_check512(a, prev);
        if (_mm512_test_epi8_mask(err, err)) return i;
        prev = a;
    }
    if (i < len) {
        /* The tail in one masked load (no read past the end), padded with zeros: ASCII, which
         * flags a code point cut by the end as too short, so a clean tail means complete. An
         * error only in the padding means exactly that: a valid prefix that ends inside a code
         * point, which the scalar step finishes from the last lead byte. */
        __mmask64 m = (__mmask64)((1ULL << (len - i)) - 1); /* len - i < 64 */
        __m512i a = _mm512_maskz_loadu_epi8(m, (const void *)(data + i));
        __m512i err = wsf_u8_check512(a, prev);
        if (!_mm512_test_epi8_mask(err, err)) return WSF_U8_COMPLETE;
        return _mm512_mask_test_epi8_mask(m, err, err) ? i : len;
    }
    incomplete = _mm512_subs_epu8(prev, incomplete_limit);
    return _mm512_test_epi8_mask(incomplete, incomplete) ? len : WSF_U8_COMPLETE;
}

int wsf_utf8_feed_avx512(wsf_utf8_state *s, const uint8_t *data, size_t len) {
    size_t start;
    if (!wsf_utf8_finish_open(s, data, len, &start)) return 0;
    data += start;
    len -= start;
    size_t pos = wsf_u8_scan512(data, len);
    if (pos == WSF_U8_COMPLETE) { s->offset += len; return 1; }
    return wsf_utf8_resume(s, data, len, pos);
}
#endif
