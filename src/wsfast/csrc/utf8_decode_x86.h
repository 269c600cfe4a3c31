/* Internal to the x86-64 UTF-8 decoders: the 128-bit steps that utf8_decode_sse4.c and
 * utf8_decode_avx2.c share (inlined into the AVX2 kernels, which then run them VEX-encoded). See
 * utf8_decode_kernels.h for the method. Every step starts on a character (for valid input), reads
 * 16 bytes at p and its validation needs the 16 bytes before p (zeros before the data). */
#ifndef WSF_UTF8_DECODE_X86_H
#define WSF_UTF8_DECODE_X86_H

#include "utf8_decode_kernels.h"
#include "utf8_kernels.h"
#include "wsf_simd.h"

#if defined(WSF_HAVE_X86_KERNELS)
#include <immintrin.h>

#define WSF_U8D_128 WSF_TARGET("ssse3,sse4.1")

/* The Keiser-Lemire check of utf8_kernels.h: a non-zero byte where `in`, read after `prev`,
 * breaks a rule of RFC 3629 §4 (a code point cut at the end of `in` is not flagged). */
WSF_U8D_128
static inline __m128i wsf_u8d_check128(__m128i in, __m128i prev) {
    const __m128i t_b1h = _mm_setr_epi8(WSF_U8_TABLE_BYTE1_HIGH);
    const __m128i t_b1l = _mm_setr_epi8(WSF_U8_TABLE_BYTE1_LOW);
    const __m128i t_b2h = _mm_setr_epi8(WSF_U8_TABLE_BYTE2_HIGH);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    __m128i p1 = _mm_alignr_epi8(in, prev, 15);
    __m128i b1h = _mm_shuffle_epi8(t_b1h, _mm_and_si128(_mm_srli_epi16(p1, 4), nibble));
    __m128i b1l = _mm_shuffle_epi8(t_b1l, _mm_and_si128(p1, nibble));
    __m128i b2h = _mm_shuffle_epi8(t_b2h, _mm_and_si128(_mm_srli_epi16(in, 4), nibble));
    __m128i special = _mm_and_si128(_mm_and_si128(b1h, b1l), b2h);
    __m128i third = _mm_subs_epu8(_mm_alignr_epi8(in, prev, 14), _mm_set1_epi8((char)(0xE0 - 0x80)));
    __m128i fourth = _mm_subs_epu8(_mm_alignr_epi8(in, prev, 13), _mm_set1_epi8((char)(0xF0 - 0x80)));
    __m128i must23_80 = _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8((char)0x80));
    return _mm_xor_si128(must23_80, special);
}

/* The 16 bytes before p; zeros (ASCII, which completes nothing) for those before data. */
WSF_U8D_128
static inline __m128i wsf_u8d_before128(const uint8_t *data, const uint8_t *p) {
    size_t n = (size_t)(p - data);
    if (WSF_LIKELY(n >= 16)) return _mm_loadu_si128((const __m128i *)(p - 16));
    uint8_t buf[16] = {0};
    memcpy(buf + 16 - n, data, n);
    return _mm_loadu_si128((const __m128i *)buf);
}

/* Continuation bytes (80-BF) as a 16-bit mask. */
WSF_U8D_128
static inline unsigned wsf_u8d_continuations128(__m128i in) {
    return (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(in, _mm_set1_epi8(-64)));
}

/* One window through the tables: the characters as code points, in 16-bit lanes (*lanes16 = 1)
 * or 32-bit ones. Returns the window, whose `consumed` is 0 for a mask no valid UTF-8 has. */
WSF_U8D_128
static inline wsf_utf8_window wsf_u8d_window128(__m128i in, __m128i *code_points,
                                                const wsf_utf8_window_shape **shape) {
    /* Payload bits by high nibble: 0-7 ASCII, 8-B continuation, C-D, E, F leads. */
    const __m128i payload = _mm_setr_epi8(0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F,
                                          0x3F, 0x3F, 0x3F, 0x1F, 0x1F, 0x0F, 0x07);
    unsigned ends = (~wsf_u8d_continuations128(in) >> 1) & 0xFFF;
    wsf_utf8_window window = wsf_utf8_windows[ends];
    const wsf_utf8_window_shape *s = &wsf_utf8_window_shapes[window.shape];
    __m128i high = _mm_and_si128(_mm_srli_epi16(in, 4), _mm_set1_epi8(0x0F));
    __m128i bits = _mm_and_si128(in, _mm_shuffle_epi8(payload, high));
    __m128i lanes = _mm_shuffle_epi8(bits, _mm_loadu_si128((const __m128i *)s->shuffle));
    /* byte0 + 64 * byte1 in each 16-bit lane, then low + 4096 * high in each 32-bit lane. */
    __m128i pairs = _mm_maddubs_epi16(lanes, _mm_set1_epi16(0x4001));
    *code_points = s->lanes16 ? pairs : _mm_madd_epi16(pairs, _mm_set1_epi32(0x10000001));
    *shape = s;
    return window;
}

/* Latin-1 step (input with no lead above C3): each C2/C3 lead and its continuation become one
 * byte, continuations are squeezed out. Consumes 16 bytes, or 15 when byte 15 is a lead (its
 * continuation is in the next step). Writes up to 16 bytes at o; returns the characters. */
WSF_U8D_128
static inline size_t wsf_u8d_latin1_step128(__m128i in, uint8_t *o, size_t *consumed) {
    unsigned cont = wsf_u8d_continuations128(in);
    __m128i lead = _mm_cmpgt_epi8(in, _mm_set1_epi8(-65));           /* 00-7F and C0-FF */
    lead = _mm_andnot_si128(_mm_cmpgt_epi8(in, _mm_set1_epi8(-1)), lead); /* C0-FF */
    unsigned leads = (unsigned)_mm_movemask_epi8(lead);
    unsigned keep = ~cont & 0xFFFF;
    *consumed = 16;
    if (leads & 0x8000) { keep &= 0x7FFF; *consumed = 15; }
    __m128i next = _mm_srli_si128(in, 1);
    __m128i joined = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(in, _mm_set1_epi8(0x03)), 6),
                                  _mm_and_si128(next, _mm_set1_epi8(0x3F)));
    __m128i value = _mm_blendv_epi8(in, joined, lead);
    unsigned lo = keep & 0xFF, hi = keep >> 8;
    __m128i lo_idx = _mm_loadl_epi64((const __m128i *)wsf_utf8_compress8[lo]);
    __m128i hi_idx = _mm_add_epi8(_mm_loadl_epi64((const __m128i *)wsf_utf8_compress8[hi]),
                                  _mm_set1_epi8(8));
    _mm_storel_epi64((__m128i *)o, _mm_shuffle_epi8(value, lo_idx));
    _mm_storel_epi64((__m128i *)(o + wsf_utf8_popcount8[lo]), _mm_shuffle_epi8(value, hi_idx));
    return (size_t)wsf_utf8_popcount8[lo] + wsf_utf8_popcount8[hi];
}


static inline unsigned wsf_u8d_ctz(unsigned x) {
#if defined(_MSC_VER) && !defined(__clang__)
    unsigned long index;
    _BitScanForward(&index, x);
    return (unsigned)index;
#else
    return (unsigned)__builtin_ctz(x);
#endif
}

/* The 16 bytes at p, checked (into *err) against the bytes before them. */
WSF_U8D_128
static inline __m128i wsf_u8d_load_checked128(const uint8_t *data, const uint8_t *p, __m128i *err) {
    __m128i in = _mm_loadu_si128((const __m128i *)p);
    *err = _mm_or_si128(*err, wsf_u8d_check128(in, wsf_u8d_before128(data, p)));
    return in;
}

/* One step of each width at p: needs 16 bytes of input at p and room for 16 characters at o.
 * Returns the bytes consumed (0: invalid input) and sets *count to the characters written. A run
 * of at least six ASCII bytes is widened as a block (16 bytes written, the run's length kept). */
WSF_U8D_128
static inline size_t wsf_u8d_step_ucs1(const uint8_t *data, const uint8_t *p, uint8_t *o,
                                       size_t *count, __m128i *err) {
    __m128i in = wsf_u8d_load_checked128(data, p, err);
    if (_mm_movemask_epi8(in) == 0) {
        _mm_storeu_si128((__m128i *)o, in);
        *count = 16;
        return 16;
    }
    size_t consumed;
    *count = wsf_u8d_latin1_step128(in, o, &consumed);
    return consumed;
}

WSF_U8D_128
static inline size_t wsf_u8d_step_ucs2(const uint8_t *data, const uint8_t *p, uint16_t *o,
                                       size_t *count, __m128i *err) {
    __m128i in = wsf_u8d_load_checked128(data, p, err);
    unsigned non_ascii = (unsigned)_mm_movemask_epi8(in);
    if ((non_ascii & 0x3F) == 0) {
        _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi8(in, _mm_setzero_si128()));
        _mm_storeu_si128((__m128i *)(o + 8), _mm_unpackhi_epi8(in, _mm_setzero_si128()));
        *count = non_ascii ? wsf_u8d_ctz(non_ascii) : 16;
        return *count;
    }
    __m128i cps;
    const wsf_utf8_window_shape *shape;
    wsf_utf8_window window = wsf_u8d_window128(in, &cps, &shape);
    if (shape->lanes16) _mm_storeu_si128((__m128i *)o, cps);
    else _mm_storel_epi64((__m128i *)o, _mm_packus_epi32(cps, cps));
    *count = shape->count;
    return window.consumed;
}

/* The UCS-4 step on 16 bytes already loaded (and checked). */
WSF_U8D_128
static inline size_t wsf_u8d_convert_ucs4(__m128i in, uint32_t *o, size_t *count) {
    unsigned non_ascii = (unsigned)_mm_movemask_epi8(in);
    if ((non_ascii & 0x3F) == 0) {
        _mm_storeu_si128((__m128i *)o, _mm_cvtepu8_epi32(in));
        _mm_storeu_si128((__m128i *)(o + 4), _mm_cvtepu8_epi32(_mm_srli_si128(in, 4)));
        _mm_storeu_si128((__m128i *)(o + 8), _mm_cvtepu8_epi32(_mm_srli_si128(in, 8)));
        _mm_storeu_si128((__m128i *)(o + 12), _mm_cvtepu8_epi32(_mm_srli_si128(in, 12)));
        *count = non_ascii ? wsf_u8d_ctz(non_ascii) : 16;
        return *count;
    }
    __m128i cps;
    const wsf_utf8_window_shape *shape;
    wsf_utf8_window window = wsf_u8d_window128(in, &cps, &shape);
    if (shape->lanes16) {
        _mm_storeu_si128((__m128i *)o, _mm_cvtepu16_epi32(cps));
        _mm_storeu_si128((__m128i *)(o + 4), _mm_cvtepu16_epi32(_mm_srli_si128(cps, 8)));
    } else {
        _mm_storeu_si128((__m128i *)o, cps);
    }
    *count = shape->count;
    return window.consumed;
}

WSF_U8D_128
static inline size_t wsf_u8d_step_ucs4(const uint8_t *data, const uint8_t *p, uint32_t *o,
                                       size_t *count, __m128i *err) {
    return wsf_u8d_convert_ucs4(wsf_u8d_load_checked128(data, p, err), o, count);
}

/* The 128-bit loop of each width from p, then the scalar step for the last bytes; err carries
 * what earlier steps found. Returns as the transcoders of utf8_decode.h. */
#define WSF_U8D_LOOP128(NAME, T, STEP, TAIL)                                                       \
    WSF_U8D_128                                                                                    \
    static inline int NAME(const uint8_t *data, const uint8_t *p, const uint8_t *end, T *o,       \
                           T *oend, __m128i err) {                                                 \
        while (end - p >= 16 && oend - o >= 16) {                                                  \
            size_t count, consumed = STEP(data, p, o, &count, &err);                               \
            if (WSF_UNLIKELY(consumed == 0)) return 0;                                             \
            p += consumed;                                                                         \
            o += count;                                                                            \
        }                                                                                          \
        if (!_mm_testz_si128(err, err)) return 0;                                                  \
        return TAIL(p, end, o, oend);                                                              \
    }

WSF_U8D_LOOP128(wsf_u8d_loop128_ucs1, uint8_t, wsf_u8d_step_ucs1, wsf_utf8_tail_ucs1)
WSF_U8D_LOOP128(wsf_u8d_loop128_ucs2, uint16_t, wsf_u8d_step_ucs2, wsf_utf8_tail_ucs2)
WSF_U8D_LOOP128(wsf_u8d_loop128_ucs4, uint32_t, wsf_u8d_step_ucs4, wsf_utf8_tail_ucs4)

#endif /* WSF_HAVE_X86_KERNELS */
#endif /* WSF_UTF8_DECODE_X86_H */
