/* AVX2 UTF-8 validation: 32 bytes a block, four blocks a step, with an ASCII fast path. See
 * utf8_kernels.h for the method and for how exact offsets and chunk boundaries are left to the
 * scalar step. */
#include "utf8_kernels.h"
#include "wsf_simd.h"

#include <string.h>

#if defined(WSF_HAVE_X86_KERNELS)
#include <immintrin.h>

#define WSF_U8_256_TARGET WSF_TARGET("avx2")

/* The bytes n places before each byte of `in`: the 16 bytes before each 128-bit lane come from
 * the high lane of prev (low lane of in) via vperm2i128, then a per-lane byte alignment. */
#define WSF_U8_PREV256(in, prev, n)                                                                \
    _mm256_alignr_epi8((in), _mm256_permute2x128_si256((prev), (in), 0x21), 16 - (n))

WSF_U8_256_TARGET
static inline __m256i wsf_u8_check256(__m256i in, __m256i prev) {
    const __m256i t_b1h = _mm256_setr_epi8(WSF_U8_TABLE_BYTE1_HIGH, WSF_U8_TABLE_BYTE1_HIGH);
    const __m256i t_b1l = _mm256_setr_epi8(WSF_U8_TABLE_BYTE1_LOW, WSF_U8_TABLE_BYTE1_LOW);
    const __m256i t_b2h = _mm256_setr_epi8(WSF_U8_TABLE_BYTE2_HIGH, WSF_U8_TABLE_BYTE2_HIGH);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    __m256i p1 = WSF_U8_PREV256(in, prev, 1);
    __m256i b1h = _mm256_shuffle_epi8(t_b1h, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nibble));
    __m256i b1l = _mm256_shuffle_epi8(t_b1l, _mm256_and_si256(p1, nibble));
    __m256i b2h = _mm256_shuffle_epi8(t_b2h, _mm256_and_si256(_mm256_srli_epi16(in, 4), nibble));
    __m256i special = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
    __m256i third = _mm256_subs_epu8(WSF_U8_PREV256(in, prev, 2), _mm256_set1_epi8((char)(0xE0 - 0x80)));
    __m256i fourth = _mm256_subs_epu8(WSF_U8_PREV256(in, prev, 3), _mm256_set1_epi8((char)(0xF0 - 0x80)));
    __m256i must23_80 = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(must23_80, special);
}

WSF_U8_256_TARGET
static size_t wsf_u8_scan256(const uint8_t *data, size_t len) {
    const __m256i incomplete_limit = _mm256_setr_epi8(
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)0xEF, (char)0xDF, (char)0xBF);
    __m256i prev = _mm256_setzero_si256();
    __m256i incomplete = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 128 <= len; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(data + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(data + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(data + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(data + i + 96));
        __m256i any = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
        if (WSF_LIKELY(_mm256_movemask_epi8(any) == 0)) {
            if (!_mm256_testz_si256(incomplete, incomplete)) return i;
            prev = d;
            continue;
        }
        __m256i err = _mm256_or_si256(wsf_u8_check256(a, prev), wsf_u8_check256(b, a));
        err = _mm256_or_si256(err, _mm256_or_si256(wsf_u8_check256(c, b), wsf_u8_check256(d, c)));
        if (!_mm256_testz_si256(err, err)) return i;
        incomplete = _mm256_subs_epu8(d, incomplete_limit);
        prev = d;
    }
    for (; i + 32 <= len; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(data + i));
        __m256i err = wsf_u8_check256(a, prev);
        if (!_mm256_testz_si256(err, err)) return i;
        prev = a;
    }
    if (i < len) {
        /* The tail, copied into a zeroed block: the padding is ASCII, which flags a code point
         * cut by the end as too short, so a clean tail means complete. An error only in the
         * padding means exactly that: a valid prefix that ends inside a code point, which the
         * scalar step finishes from the last lead byte. */
        uint8_t buf[32] = {0};
        memcpy(buf, data + i, len - i);
        __m256i a = _mm256_loadu_si256((const __m256i *)buf);
        __m256i err = wsf_u8_check256(a, prev);
        if (_mm256_testz_si256(err, err)) return WSF_U8_COMPLETE;
        unsigned flagged = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(err, _mm256_setzero_si256()));
        return (flagged & ((1u << (len - i)) - 1)) ? i : len; /* len - i < 32 */
    }
    /* Ended on a block boundary: complete unless the last block ends inside a code point. */
    __m256i err = _mm256_subs_epu8(prev, incomplete_limit);
    return (!_mm256_testz_si256(err, err)) ? len : WSF_U8_COMPLETE;
}

int wsf_utf8_feed_avx2(wsf_utf8_state *s, const uint8_t *data, size_t len) {
    size_t start;
    if (!wsf_utf8_finish_open(s, data, len, &start)) return 0;
    data += start;
    len -= start;
    size_t pos = wsf_u8_scan256(data, len);
    if (pos == WSF_U8_COMPLETE) { s->offset += len; return 1; }
    return wsf_utf8_resume(s, data, len, pos);
}
#endif
