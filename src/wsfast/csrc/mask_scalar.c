/* Portable masking kernel: eight bytes at a time, then the tail byte by byte. */
#include "mask.h"
#include "wsf_simd.h"

void wsf_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    /* The key repeats every 4 bytes, so a 64-bit word is the key twice (in memory order). */
    uint64_t key64 = ((uint64_t)key << 32) | key;
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        wsf_store64(dst + i, wsf_load64(src + i) ^ key64);
        wsf_store64(dst + i + 8, wsf_load64(src + i + 8) ^ key64);
        wsf_store64(dst + i + 16, wsf_load64(src + i + 16) ^ key64);
        wsf_store64(dst + i + 24, wsf_load64(src + i + 24) ^ key64);
    }
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
