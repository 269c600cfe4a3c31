/* XOR masking of WebSocket payloads (RFC 6455 §5.3):
 *     transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4)
 *
 * One kernel per instruction set (mask_scalar.c, mask_sse2.c, mask_avx2.c, mask_avx512.c,
 * mask_neon.c), chosen by mask_dispatch.c. They are linked into one extension, wsfast._kernels,
 * which the other modules call through.
 */
#ifndef WSF_MASK_H
#define WSF_MASK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wsf_simd.h"

/* A kernel masks `len` bytes from src into dst with `key`, the 4 key octets in memory order already
 * rotated to the phase of src[0]. dst may be src (in place); otherwise the two must not overlap. */
typedef void (*wsf_mask_kernel)(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);

void wsf_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
void wsf_mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
void wsf_mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
void wsf_mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
void wsf_mask_neon(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);

/* Masks len bytes starting at key phase `phase` (0-3): dst[i] = src[i] ^ key[(phase + i) % 4]. */
void wsf_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);

/* The key (4 octets in memory order) for the byte `consumed` bytes further on: its octets rotated
 * left by consumed % 4 positions in memory. */
static inline uint32_t wsf_rotate_key(uint32_t key, size_t consumed) {
    uint8_t k[4], r[4];
    size_t shift = consumed & 3;
    memcpy(k, &key, 4);
    for (size_t j = 0; j < 4; j++) r[j] = k[(j + shift) & 3];
    memcpy(&key, r, 4);
    return key;
}

/* Masks len bytes a machine word at a time, `key` already rotated to the phase of src[0]: the
 * scalar kernel, and the tail of every SIMD kernel. */
static inline void wsf_mask_words(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    /* The key repeats every 4 bytes, so a 64-bit word is the key twice (in memory order). */
    uint64_t key64 = ((uint64_t)key << 32) | key;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) wsf_store64(dst + i, wsf_load64(src + i) ^ key64);
    if (i + 4 <= len) {
        wsf_store32(dst + i, wsf_load32(src + i) ^ key);
        i += 4;
    }
    /* i is a multiple of 4 here, so the remaining bytes use key octets 0, 1, 2. */
    uint8_t k[4];
    memcpy(k, &key, 4);
    for (size_t j = 0; i < len; i++, j++) dst[i] = src[i] ^ k[j];
}

/* The same as wsf_mask, inlined into the caller: for payloads too short for a kernel call to pay
 * (<= 16 bytes). */
static inline void wsf_mask_short(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                                  size_t phase) {
    uint32_t k;
    memcpy(&k, key, 4);
    wsf_mask_words(dst, src, len, wsf_rotate_key(k, phase));
}

/* Selects the widest kernel <= level that the CPU supports; returns the level in use. */
int wsf_mask_select(int level);
int wsf_mask_level(void);

#endif /* WSF_MASK_H */
