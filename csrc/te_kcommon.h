/*
 * Shared by the kernel families: the status numbers and the run-time ISA
 * dispatch helpers. Not part of any family's interface.
 *
 * The status numbers are the same as taskengine's te_status (and Rust's
 * EngineError::code()); only the ones a kernel can return are defined here.
 * Every kernel writes its outputs only when it returns TE_K_OK, except where
 * a header documents an error detail written through an out-parameter.
 */
#ifndef TE_KCOMMON_H
#define TE_KCOMMON_H

#define TE_K_OK 0
#define TE_K_ERR_NULL 1
#define TE_K_ERR_INVALID 2
#define TE_K_ERR_OVERFLOW 3
#define TE_K_ERR_UTF8 10
#define TE_K_ERR_BUFFER_TOO_SMALL 12

/* Run-time dispatch: the library must run on any x86-64, so wider code paths
 * are compiled with a target attribute and chosen once the CPU is known. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define TE_K_X86_DISPATCH 1
#define TE_K_TARGET_AVX2 __attribute__((target("avx2")))
static inline int te_k_cpu_has_avx2(void)
{
    /* Both builtins are cheap after the first call (libgcc keeps the answer),
     * and calling init here covers callers that run before constructors. */
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}
#else
#define TE_K_X86_DISPATCH 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TE_K_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define TE_K_ALWAYS_INLINE static inline
#endif

/* Reads the byte *p exactly once: the compiler may not repeat the load,
 * so a value checked once stays the value used, even if another thread
 * writes the caller's memory meanwhile. (A relaxed atomic load is a plain
 * load on every target we build for.) */
#if defined(__GNUC__) || defined(__clang__)
#define TE_K_LOAD_ONCE(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#else
#define TE_K_LOAD_ONCE(p) (*(const volatile unsigned char *)(p))
#endif

#endif
