#ifndef CR_UTIL_MEM_H
#define CR_UTIL_MEM_H
#include <stddef.h>

/* Make the array *P of *CAP elements of SIZE bytes hold at least NEED
 * (doubling, at least 8): 0, or CR_EINTERNAL "out of memory" with *P and
 * *CAP as they were. */
int cr_grow(void **p, size_t *cap, size_t need, size_t size);

#endif
