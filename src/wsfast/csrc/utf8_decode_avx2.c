/* AVX2 UTF-8 decoding into 1-, 2- or 4-byte characters. Also serves the AVX-512 level.
 *
 * Validation runs as one stream of 32-byte blocks, each checked against the block before it
 * (the Keiser-Lemire check of utf8_kernels.h), kept ahead of the transcoder so that every byte a
 * step consumes has been checked. The steps:
 * - 2-byte characters (text of 1- to 3-byte characters): 32 positions a step; the code point of
 *   the character starting at each position is computed, its low and high bytes apart, from that
 *   byte and the two after it (three loads at p, p + 1, p + 2), and the lanes of the positions that start a
 *   character are gathered to the front (pshufb, 8 lanes at a time). No table of windows and a
 *   fixed stride: a character that starts in a step is complete in the bytes it reads, whatever
 *   the mix of lengths, so the next step's position does not wait on this one's result.
 * - 4-byte characters: the same idea in 32-bit lanes (the 1 to 4 bytes of each character are
 *   combined, then shifted right by what the lead says), 32 positions a step; 16 positions that
 *   hold a run of four 4-byte characters take one fixed shuffle instead.
 * - 1-byte characters (Latin-1): the 128-bit squeeze step, 32 ASCII bytes at once.
 * The last bytes go through the 128-bit loop (which checks its own windows) and the scalar step.
 */
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

/* --- validation ---------------------------------------------------------------------------- */

#define WSF_U8D_PREV256(in, prev, n)                                                               \
    _mm256_alignr_epi8((in), _mm256_permute2x128_si256((prev), (in), 0x21), 16 - (n))

WSF_U8D_256
static inline __m256i wsf_u8d_check256(__m256i in, __m256i prev) {
    const __m256i t_b1h = _mm256_setr_epi8(WSF_U8_TABLE_BYTE1_HIGH, WSF_U8_TABLE_BYTE1_HIGH);
    const __m256i t_b1l = _mm256_setr_epi8(WSF_U8_TABLE_BYTE1_LOW, WSF_U8_TABLE_BYTE1_LOW);
    const __m256i t_b2h = _mm256_setr_epi8(WSF_U8_TABLE_BYTE2_HIGH, WSF_U8_TABLE_BYTE2_HIGH);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    __m256i p1 = WSF_U8D_PREV256(in, prev, 1);
    __m256i b1h = _mm256_shuffle_epi8(t_b1h, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nibble));
    __m256i b1l = _mm256_shuffle_epi8(t_b1l, _mm256_and_si256(p1, nibble));
    __m256i b2h = _mm256_shuffle_epi8(t_b2h, _mm256_and_si256(_mm256_srli_epi16(in, 4), nibble));
    __m256i special = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
    __m256i third = _mm256_subs_epu8(WSF_U8D_PREV256(in, prev, 2), _mm256_set1_epi8((char)(0xE0 - 0x80)));
    __m256i fourth = _mm256_subs_epu8(WSF_U8D_PREV256(in, prev, 3), _mm256_set1_epi8((char)(0xF0 - 0x80)));
    __m256i must23_80 = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(must23_80, special);
}

/* The stream check: blocks [data, next) checked so far, the last one in prev, errors in err. */
typedef struct {
    const uint8_t *next;
    __m256i prev, err;
} wsf_u8d_stream;

WSF_U8D_256
static inline void wsf_u8d_stream_until(wsf_u8d_stream *v, const uint8_t *until) {
    while (v->next < until) {
        __m256i in = _mm256_loadu_si256((const __m256i *)v->next);
        v->err = _mm256_or_si256(v->err, wsf_u8d_check256(in, v->prev));
        v->prev = in;
        v->next += 32;
    }
}

/* --- steps (each reads at most 48 bytes at p, consumes at most 32, writes at most 32
 * characters at o; returns the bytes consumed, 0 for input that cannot be valid) --------------- */

WSF_U8D_256
static inline size_t wsf_u8d_step256_ucs1(const uint8_t *p, uint8_t *o, size_t *count) {
    __m256i in = _mm256_loadu_si256((const __m256i *)p);
    if (_mm256_movemask_epi8(in) == 0) {
        _mm256_storeu_si256((__m256i *)o, in);
        *count = 32;
        return 32;
    }
    size_t consumed;
    *count = wsf_u8d_latin1_step128(_mm256_castsi256_si128(in), o, &consumed);
    return consumed;
}

/* Stores the 16-bit lanes of v selected by the 8-bit mask, packed; returns the end. */
WSF_U8D_256
static inline uint16_t *wsf_u8d_store_selected16(uint16_t *o, __m128i v, unsigned mask) {
    __m128i gather = _mm_loadu_si128((const __m128i *)wsf_utf8_compress16[mask]);
    _mm_storeu_si128((__m128i *)o, _mm_shuffle_epi8(v, gather));
    return o + wsf_utf8_popcount8[mask];
}

/* Eight 3-byte characters (CJK text) at p, as UTF-16 code units: each 128-bit lane takes four
 * (12 bytes, at p and at p + 12), one shuffle puts each in a 32-bit lane (last byte lowest) and
 * two multiply-adds make the code point. */
WSF_U8D_256
static inline void wsf_u8d_eight3(const uint8_t *p, uint16_t *o) {
    const __m256i spread = _mm256_setr_epi8(2, 1, 0, -1, 5, 4, 3, -1, 8, 7, 6, -1, 11, 10, 9, -1,
                                            2, 1, 0, -1, 5, 4, 3, -1, 8, 7, 6, -1, 11, 10, 9, -1);
    __m256i in = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                         _mm_loadu_si128((const __m128i *)(p + 12)), 1);
    __m256i bits = _mm256_and_si256(_mm256_shuffle_epi8(in, spread), _mm256_set1_epi32(0x000F3F3F));
    __m256i pairs = _mm256_maddubs_epi16(bits, _mm256_set1_epi32(0x00014001)); /* c2 + 64 c1, lead */
    __m256i units = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x10000001));
    __m256i packed = _mm256_packus_epi32(units, units); /* four in the low 64 bits of each lane */
    _mm_storeu_si128((__m128i *)o, _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08)));
}

WSF_U8D_256
static inline size_t wsf_u8d_step256_ucs2(const uint8_t *p, uint16_t *o, size_t *count) {
    __m256i b0 = _mm256_loadu_si256((const __m256i *)p);
    if (_mm256_movemask_epi8(b0) == 0) {
        _mm256_storeu_si256((__m256i *)o, _mm256_cvtepu8_epi16(_mm256_castsi256_si128(b0)));
        _mm256_storeu_si256((__m256i *)(o + 16), _mm256_cvtepu8_epi16(_mm256_extracti128_si256(b0, 1)));
        *count = 32;
        return 32;
    }
    unsigned continuation = (unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(_mm256_set1_epi8(-64), b0));
    /* A lead every third byte, two continuation bytes after each and none after the eighth:
     * (for valid input) eight 3-byte characters. A step of 32 positions that ends inside a
     * character leaves the next step off its start; a run of them finds one again within three
     * steps (and then stays on a start). */
    if ((continuation & 0x1FFFFFF) == 0x0DB6DB6) {
        wsf_u8d_eight3(p, o);
        *count = 8;
        return 24;
    }
    unsigned keep = ~continuation;
    /* The low and high byte of the code point of the character starting at each position, from
     * that byte and the two after it (garbage where no character starts):
     *   0xxxxxxx                   -> low b0, high 0
     *   110yyyyy 10xxxxxx          -> low yy xxxxxx, high 00000yyy
     *   1110zzzz 10yyyyyy 10xxxxxx -> low yy xxxxxx, high zzzz yyyy
     * (the shifts are 16-bit ones: the masks drop what crosses from the neighbouring byte). */
    const __m256i low6 = _mm256_set1_epi8(0x3F), top2 = _mm256_set1_epi8((char)0xC0);
    __m256i n1 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + 1)), low6);
    __m256i n2 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + 2)), low6);
    __m256i lead = _mm256_cmpgt_epi8(b0, _mm256_set1_epi8(-65)); /* with ASCII: C0-FF, 00-7F */
    lead = _mm256_andnot_si256(_mm256_cmpgt_epi8(b0, _mm256_set1_epi8(-1)), lead); /* C0-FF */
    __m256i lead3 = _mm256_and_si256(_mm256_cmpgt_epi8(b0, _mm256_set1_epi8((char)0xDF)), lead);
    __m256i low2 = _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi16(b0, 6), top2), n1);
    __m256i low3 = _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi16(n1, 6), top2), n2);
    __m256i high2 = _mm256_and_si256(_mm256_srli_epi16(b0, 2), _mm256_set1_epi8(0x07));
    __m256i high3 = _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi16(b0, 4), _mm256_set1_epi8((char)0xF0)),
                                    _mm256_and_si256(_mm256_srli_epi16(n1, 2), _mm256_set1_epi8(0x0F)));
    __m256i low = _mm256_blendv_epi8(_mm256_blendv_epi8(b0, low2, lead), low3, lead3);
    __m256i high = _mm256_blendv_epi8(_mm256_and_si256(high2, lead), high3, lead3);
    /* 16-bit code points of positions 0-7 | 16-23 and 8-15 | 24-31. */
    __m256i first = _mm256_unpacklo_epi8(low, high), second = _mm256_unpackhi_epi8(low, high);
    uint16_t *start = o;
    o = wsf_u8d_store_selected16(o, _mm256_castsi256_si128(first), keep & 0xFF);
    o = wsf_u8d_store_selected16(o, _mm256_castsi256_si128(second), (keep >> 8) & 0xFF);
    o = wsf_u8d_store_selected16(o, _mm256_extracti128_si256(first, 1), (keep >> 16) & 0xFF);
    o = wsf_u8d_store_selected16(o, _mm256_extracti128_si256(second, 1), keep >> 24);
    *count = (size_t)(o - start);
    return 32;
}

/* Stores the 32-bit lanes of v selected by the 8-bit mask, packed; returns the end. */
WSF_U8D_256
static inline uint32_t *wsf_u8d_store_selected32(uint32_t *o, __m256i v, unsigned mask) {
    __m256i gather = _mm256_loadu_si256((const __m256i *)wsf_utf8_compress32[mask]);
    _mm256_storeu_si256((__m256i *)o, _mm256_permutevar8x32_epi32(v, gather));
    return o + wsf_utf8_popcount8[mask];
}

/* The characters that start in 16 positions at p, stored packed at o; returns the end. The code
 * point of a character of 1 to 4 bytes starting at each position is X >> 18, 12, 6 or 0 as the
 * lead says it has 1, 2, 3 or 4 bytes, where X = lead << 18 | c1 << 12 | c2 << 6 | c3 (each byte
 * masked to its payload bits); then the positions that start a character are gathered to the
 * front. Every character that starts in the 16 positions is complete in the 19 bytes read. */
WSF_U8D_256
static inline uint32_t *wsf_u8d_astral16(const uint8_t *p, __m128i b0, unsigned keep, uint32_t *o) {
    const __m128i payload = _mm_setr_epi8(0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F,
                                          0x3F, 0x3F, 0x3F, 0x1F, 0x1F, 0x0F, 0x07);
    const __m128i shifts = _mm_setr_epi8(18, 18, 18, 18, 18, 18, 18, 18, 0, 0, 0, 0, 12, 12, 6, 0);
    if (_mm_movemask_epi8(b0) == 0) { /* 16 ASCII characters (text mixed with emoji, JSON) */
        _mm256_storeu_si256((__m256i *)o, _mm256_cvtepu8_epi32(b0));
        _mm256_storeu_si256((__m256i *)(o + 8), _mm256_cvtepu8_epi32(_mm_srli_si128(b0, 8)));
        return o + 16;
    }
    /* A run of four 4-byte characters (emoji text): one shuffle puts each in a 32-bit lane. */
    __m128i lead4 = _mm_cmpeq_epi8(_mm_max_epu8(b0, _mm_set1_epi8((char)0xF0)), b0);
    unsigned run_start = wsf_u8d_ctz(keep | 0x10000);
    if (run_start < 4 && keep == (0x1111u << run_start) && keep == (unsigned)_mm_movemask_epi8(lead4)) {
        const __m128i reverse = _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
        __m128i run = _mm_loadu_si128((const __m128i *)(p + run_start));
        __m128i bits = _mm_and_si128(_mm_shuffle_epi8(run, reverse), _mm_set1_epi32(0x073F3F3F));
        __m128i pairs = _mm_maddubs_epi16(bits, _mm_set1_epi16(0x4001)); /* c3 + 64 c2, c1 + 64 lead */
        _mm_storeu_si128((__m128i *)o, _mm_madd_epi16(pairs, _mm_set1_epi32(0x10000001)));
        return o + 4;
    }
    __m128i high = _mm_and_si128(_mm_srli_epi16(b0, 4), _mm_set1_epi8(0x0F));
    const __m256i low6 = _mm256_set1_epi16(0x3F);
    __m256i lead = _mm256_cvtepu8_epi16(_mm_and_si128(b0, _mm_shuffle_epi8(payload, high)));
    __m256i c1 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 1))), low6);
    __m256i c2 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 2))), low6);
    __m256i c3 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 3))), low6);
    __m256i low12 = _mm256_or_si256(_mm256_slli_epi16(c2, 6), c3);
    __m256i high12 = _mm256_or_si256(_mm256_slli_epi16(lead, 6), c1); /* < 2^13 */
    __m256i shift16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(shifts, high));
    /* 16-bit lanes hold positions 0-7 (low half) and 8-15 (high half); interleaving them makes
     * 32-bit lanes of positions 0-3 | 8-11 and 4-7 | 12-15. */
    const __m256i combine = _mm256_set1_epi32(0x10000001); /* low12 + 4096 * high12 */
    __m256i x0 = _mm256_madd_epi16(_mm256_unpacklo_epi16(low12, high12), combine);
    __m256i x1 = _mm256_madd_epi16(_mm256_unpackhi_epi16(low12, high12), combine);
    x0 = _mm256_srlv_epi32(x0, _mm256_unpacklo_epi16(shift16, _mm256_setzero_si256()));
    x1 = _mm256_srlv_epi32(x1, _mm256_unpackhi_epi16(shift16, _mm256_setzero_si256()));
    __m256i first = _mm256_permute2x128_si256(x0, x1, 0x20);  /* positions 0-7 */
    __m256i second = _mm256_permute2x128_si256(x0, x1, 0x31); /* positions 8-15 */
    o = wsf_u8d_store_selected32(o, first, keep & 0xFF);
    return wsf_u8d_store_selected32(o, second, keep >> 8);
}

/* Eight 4-byte characters (the 32 bytes `run`, each 128-bit lane holding four): one shuffle puts
 * each in a 32-bit lane (last byte lowest), two multiply-adds make the code points. */
WSF_U8D_256
static inline void wsf_u8d_eight4(__m256i run, uint32_t *o) {
    const __m256i reverse = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
                                             3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    __m256i bits = _mm256_and_si256(_mm256_shuffle_epi8(run, reverse), _mm256_set1_epi32(0x073F3F3F));
    __m256i pairs = _mm256_maddubs_epi16(bits, _mm256_set1_epi16(0x4001)); /* c3 + 64 c2, c1 + 64 lead */
    _mm256_storeu_si256((__m256i *)o, _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x10000001)));
}

/* Continuation bytes (80-BF) as a 32-bit mask. */
WSF_U8D_256
static inline unsigned wsf_u8d_continuations256(__m256i in) {
    return (unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(_mm256_set1_epi8(-64), in));
}

/* A lead every fourth byte and three continuation bytes after each: (for valid input) eight
 * 4-byte characters. */
#define WSF_U8D_EIGHT4 0xEEEEEEEEu

/* 32 positions a step: the characters that start there, up to 32 (32 bytes consumed); or, after
 * the 0-3 continuation bytes of a character begun before p, eight 4-byte characters (emoji text:
 * 32 bytes more). */
WSF_U8D_256
static inline size_t wsf_u8d_step256_ucs4(const uint8_t *p, uint32_t *o, size_t *count) {
    __m256i in = _mm256_loadu_si256((const __m256i *)p);
    __m128i lo = _mm256_castsi256_si128(in), hi = _mm256_extracti128_si256(in, 1);
    if (_mm256_movemask_epi8(in) == 0) {
        _mm256_storeu_si256((__m256i *)o, _mm256_cvtepu8_epi32(lo));
        _mm256_storeu_si256((__m256i *)(o + 8), _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
        _mm256_storeu_si256((__m256i *)(o + 16), _mm256_cvtepu8_epi32(hi));
        _mm256_storeu_si256((__m256i *)(o + 24), _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
        *count = 32;
        return 32;
    }
    unsigned continuation = wsf_u8d_continuations256(in);
    unsigned skip = wsf_u8d_ctz(~continuation | 8);
    if (WSF_LIKELY(skip == 0)) { /* in a run a constant, not the data, moves p on */
        if (continuation == WSF_U8D_EIGHT4) {
            wsf_u8d_eight4(in, o);
            *count = 8;
            return 32;
        }
    } else {
        __m256i run = _mm256_loadu_si256((const __m256i *)(p + skip));
        if (wsf_u8d_continuations256(run) == WSF_U8D_EIGHT4) {
            wsf_u8d_eight4(run, o);
            *count = 8;
            return 32 + skip;
        }
    }
    uint32_t *end = wsf_u8d_astral16(p, lo, ~continuation & 0xFFFF, o);
    end = wsf_u8d_astral16(p + 16, hi, ~continuation >> 16, end);
    *count = (size_t)(end - o);
    return 32;
}

/* The 2- and 4-byte steps take a fixed number of positions, so a step may end inside a
 * character that it has already written (its lead was among the positions): the last steps then
 * start again at that lead, one character back. NULL if no lead is near (invalid input). */
static inline const uint8_t *wsf_u8d_back_to_start(const uint8_t *data, const uint8_t *p, void **o,
                                                   size_t width) {
    if (p == data || (*p & 0xC0) != 0x80) return p;
    for (int back = 1; back <= 3 && p - back >= data; back++) {
        if ((p[-back] & 0xC0) != 0x80) {
            *o = (char *)*o - width;
            return p - back;
        }
    }
    return NULL;
}

/* The loop: steps while MIN_LEFT bytes are left, the stream check kept AHEAD bytes past p (and
 * never past the end), then the 128-bit loop and the scalar step. The 2- and 4-byte steps move
 * exactly 32 bytes, so their check is of the block the step reads (AHEAD 32, loaded once); the
 * Latin-1 step moves 15 or 16 bytes and reads 32, so its check runs up to 48 bytes ahead. */
#define WSF_U8D_AVX2(NAME, T, STEP, LOOP128, AHEAD, MIN_LEFT)                                      \
    WSF_U8D_256                                                                                    \
    int NAME(const uint8_t *data, size_t len, T *out, size_t length) {                             \
        const uint8_t *p = data, *end = data + len;                                                \
        T *o = out, *oend = out + length;                                                          \
        wsf_u8d_stream stream = {data, _mm256_setzero_si256(), _mm256_setzero_si256()};            \
        while (end - p >= MIN_LEFT && oend - o >= 32) {                                            \
            wsf_u8d_stream_until(&stream, p + AHEAD);                                              \
            size_t count, consumed = STEP(p, o, &count);                                           \
            if (WSF_UNLIKELY(consumed == 0)) return 0;                                             \
            p += consumed;                                                                         \
            o += count;                                                                            \
        }                                                                                          \
        if (!_mm256_testz_si256(stream.err, stream.err)) return 0;                                 \
        p = wsf_u8d_back_to_start(data, p, (void **)&o, sizeof(T));                                \
        if (p == NULL) return 0;                                                                   \
        /* [data, stream.next) is checked and p <= stream.next: the 128-bit loop checks from p. */ \
        return LOOP128(data, p, end, o, oend, _mm_setzero_si128());                                \
    }

WSF_U8D_AVX2(wsf_utf8_to_ucs1_avx2, uint8_t, wsf_u8d_step256_ucs1, wsf_u8d_loop128_ucs1, 48, 96)
WSF_U8D_AVX2(wsf_utf8_to_ucs2_avx2, uint16_t, wsf_u8d_step256_ucs2, wsf_u8d_loop128_ucs2, 48, 96)
WSF_U8D_AVX2(wsf_utf8_to_ucs4_avx2, uint32_t, wsf_u8d_step256_ucs4, wsf_u8d_loop128_ucs4, 48, 96)

#endif
