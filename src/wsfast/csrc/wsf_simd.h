/* Portability macros for wsfast's SIMD kernels.
 *
 * The package is compiled for the baseline of its architecture (no -mavx2, no -march=native), so a
 * wheel runs on every CPU of that architecture. Each wider kernel carries its own target attribute
 * (WSF_TARGET) and is only called after cpu.c has confirmed the CPU and the OS support it.
 */
#ifndef WSF_SIMD_H
#define WSF_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64)
#  define WSF_X86_64 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#  define WSF_ARM64 1
#endif

/* GCC and clang need the target attribute to allow intrinsics above the baseline; MSVC allows
 * them anywhere. */
/* WSF_KEEP_IN_REGISTER(x): x must pass through a general-purpose register here, which keeps the
 * compiler from vectorizing the loop around it (MSVC does not vectorize such loops by itself). */
#if defined(__GNUC__) || defined(__clang__)
#  define WSF_TARGET(isa) __attribute__((target(isa)))
#  define WSF_LIKELY(x) __builtin_expect(!!(x), 1)
#  define WSF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define WSF_KEEP_IN_REGISTER(x) __asm__("" : "+r"(x))
#else
#  define WSF_TARGET(isa)
#  define WSF_LIKELY(x) (x)
#  define WSF_UNLIKELY(x) (x)
#  define WSF_KEEP_IN_REGISTER(x) ((void)0)
#endif

/* Kernels compiled for x86-64 with a compiler that understands the target attribute (or MSVC). */
#if defined(WSF_X86_64) && (defined(__GNUC__) || defined(__clang__) || defined(_MSC_VER))
#  define WSF_HAVE_X86_KERNELS 1
#endif

#if defined(WSF_ARM64)
#  define WSF_HAVE_NEON_KERNELS 1
#endif

/* Unaligned loads and stores of machine words, which compilers turn into single instructions. */
static inline uint64_t wsf_load64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void wsf_store64(void *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t wsf_load32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void wsf_store32(void *p, uint32_t v) { memcpy(p, &v, 4); }

#endif /* WSF_SIMD_H */
