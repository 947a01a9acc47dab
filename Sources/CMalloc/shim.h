#ifndef SUIFANG_CMALLOC_SHIM_H
#define SUIFANG_CMALLOC_SHIM_H

#include <stdlib.h> /* defines __GLIBC__ where the C library is glibc */

#if defined(__GLIBC__)
#include <malloc.h>

/// Allocations of `bytes` or more are mapped on their own and given back to the system when freed
/// (M_MMAP_THRESHOLD, which also stops glibc raising the threshold as large blocks are freed);
/// 1 when glibc took it.
static inline int suifang_set_malloc_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

/// Gives the free pages of every malloc arena back to the system (malloc_trim); 1 when some were.
static inline int suifang_release_free_memory(void) {
    return malloc_trim(0);
}
#else
/// Other C libraries: nothing to set (0).
static inline int suifang_set_malloc_mmap_threshold(int bytes) {
    (void)bytes;
    return 0;
}

/// Other C libraries: nothing to release (0).
static inline int suifang_release_free_memory(void) {
    return 0;
}
#endif
#endif
