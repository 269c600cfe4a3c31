/* Portable UTF-8 decoding into 1-, 2- or 4-byte characters: eight ASCII bytes at a time, then one
 * whole code point a step, each checked by RFC 3629 §4 as it is decoded. The SIMD kernels end
 * with the same steps (wsf_utf8_tail_ucs*). */
#include "utf8_decode_kernels.h"
#include "wsf_simd.h"

#define WSF_U8D_HIGH_BITS 0x8080808080808080ULL

void wsf_utf8_measure_scalar(const uint8_t *data, size_t len, wsf_utf8_shape *shape) {
    size_t i = 0, continuations = 0;
    uint8_t max_byte = 0;
    while (i < len) {
        if (i + 8 <= len && (wsf_load64(data + i) & WSF_U8D_HIGH_BITS) == 0) {
            i += 8;
            continue;
        }
        size_t stop = i + 8 <= len ? i + 8 : len;
        for (; i < stop; i++) {
            uint8_t b = data[i];
            if (b > max_byte) max_byte = b;
            continuations += (b & 0xC0) == 0x80;
        }
    }
    shape->length = len - continuations;
    shape->max_byte = max_byte;
}

static inline int wsf_u8d_is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

/* RFC 3629 §4: decodes the multi-byte character at p (p[0] >= 0x80), of which avail bytes are
 * there; returns its length, or 0 if it is not valid UTF-8 (a bad lead, a continuation out of the
 * range its lead allows: overlong, surrogate, above U+10FFFF; or cut short). */
static inline size_t wsf_u8d_multibyte(const uint8_t *p, size_t avail, uint32_t *cp) {
    uint8_t b = p[0];
    if (b < 0xC2) return 0;
    if (b < 0xE0) {
        if (avail < 2 || !wsf_u8d_is_cont(p[1])) return 0;
        *cp = ((uint32_t)(b & 0x1F) << 6) | (p[1] & 0x3F);
        return 2;
    }
    if (b < 0xF0) {
        uint8_t lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        if (avail < 3 || p[1] < lo || p[1] > hi || !wsf_u8d_is_cont(p[2])) return 0;
        *cp = ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return 3;
    }
    if (b < 0xF5) {
        uint8_t lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        if (avail < 4 || p[1] < lo || p[1] > hi || !wsf_u8d_is_cont(p[2]) || !wsf_u8d_is_cont(p[3]))
            return 0;
        *cp = ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
              ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
        return 4;
    }
    return 0;
}

/* One decoder per width; a code point wider than the width can only come from input whose
 * max_byte said otherwise, i.e. never from valid input, and is rejected. */
#define WSF_U8D_TAIL(NAME, T, LIMIT)                                                               \
    int NAME(const uint8_t *p, const uint8_t *end, T *o, T *oend) {                               \
        while (p < end) {                                                                          \
            if (o == oend) return 0;                                                               \
            if (*p < 0x80) {                                                                       \
                while (end - p >= 8 && oend - o >= 8 && (wsf_load64(p) & WSF_U8D_HIGH_BITS) == 0) { \
                    for (int k = 0; k < 8; k++) o[k] = p[k];                                       \
                    p += 8;                                                                        \
                    o += 8;                                                                        \
                }                                                                                  \
                if (p < end && *p < 0x80 && o < oend) *o++ = *p++;                                 \
                continue;                                                                          \
            }                                                                                      \
            uint32_t cp;                                                                           \
            size_t n = wsf_u8d_multibyte(p, (size_t)(end - p), &cp);                               \
            if (n == 0 || cp > (LIMIT)) return 0;                                                  \
            *o++ = (T)cp;                                                                          \
            p += n;                                                                                \
        }                                                                                          \
        return o == oend;                                                                          \
    }

WSF_U8D_TAIL(wsf_utf8_tail_ucs1, uint8_t, 0xFFu)
WSF_U8D_TAIL(wsf_utf8_tail_ucs2, uint16_t, 0xFFFFu)
WSF_U8D_TAIL(wsf_utf8_tail_ucs4, uint32_t, 0x10FFFFu)

int wsf_utf8_to_ucs1_scalar(const uint8_t *data, size_t len, uint8_t *out, size_t length) {
    return wsf_utf8_tail_ucs1(data, data + len, out, out + length);
}

int wsf_utf8_to_ucs2_scalar(const uint8_t *data, size_t len, uint16_t *out, size_t length) {
    return wsf_utf8_tail_ucs2(data, data + len, out, out + length);
}

int wsf_utf8_to_ucs4_scalar(const uint8_t *data, size_t len, uint32_t *out, size_t length) {
    return wsf_utf8_tail_ucs4(data, data + len, out, out + length);
}
