/* NEON masking kernel (aarch64): 64 bytes per iteration. */
#include "mask.h"
#include "wsf_simd.h"

#if defined(WSF_HAVE_NEON_KERNELS)
#include <arm_neon.h>

void wsf_mask_neon(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    const uint8x16_t k = vreinterpretq_u8_u32(vdupq_n_u32(key));
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        uint8x16x4_t v = vld1q_u8_x4(src + i);
        v.val[0] = veorq_u8(v.val[0], k);
        v.val[1] = veorq_u8(v.val[1], k);
        v.val[2] = veorq_u8(v.val[2], k);
        v.val[3] = veorq_u8(v.val[3], k);
        vst1q_u8_x4(dst + i, v);
    }
    for (; i + 16 <= len; i += 16) vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), k));
    wsf_mask_scalar(dst + i, src + i, len - i, key);
}
#endif
