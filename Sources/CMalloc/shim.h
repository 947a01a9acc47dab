#ifndef SUIFANG_CMALLOC_SHIM_H
#define SUIFANG_CMALLOC_SHIM_H

#include <stdlib.h> /* defines __GLIBC__ where the C library is glibc */

#if defined(__GLIBC__)
#include <malloc.h>

/// Caps how many malloc arenas glibc makes (M_ARENA_MAX); 1 when glibc took it.
static inline int suifang_limit_malloc_arenas(int count) {
    return mallopt(M_ARENA_MAX, count);
}
#else
/// Other C libraries have no arenas to cap: nothing to do (0).
static inline int suifang_limit_malloc_arenas(int count) {
    (void)count;
    return 0;
}
#endif
#endif
