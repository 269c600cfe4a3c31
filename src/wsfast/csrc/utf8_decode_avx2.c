/* AVX2 UTF-8 decoding into 1-, 2- or 4-byte characters: 32 ASCII bytes a step, the 128-bit window
 * steps of utf8_decode_x86.h (VEX-encoded here) for the rest; measuring 32 bytes at a time. Also
 * serves the AVX-512 level. */
#include "utf8_decode_x86.h"

#if defined(WSF_HAVE_X86_KERNELS)

#define WSF_U8D_256 WSF_TARGET("avx2")

WSF_U8D_256
void wsf_utf8_measure_avx2(const uint8_t *data, size_t len, wsf_utf8_shape *shape) {
    __m256i max = _mm256_setzero_si256(), total = _mm256_setzero_si256();
    const __m256i limit = _mm256_set1_epi8(-64);
    size_t i = 0;
    while (i + 64 <= len) {
        __m256i counts = _mm256_setzero_si256();
        for (int round = 0; round < 127 && i + 64 <= len; round++, i += 64) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(data + i));
            __m256i b = _mm256_loadu_si256((const __m256i *)(data + i + 32));
            max = _mm256_max_epu8(max, _mm256_max_epu8(a, b));
            counts = _mm256_sub_epi8(counts, _mm256_cmpgt_epi8(limit, a));
            counts = _mm256_sub_epi8(counts, _mm256_cmpgt_epi8(limit, b));
        }
        total = _mm256_add_epi64(total, _mm256_sad_epu8(counts, _mm256_setzero_si256()));
    }
    uint8_t lanes[32];
    _mm256_storeu_si256((__m256i *)lanes, max);
    uint64_t sums[4];
    _mm256_storeu_si256((__m256i *)sums, total);
    wsf_utf8_shape tail;
    wsf_utf8_measure_sse4(data + i, len - i, &tail);
    uint8_t max_byte = tail.max_byte;
    for (int k = 0; k < 32; k++) max_byte = lanes[k] > max_byte ? lanes[k] : max_byte;
    shape->length = i - (size_t)(sums[0] + sums[1] + sums[2] + sums[3]) + tail.length;
    shape->max_byte = max_byte;
}

/* 32 bytes at p, if they are all ASCII (checked against the bytes before them into *err). */
WSF_U8D_256
static inline int wsf_u8d_ascii32(const uint8_t *data, const uint8_t *p, __m256i *in, __m128i *err) {
    *in = _mm256_loadu_si256((const __m256i *)p);
    if (_mm256_movemask_epi8(*in) != 0) return 0;
    /* ASCII after ASCII breaks no rule: only the first bytes need the check (a code point cut
     * short before p). */
    *err = _mm_or_si128(*err, wsf_u8d_check128(_mm256_castsi256_si128(*in), wsf_u8d_before128(data, p)));
    return 1;
}

#define WSF_U8D_AVX2(NAME, T, STEP, LOOP128, STORE_ASCII)                                          \
    WSF_U8D_256                                                                                    \
    int NAME(const uint8_t *data, size_t len, T *out, size_t length) {                             \
        const uint8_t *p = data, *end = data + len;                                                \
        T *o = out, *oend = out + length;                                                          \
        __m128i err = _mm_setzero_si128();                                                         \
        while (end - p >= 32 && oend - o >= 32) {                                                  \
            __m256i in;                                                                            \
            if (wsf_u8d_ascii32(data, p, &in, &err)) {                                             \
                STORE_ASCII;                                                                       \
                p += 32;                                                                           \
                o += 32;                                                                           \
                continue;                                                                          \
            }                                                                                      \
            size_t count, consumed = STEP(data, p, o, &count, &err);                               \
            if (WSF_UNLIKELY(consumed == 0)) return 0;                                             \
            p += consumed;                                                                         \
            o += count;                                                                            \
        }                                                                                          \
        return LOOP128(data, p, end, o, oend, err);                                                \
    }

WSF_U8D_AVX2(wsf_utf8_to_ucs1_avx2, uint8_t, wsf_u8d_step_ucs1, wsf_u8d_loop128_ucs1,
             _mm256_storeu_si256((__m256i *)o, in))
WSF_U8D_AVX2(wsf_utf8_to_ucs2_avx2, uint16_t, wsf_u8d_step_ucs2, wsf_u8d_loop128_ucs2,
             _mm256_storeu_si256((__m256i *)o, _mm256_cvtepu8_epi16(_mm256_castsi256_si128(in)));
             _mm256_storeu_si256((__m256i *)(o + 16),
                                 _mm256_cvtepu8_epi16(_mm256_extracti128_si256(in, 1))))
WSF_U8D_AVX2(wsf_utf8_to_ucs4_avx2, uint32_t, wsf_u8d_step_ucs4, wsf_u8d_loop128_ucs4,
             __m128i lo = _mm256_castsi256_si128(in);
             __m128i hi = _mm256_extracti128_si256(in, 1);
             _mm256_storeu_si256((__m256i *)o, _mm256_cvtepu8_epi32(lo));
             _mm256_storeu_si256((__m256i *)(o + 8), _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
             _mm256_storeu_si256((__m256i *)(o + 16), _mm256_cvtepu8_epi32(hi));
             _mm256_storeu_si256((__m256i *)(o + 24), _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))))

#endif
