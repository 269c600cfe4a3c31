/* NEON (aarch64) UTF-8 validation: 16 bytes a block, four blocks a step, with an ASCII fast path.
 * See utf8_kernels.h for the method and for how exact offsets and chunk boundaries are left to
 * the scalar step. */
#include "utf8_kernels.h"
#include "wsf_simd.h"

#include <string.h>

#if defined(WSF_HAVE_NEON_KERNELS)
#include <arm_neon.h>

#define WSF_U8_PREVNEON(in, prev, n) vextq_u8((prev), (in), 16 - (n))

static const uint8_t wsf_u8_t_b1h[16] = {WSF_U8_TABLE_BYTE1_HIGH};
static const uint8_t wsf_u8_t_b1l[16] = {WSF_U8_TABLE_BYTE1_LOW};
static const uint8_t wsf_u8_t_b2h[16] = {WSF_U8_TABLE_BYTE2_HIGH};
static const uint8_t wsf_u8_incomplete_limit[16] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0xDF, 0xBF};

static inline uint8x16_t wsf_u8_check_neon(uint8x16_t in, uint8x16_t prev, uint8x16_t t_b1h,
                                           uint8x16_t t_b1l, uint8x16_t t_b2h) {
    uint8x16_t p1 = WSF_U8_PREVNEON(in, prev, 1);
    uint8x16_t b1h = vqtbl1q_u8(t_b1h, vshrq_n_u8(p1, 4));
    uint8x16_t b1l = vqtbl1q_u8(t_b1l, vandq_u8(p1, vdupq_n_u8(0x0F)));
    uint8x16_t b2h = vqtbl1q_u8(t_b2h, vshrq_n_u8(in, 4));
    uint8x16_t special = vandq_u8(vandq_u8(b1h, b1l), b2h);
    uint8x16_t third = vqsubq_u8(WSF_U8_PREVNEON(in, prev, 2), vdupq_n_u8(0xE0 - 0x80));
    uint8x16_t fourth = vqsubq_u8(WSF_U8_PREVNEON(in, prev, 3), vdupq_n_u8(0xF0 - 0x80));
    uint8x16_t must23_80 = vandq_u8(vorrq_u8(third, fourth), vdupq_n_u8(0x80));
    return veorq_u8(must23_80, special);
}

static size_t wsf_u8_scan_neon(const uint8_t *data, size_t len) {
    const uint8x16_t t_b1h = vld1q_u8(wsf_u8_t_b1h), t_b1l = vld1q_u8(wsf_u8_t_b1l),
                     t_b2h = vld1q_u8(wsf_u8_t_b2h), limit = vld1q_u8(wsf_u8_incomplete_limit);
    uint8x16_t prev = vdupq_n_u8(0), incomplete = vdupq_n_u8(0);
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        uint8x16_t a = vld1q_u8(data + i), b = vld1q_u8(data + i + 16);
        uint8x16_t c = vld1q_u8(data + i + 32), d = vld1q_u8(data + i + 48);
        uint8x16_t any = vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d));
        if (WSF_LIKELY(vmaxvq_u8(any) < 0x80)) {
            if (vmaxvq_u8(incomplete)) return i;
            prev = d;
            continue;
        }
        uint8x16_t err = vorrq_u8(wsf_u8_check_neon(a, prev, t_b1h, t_b1l, t_b2h),
                                  wsf_u8_check_neon(b, a, t_b1h, t_b1l, t_b2h));
        err = vorrq_u8(err, vorrq_u8(wsf_u8_check_neon(c, b, t_b1h, t_b1l, t_b2h),
                                     wsf_u8_check_neon(d, c, t_b1h, t_b1l, t_b2h)));
        if (vmaxvq_u8(err)) return i;
        incomplete = vqsubq_u8(d, limit);
        prev = d;
    }
    for (; i + 16 <= len; i += 16) {
        uint8x16_t a = vld1q_u8(data + i);
        if (vmaxvq_u8(wsf_u8_check_neon(a, prev, t_b1h, t_b1l, t_b2h))) return i;
        prev = a;
    }
    if (i < len) {
        /* The tail, copied into a zeroed block: the padding is ASCII, which flags a code point
         * cut by the end as too short, so a clean tail means complete. An error only in the
         * padding means exactly that: a valid prefix that ends inside a code point, which the
         * scalar step finishes from the last lead byte. */
        uint8_t buf[16] = {0};
        memcpy(buf, data + i, len - i);
        uint8x16_t a = vld1q_u8(buf);
        uint8x16_t err = wsf_u8_check_neon(a, prev, t_b1h, t_b1l, t_b2h);
        if (!vmaxvq_u8(err)) return WSF_U8_COMPLETE;
        static const uint8_t iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        uint8x16_t real = vcltq_u8(vld1q_u8(iota), vdupq_n_u8((uint8_t)(len - i)));
        return vmaxvq_u8(vandq_u8(err, real)) ? i : len;
    }
    /* Ended on a block boundary: complete unless the last block ends inside a code point. */
    uint8x16_t err = vqsubq_u8(prev, limit);
    return (vmaxvq_u8(err)) ? len : WSF_U8_COMPLETE;
}

int wsf_utf8_feed_neon(wsf_utf8_state *s, const uint8_t *data, size_t len) {
    size_t start;
    if (!wsf_utf8_finish_open(s, data, len, &start)) return 0;
    data += start;
    len -= start;
    size_t pos = wsf_u8_scan_neon(data, len);
    if (pos == WSF_U8_COMPLETE) { s->offset += len; return 1; }
    return wsf_utf8_resume(s, data, len, pos);
}
#endif
