/* Incremental UTF-8 validation (RFC 3629; RFC 6455 §5.6 and §8.1 require text to be valid UTF-8).
 *
 * Strict: no overlong forms, no surrogates (U+D800-U+DFFF), nothing above U+10FFFF. Fail fast: the
 * validator stops at the first byte that can no longer be part of valid UTF-8, whatever follows
 * (F4 90 fails at the 90, ED A0 at the A0, C0/C1/F5-FF at once).
 *
 * One kernel per instruction set (utf8_scalar.c, utf8_<isa>.c), chosen by utf8_dispatch.c. They are
 * linked into one extension, wsfast._kernels, which the other modules call through.
 */
#ifndef WSF_UTF8_H
#define WSF_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t offset;       /* bytes fed so far: the absolute offset of the next byte */
    uint64_t error_offset; /* when failed: absolute offset of the first invalid byte */
    uint8_t need;          /* continuation bytes the current code point still needs (0-3) */
    uint8_t lo, hi;        /* the range the next continuation byte must fall in */
    uint8_t failed;        /* 1 once invalid; further input is ignored */
} wsf_utf8_state;

/* Inline, so that every compiled module can start a validation without linking the kernels. */
static inline void wsf_utf8_reset(wsf_utf8_state *s) { memset(s, 0, sizeof(*s)); }

/* Feeds the next chunk. Returns 1 while all input so far is a valid prefix of UTF-8, 0 once it is
 * not (then s->error_offset says where, and later calls return 0 without reading). */
int wsf_utf8_feed(wsf_utf8_state *s, const uint8_t *data, size_t len);

/* 1 if all input so far is valid and ends on a code-point boundary (a message may end here). */
static inline int wsf_utf8_at_boundary(const wsf_utf8_state *s) {
    return !s->failed && s->need == 0;
}

/* One shot: 1 if data is complete, valid UTF-8. */
int wsf_utf8_valid(const uint8_t *data, size_t len);

/* Scalar step used by every kernel for chunk heads and tails: validates len bytes from state s,
 * updating it; returns 1 or 0 as wsf_utf8_feed. */
int wsf_utf8_feed_scalar(wsf_utf8_state *s, const uint8_t *data, size_t len);

/* Selects the widest kernel <= level that the CPU supports; returns the level in use. Until it is
 * called, the scalar kernel runs (wsfast._kernels calls it at import). */
int wsf_utf8_select(int level);
int wsf_utf8_level(void);

#endif /* WSF_UTF8_H */
