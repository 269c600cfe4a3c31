/* Chooses the UTF-8 decoding kernels by level, and builds the tables the SIMD ones share. */
#include "cpu.h"
#include "utf8_decode.h"
#include "utf8_decode_kernels.h"
#include "wsf_simd.h"

#include <string.h>

wsf_utf8_window wsf_utf8_windows[4096];
wsf_utf8_window_shape wsf_utf8_window_shapes[WSF_UTF8_WINDOW_SHAPES];
uint8_t wsf_utf8_compress8[256][8];
uint8_t wsf_utf8_popcount8[256];
uint8_t wsf_utf8_compress16[256][16];
uint32_t wsf_utf8_compress32[256][8];

static int wsf_u8d_tables_built;

/* The shape of a window whose first characters have the given lengths (in lanes of 16 bits when
 * lanes16, else of 32), added to wsf_utf8_window_shapes unless it is there already. */
static int wsf_u8d_shape_index(const uint8_t *lengths, int count, int lanes16, int *shapes) {
    wsf_utf8_window_shape shape;
    memset(&shape, 0, sizeof(shape));
    memset(shape.shuffle, 0x80, sizeof(shape.shuffle));
    shape.count = (uint8_t)count;
    shape.lanes16 = (uint8_t)lanes16;
    int lane_bytes = lanes16 ? 2 : 4, last = -1;
    for (int k = 0; k < count; k++) {
        last += lengths[k];
        /* Lowest byte of the lane: the character's last byte; then the ones before it. */
        for (int j = 0; j < lengths[k]; j++) shape.shuffle[k * lane_bytes + j] = (uint8_t)(last - j);
    }
    for (int i = 1; i < *shapes; i++) {
        if (memcmp(&wsf_utf8_window_shapes[i], &shape, sizeof(shape)) == 0) return i;
    }
    wsf_utf8_window_shapes[*shapes] = shape;
    return (*shapes)++;
}

void wsf_utf8_decode_build_tables(void) {
    if (wsf_u8d_tables_built) return;
    int shapes = 0;
    /* Shape 0 is never used by a valid window (consumed 0 marks those). */
    memset(&wsf_utf8_window_shapes[0], 0, sizeof(wsf_utf8_window_shapes[0]));
    shapes = 1;
    for (int mask = 0; mask < 4096; mask++) {
        uint8_t lengths[12];
        int count = 0, start = 0;
        for (int i = 0; i < 12; i++) {
            if (mask & (1 << i)) {
                lengths[count++] = (uint8_t)(i + 1 - start);
                start = i + 1;
            }
        }
        wsf_utf8_window window = {0, 0};
        int six_short = count >= 6;
        for (int k = 0; k < 6 && k < count; k++) six_short &= lengths[k] <= 2;
        if (six_short) {
            window.shape = (uint8_t)wsf_u8d_shape_index(lengths, 6, 1, &shapes);
            for (int k = 0; k < 6; k++) window.consumed += lengths[k];
        } else {
            /* Four characters of 1-3 bytes, else three of 1-4 (valid UTF-8 always ends at
             * least three characters in 12 bytes): 209 shapes in all, with the six above. */
            int take = 4, ok = count >= 4;
            for (int k = 0; k < 4 && ok; k++) ok &= lengths[k] <= 3;
            if (!ok) {
                take = 3;
                ok = count >= 3;
                for (int k = 0; k < 3 && ok; k++) ok &= lengths[k] <= 4;
            }
            if (ok) {
                window.shape = (uint8_t)wsf_u8d_shape_index(lengths, take, 0, &shapes);
                for (int k = 0; k < take; k++) window.consumed += lengths[k];
            }
        }
        wsf_utf8_windows[mask] = window;
    }
    for (int mask = 0; mask < 256; mask++) {
        int n = 0;
        memset(wsf_utf8_compress8[mask], 0x80, 8);
        memset(wsf_utf8_compress16[mask], 0x80, 16);
        memset(wsf_utf8_compress32[mask], 0, sizeof(wsf_utf8_compress32[mask]));
        for (int i = 0; i < 8; i++) {
            if (mask & (1 << i)) {
                wsf_utf8_compress16[mask][2 * n] = (uint8_t)(2 * i);
                wsf_utf8_compress16[mask][2 * n + 1] = (uint8_t)(2 * i + 1);
                wsf_utf8_compress32[mask][n] = (uint32_t)i;
                wsf_utf8_compress8[mask][n++] = (uint8_t)i;
            }
        }
        wsf_utf8_popcount8[mask] = (uint8_t)n;
    }
    wsf_u8d_tables_built = 1;
}

static const wsf_utf8_decoder wsf_u8d_scalar = {
    wsf_utf8_measure_scalar, wsf_utf8_to_ucs1_scalar, wsf_utf8_to_ucs2_scalar,
    wsf_utf8_to_ucs4_scalar, WSF_SIMD_SCALAR,
};

#if defined(WSF_HAVE_X86_KERNELS)
static const wsf_utf8_decoder wsf_u8d_sse4 = {
    wsf_utf8_measure_sse4, wsf_utf8_to_ucs1_sse4, wsf_utf8_to_ucs2_sse4, wsf_utf8_to_ucs4_sse4,
    WSF_SIMD_SSE2,
};
static const wsf_utf8_decoder wsf_u8d_avx2 = {
    wsf_utf8_measure_avx2, wsf_utf8_to_ucs1_avx2, wsf_utf8_to_ucs2_avx2, wsf_utf8_to_ucs4_avx2,
    WSF_SIMD_AVX2,
};
#endif

const wsf_utf8_decoder *wsf_utf8_decoder_for(int level) {
    wsf_utf8_decode_build_tables();
    int max = wsf_cpu_max_level();
    if (level > max) level = max;
#if defined(WSF_HAVE_X86_KERNELS)
    /* No AVX-512 transcoder: the AVX2 one serves that level. */
    if (level >= WSF_SIMD_AVX2) return &wsf_u8d_avx2;
    /* The 128-bit kernels need pshufb (SSSE3) and pmaddubsw/packusdw/ptest (SSSE3, SSE4.1). */
    unsigned need = WSF_CPU_SSSE3 | WSF_CPU_SSE41;
    if (level == WSF_SIMD_SSE2 && (wsf_cpu_features() & need) == need) return &wsf_u8d_sse4;
#endif
    return &wsf_u8d_scalar;
}
