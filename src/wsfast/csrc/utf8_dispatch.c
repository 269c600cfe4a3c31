/* Chooses the UTF-8 validation kernel once, from the CPU's features and the level allowed. */
#include "cpu.h"
#include "utf8.h"
#include "wsf_simd.h"

typedef int (*wsf_utf8_kernel)(wsf_utf8_state *s, const uint8_t *data, size_t len);

static wsf_utf8_kernel wsf_utf8_active = wsf_utf8_feed_scalar;
static int wsf_utf8_active_level = WSF_SIMD_SCALAR;

int wsf_utf8_select(int level) {
    /* Only the scalar kernel exists so far. */
    (void)level;
    wsf_utf8_active = wsf_utf8_feed_scalar;
    wsf_utf8_active_level = WSF_SIMD_SCALAR;
    return wsf_utf8_active_level;
}

int wsf_utf8_level(void) { return wsf_utf8_active_level; }

int wsf_utf8_feed(wsf_utf8_state *s, const uint8_t *data, size_t len) {
    return wsf_utf8_active(s, data, len);
}

int wsf_utf8_valid(const uint8_t *data, size_t len) {
    wsf_utf8_state s;
    wsf_utf8_reset(&s);
    return wsf_utf8_feed(&s, data, len) && wsf_utf8_at_boundary(&s);
}
