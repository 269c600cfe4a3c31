/* Internal to the UTF-8 kernels: the lookup tables of the SIMD validators and the prototypes of
 * the per-instruction-set kernels and the helpers they share. Not part of the C API (utf8.h).
 *
 * The SIMD kernels use the lookup-table method of Keiser and Lemire ("Validating UTF-8 in less
 * than one instruction per byte", Software: Practice and Experience, 2021): every byte is checked
 * against the one, two and three bytes before it with three 16-entry table look-ups (the high and
 * low nibble of the previous byte, the high nibble of this byte), whose AND has a bit set for every
 * rule of RFC 3629 §4 that the pair breaks; a byte two or three places after a 3- or 4-byte lead
 * must be a continuation, which the tables cannot see and a saturating subtraction supplies.
 *
 * Exact offsets and chunk boundaries: a SIMD kernel only ever answers "these N bytes are a valid
 * prefix" or "there is an error somewhere in this group of blocks". It starts at a code-point
 * boundary (the scalar step finishes a code point left open by the previous chunk), and on an
 * error, or at the end of its full blocks, it hands over to wsf_utf8_resume(), which backs up to
 * the last lead byte (at most 3 bytes back) and lets the scalar state machine find the exact
 * offset and the state to carry into the next chunk. So every kernel gives the scalar path's
 * verdict and offset at every split point.
 */
#ifndef WSF_UTF8_KERNELS_H
#define WSF_UTF8_KERNELS_H

#include "utf8.h"

/* Error bits of the tables (one bit per rule broken by a (previous byte, byte) pair). */
#define WSF_U8_TOO_SHORT (1 << 0)      /* lead followed by a lead or ASCII */
#define WSF_U8_TOO_LONG (1 << 1)       /* ASCII followed by a continuation */
#define WSF_U8_OVERLONG_3 (1 << 2)     /* E0 80-9F */
#define WSF_U8_TOO_LARGE (1 << 3)      /* F4 90-BF, F5-FF 90-BF */
#define WSF_U8_SURROGATE (1 << 4)      /* ED A0-BF (U+D800-U+DFFF) */
#define WSF_U8_OVERLONG_2 (1 << 5)     /* C0/C1 followed by a continuation */
#define WSF_U8_TOO_LARGE_1000 (1 << 6) /* F5-FF 80-8F */
#define WSF_U8_OVERLONG_4 (1 << 6)     /* F0 80-8F */
#define WSF_U8_TWO_CONTS (1 << 7)      /* continuation after continuation (unless must23) */
#define WSF_U8_CARRY (WSF_U8_TOO_SHORT | WSF_U8_TOO_LONG | WSF_U8_TWO_CONTS)

/* Indexed by the high nibble of the previous byte. */
#define WSF_U8_TABLE_BYTE1_HIGH                                                                    \
    WSF_U8_TOO_LONG, WSF_U8_TOO_LONG, WSF_U8_TOO_LONG, WSF_U8_TOO_LONG, WSF_U8_TOO_LONG,           \
        WSF_U8_TOO_LONG, WSF_U8_TOO_LONG, WSF_U8_TOO_LONG, WSF_U8_TWO_CONTS, WSF_U8_TWO_CONTS,     \
        WSF_U8_TWO_CONTS, WSF_U8_TWO_CONTS, WSF_U8_TOO_SHORT | WSF_U8_OVERLONG_2,                  \
        WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT | WSF_U8_OVERLONG_3 | WSF_U8_SURROGATE,                 \
        WSF_U8_TOO_SHORT | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000 | WSF_U8_OVERLONG_4

/* Indexed by the low nibble of the previous byte. */
#define WSF_U8_TABLE_BYTE1_LOW                                                                     \
    WSF_U8_CARRY | WSF_U8_OVERLONG_3 | WSF_U8_OVERLONG_2 | WSF_U8_OVERLONG_4,                      \
        WSF_U8_CARRY | WSF_U8_OVERLONG_2, WSF_U8_CARRY, WSF_U8_CARRY,                              \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE, WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,  \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,                                   \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,                                   \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,                                   \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,                                   \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,                                   \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,                                   \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,                                   \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000 | WSF_U8_SURROGATE,                \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000,                                   \
        WSF_U8_CARRY | WSF_U8_TOO_LARGE | WSF_U8_TOO_LARGE_1000

/* Indexed by the high nibble of the byte itself. */
#define WSF_U8_TABLE_BYTE2_HIGH                                                                    \
    WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT,      \
        WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT,                                      \
        WSF_U8_TOO_LONG | WSF_U8_OVERLONG_2 | WSF_U8_TWO_CONTS | WSF_U8_OVERLONG_3 |               \
            WSF_U8_TOO_LARGE_1000 | WSF_U8_OVERLONG_4,                                             \
        WSF_U8_TOO_LONG | WSF_U8_OVERLONG_2 | WSF_U8_TWO_CONTS | WSF_U8_OVERLONG_3 |               \
            WSF_U8_TOO_LARGE,                                                                      \
        WSF_U8_TOO_LONG | WSF_U8_OVERLONG_2 | WSF_U8_TWO_CONTS | WSF_U8_SURROGATE |                \
            WSF_U8_TOO_LARGE,                                                                      \
        WSF_U8_TOO_LONG | WSF_U8_OVERLONG_2 | WSF_U8_TWO_CONTS | WSF_U8_SURROGATE |                \
            WSF_U8_TOO_LARGE,                                                                      \
        WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT, WSF_U8_TOO_SHORT

/* What a SIMD scan returns when the whole chunk is valid and ends on a code-point boundary. */
#define WSF_U8_COMPLETE ((size_t)-1)

/* Hands over from a SIMD kernel to the scalar state machine. The state s is at a code-point
 * boundary at data[0]; data[0:pos] has been checked by SIMD and is a valid prefix (it may end
 * inside a code point). Backs up to the last lead byte among data[pos-3:pos], if any, and
 * validates from there to len with the scalar step. Returns as wsf_utf8_feed. */
int wsf_utf8_resume(wsf_utf8_state *s, const uint8_t *data, size_t len, size_t pos);

/* The kernels (each validates from any state, like wsf_utf8_feed_scalar). */
int wsf_utf8_feed_sse4(wsf_utf8_state *s, const uint8_t *data, size_t len);
int wsf_utf8_feed_avx2(wsf_utf8_state *s, const uint8_t *data, size_t len);
int wsf_utf8_feed_avx512(wsf_utf8_state *s, const uint8_t *data, size_t len);
int wsf_utf8_feed_neon(wsf_utf8_state *s, const uint8_t *data, size_t len);

/* Every kernel's entry: finishes a code point left open by the previous chunk with the scalar
 * step, so that the SIMD body starts at a boundary. Returns 0 on error, else sets *start to the
 * first byte the SIMD body should look at (<= len). */
static inline int wsf_utf8_finish_open(wsf_utf8_state *s, const uint8_t *data, size_t len,
                                       size_t *start) {
    size_t k = 0;
    if (s->failed) return 0;
    if (s->need) {
        k = s->need < len ? s->need : len;
        if (!wsf_utf8_feed_scalar(s, data, k)) return 0;
    }
    *start = k;
    return 1;
}

#endif /* WSF_UTF8_KERNELS_H */
