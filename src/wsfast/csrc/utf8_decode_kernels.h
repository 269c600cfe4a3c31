/* Internal to the UTF-8 decoders: the scalar step every kernel ends with, the window tables of
 * the SIMD transcoders and the per-instruction-set prototypes. Not part of the C API
 * (utf8_decode.h).
 *
 * The SIMD transcoders follow the method of Lemire and Keiser ("Transcoding billions of Unicode
 * characters per second with SIMD instructions", Software: Practice and Experience, 2022): a
 * window of 12 bytes that starts on a character is described by the 12-bit mask of the bytes
 * that end a character (the next byte is not a continuation byte); a table indexed by that mask
 * gives a byte shuffle that puts each character's bytes into its own 16- or 32-bit lane (last
 * byte lowest), how many characters that is and how many bytes they take. The lanes then become
 * code points with two multiply-adds, after each byte is masked down to its payload bits (the
 * mask follows from the byte's high nibble: 0xxx ASCII 7 bits, 10xx continuation 6, 110x lead 5,
 * 1110 lead 4, 1111 lead 3).
 *
 * The AVX2 kernels (utf8_decode_avx2.c) use a gather without tables for most steps instead.
 *
 * Validation is fused: the bytes are checked with the lookup method of Keiser and Lemire (as in
 * utf8_kernels.h) while they are transcoded, each 128-bit window against the 16 bytes before it,
 * or (AVX2) as one stream of 32-byte blocks kept ahead of the steps. Invalid input can only make
 * a transcoder write garbage inside the output (every store is bounded by the output's end) and
 * return 0; the caller then asks the validator where the first invalid byte is.
 */
#ifndef WSF_UTF8_DECODE_KERNELS_H
#define WSF_UTF8_DECODE_KERNELS_H

#include "utf8_decode.h"

/* --- scalar ------------------------------------------------------------------------------- */

void wsf_utf8_measure_scalar(const uint8_t *data, size_t len, wsf_utf8_shape *shape);

/* Strict decoders from p (which must start a character) to end, writing o up to oend: 1 if the
 * bytes are complete, valid UTF-8 of exactly oend - o characters. The SIMD kernels finish with
 * them; at the scalar level they do all the work. */
int wsf_utf8_tail_ucs1(const uint8_t *p, const uint8_t *end, uint8_t *o, uint8_t *oend);
int wsf_utf8_tail_ucs2(const uint8_t *p, const uint8_t *end, uint16_t *o, uint16_t *oend);
int wsf_utf8_tail_ucs4(const uint8_t *p, const uint8_t *end, uint32_t *o, uint32_t *oend);

int wsf_utf8_to_ucs1_scalar(const uint8_t *data, size_t len, uint8_t *out, size_t length);
int wsf_utf8_to_ucs2_scalar(const uint8_t *data, size_t len, uint16_t *out, size_t length);
int wsf_utf8_to_ucs4_scalar(const uint8_t *data, size_t len, uint32_t *out, size_t length);

/* --- window tables (utf8_decode_dispatch.c builds them) -------------------------------------- */

/* What a 12-byte window holds, by the mask of the bytes that end a character. */
typedef struct {
    uint8_t shape;    /* index into wsf_utf8_window_shapes */
    uint8_t consumed; /* bytes of the characters taken; 0: no valid UTF-8 has this mask */
} wsf_utf8_window;

/* A byte shuffle and what it yields. */
typedef struct {
    uint8_t shuffle[16]; /* pshufb indexes into the window (0x80: a zero byte) */
    uint8_t count;       /* characters */
    uint8_t lanes16;     /* 1: six characters of 1-2 bytes in 16-bit lanes; 0: 32-bit lanes */
    uint8_t pad[2];
} wsf_utf8_window_shape;

#define WSF_UTF8_WINDOW_SHAPES 256
extern wsf_utf8_window wsf_utf8_windows[4096];
extern wsf_utf8_window_shape wsf_utf8_window_shapes[WSF_UTF8_WINDOW_SHAPES];

/* For the Latin-1 transcoders: pshufb indexes that gather the bytes set in an 8-bit mask to the
 * front (the rest zero), and how many there are. */
extern uint8_t wsf_utf8_compress8[256][8];
extern uint8_t wsf_utf8_popcount8[256];
/* The same for 16-bit lanes: gathers the lanes set in an 8-bit mask to the front. */
extern uint8_t wsf_utf8_compress16[256][16];
/* And for 32-bit lanes, as vpermd indexes: the lanes set in an 8-bit mask first. */
extern uint32_t wsf_utf8_compress32[256][8];

void wsf_utf8_decode_build_tables(void);

/* --- SIMD kernels ------------------------------------------------------------------------- */

void wsf_utf8_measure_sse4(const uint8_t *data, size_t len, wsf_utf8_shape *shape);
int wsf_utf8_to_ucs1_sse4(const uint8_t *data, size_t len, uint8_t *out, size_t length);
int wsf_utf8_to_ucs2_sse4(const uint8_t *data, size_t len, uint16_t *out, size_t length);
int wsf_utf8_to_ucs4_sse4(const uint8_t *data, size_t len, uint32_t *out, size_t length);

void wsf_utf8_measure_avx2(const uint8_t *data, size_t len, wsf_utf8_shape *shape);
int wsf_utf8_to_ucs1_avx2(const uint8_t *data, size_t len, uint8_t *out, size_t length);
int wsf_utf8_to_ucs2_avx2(const uint8_t *data, size_t len, uint16_t *out, size_t length);
int wsf_utf8_to_ucs4_avx2(const uint8_t *data, size_t len, uint32_t *out, size_t length);

#endif /* WSF_UTF8_DECODE_KERNELS_H */
