/* Portable UTF-8 validation: eight ASCII bytes at a time, whole code points in one step, and a
 * small state machine for code points cut by a chunk's end and for locating errors exactly. */
#include "utf8.h"
#include "utf8_kernels.h"
#include "wsf_simd.h"

/* RFC 3629 §4 (UTF8-2/3/4): the lead byte fixes how many continuation bytes follow and the range
 * of the first one, which is what excludes overlongs, surrogates and code points above U+10FFFF. */
static inline int wsf_utf8_lead(uint8_t b, uint8_t *need, uint8_t *lo, uint8_t *hi) {
    if (b >= 0xC2 && b <= 0xDF) { *need = 1; *lo = 0x80; *hi = 0xBF; return 1; }
    if (b == 0xE0) { *need = 2; *lo = 0xA0; *hi = 0xBF; return 1; }
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) { *need = 2; *lo = 0x80; *hi = 0xBF; return 1; }
    if (b == 0xED) { *need = 2; *lo = 0x80; *hi = 0x9F; return 1; }
    if (b == 0xF0) { *need = 3; *lo = 0x90; *hi = 0xBF; return 1; }
    if (b >= 0xF1 && b <= 0xF3) { *need = 3; *lo = 0x80; *hi = 0xBF; return 1; }
    if (b == 0xF4) { *need = 3; *lo = 0x80; *hi = 0x8F; return 1; }
    return 0; /* 80-C1 as a lead byte, F5-FF */
}

/* 1 if b is a continuation byte (80-BF). */
static inline int wsf_utf8_is_cont(uint8_t b) { return (int8_t)b < -64; }

int wsf_utf8_feed_scalar(wsf_utf8_state *s, const uint8_t *data, size_t len) {
    if (s->failed) return 0;
    size_t i = 0;
    uint8_t need = s->need, lo = s->lo, hi = s->hi;
    while (i < len) {
        if (need == 0) {
            /* ASCII run: eight bytes at a time. */
            while (i + 8 <= len && (wsf_load64(data + i) & 0x8080808080808080ULL) == 0) i += 8;
            while (i < len && data[i] < 0x80) i++;
            if (i == len) break;
            /* Fast path: a whole valid code point inside the chunk is accepted in one step.
             * Anything else (an error, or a code point cut by the chunk's end) goes through the
             * state machine below, byte by byte, which finds the exact offset. */
            uint8_t b = data[i];
            if (b >= 0xC2 && b <= 0xDF) {
                if (i + 1 < len && wsf_utf8_is_cont(data[i + 1])) { i += 2; continue; }
            } else if ((b & 0xF0) == 0xE0) {
                if (i + 2 < len) {
                    uint8_t c1 = data[i + 1];
                    int ok1 = b == 0xE0 ? (c1 >= 0xA0 && c1 <= 0xBF)
                            : b == 0xED ? (c1 >= 0x80 && c1 <= 0x9F) : wsf_utf8_is_cont(c1);
                    if (ok1 && wsf_utf8_is_cont(data[i + 2])) { i += 3; continue; }
                }
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (i + 3 < len) {
                    uint8_t c1 = data[i + 1];
                    int ok1 = b == 0xF0 ? (c1 >= 0x90 && c1 <= 0xBF)
                            : b == 0xF4 ? (c1 >= 0x80 && c1 <= 0x8F) : wsf_utf8_is_cont(c1);
                    if (ok1 && wsf_utf8_is_cont(data[i + 2]) && wsf_utf8_is_cont(data[i + 3])) {
                        i += 4;
                        continue;
                    }
                }
            }
            if (!wsf_utf8_lead(b, &need, &lo, &hi)) goto fail;
            i++;
            continue;
        }
        uint8_t b = data[i];
        if (b < lo || b > hi) goto fail;
        lo = 0x80; hi = 0xBF;
        need--;
        i++;
    }
    s->need = need; s->lo = lo; s->hi = hi;
    s->offset += len;
    return 1;
fail:
    s->failed = 1;
    s->error_offset = s->offset + i;
    s->offset += i;
    s->need = 0;
    return 0;
}

int wsf_utf8_resume(wsf_utf8_state *s, const uint8_t *data, size_t len, size_t pos) {
    /* data[0:pos] is a valid prefix starting at a boundary, so a code point still open at pos has
     * its lead among the last three bytes; everything before that lead is complete. */
    size_t from = pos;
    for (size_t back = 1; back <= 3 && back <= pos; back++) {
        if (data[pos - back] >= 0xC0) {
            from = pos - back;
            break;
        }
    }
    s->offset += from;
    return wsf_utf8_feed_scalar(s, data + from, len - from);
}
