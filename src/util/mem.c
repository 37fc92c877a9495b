#include <stdint.h>
#include <stdlib.h>
#include "util/error.h"
#include "util/mem.h"

int cr_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;
	void *np;

	if (need <= *cap)
		return 0;
	while (n < need && n <= SIZE_MAX / 2)
		n *= 2;
	if (n < need || n > SIZE_MAX / size || !(np = realloc(*p, n * size)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	*p = np;
	*cap = n;
	return 0;
}
