/* Portable masking kernel: eight bytes at a time, then the tail (see wsf_mask_words). */
#include "mask.h"
#include "wsf_simd.h"

void wsf_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    wsf_mask_words(dst, src, len, key);
}
