/* Decoding UTF-8 straight into the storage of a CPython str (PEP 393: 1, 2 or 4 bytes per
 * character), validating in the same pass (RFC 3629; RFC 6455 §5.6 and §8.1).
 *
 * No Python API here: the caller (src/wsfast/_utf8.pyx) measures the input, allocates the str with
 * PyUnicode_New(shape.length, wsf_utf8_max_char(shape.max_byte)) and hands its buffer to the
 * transcoder of that width. The kind follows from the largest byte alone, for valid input:
 * below 80 every byte is ASCII; up to C3 the only lead bytes are C2/C3, so every character is
 * below U+0100; a lead E0-EF (or C4-DF) makes a character of U+0100-U+FFFF; F0-F4 one above.
 *
 * One kernel per instruction set (utf8_decode_scalar.c, utf8_decode_sse4.c, utf8_decode_avx2.c);
 * wsf_utf8_decoder_for() chooses by level.
 */
#ifndef WSF_UTF8_DECODE_H
#define WSF_UTF8_DECODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t length;    /* characters: the bytes that are not continuation bytes (80-BF) */
    uint8_t max_byte; /* the largest byte (when every byte is ASCII: some value below 80) */
} wsf_utf8_shape;

/* Each transcoder writes exactly `length` characters to `out` (which holds `length` of them and
 * not one more: it never writes past out + length) and returns 1 if `data` is complete, valid
 * UTF-8 of exactly `length` characters, all fitting the width; otherwise it returns 0, having
 * written garbage inside out[0:length], and the caller locates the error with the validator. */
typedef struct {
    void (*measure)(const uint8_t *data, size_t len, wsf_utf8_shape *shape);
    int (*to_ucs1)(const uint8_t *data, size_t len, uint8_t *out, size_t length);
    int (*to_ucs2)(const uint8_t *data, size_t len, uint16_t *out, size_t length);
    int (*to_ucs4)(const uint8_t *data, size_t len, uint32_t *out, size_t length);
    int level; /* the level of enum wsf_simd_level these kernels were chosen for */
} wsf_utf8_decoder;

/* The widest kernels <= level that this CPU supports (AVX2 at the AVX-512 level). Builds the
 * shared lookup tables on its first call: call it once before any thread may race. */
const wsf_utf8_decoder *wsf_utf8_decoder_for(int level);

/* The maxchar argument of PyUnicode_New for valid input whose largest byte is max_byte. */
static inline uint32_t wsf_utf8_max_char(uint8_t max_byte) {
    if (max_byte < 0x80) return 0x7F;
    if (max_byte <= 0xC3) return 0xFF;
    if (max_byte < 0xF0) return 0xFFFF;
    return 0x10FFFF;
}

/* Bytes that can never appear in UTF-8 (F5-FF): a max_byte above F4 means invalid input. */
#define WSF_UTF8_MAX_VALID_BYTE 0xF4

#endif /* WSF_UTF8_DECODE_H */
