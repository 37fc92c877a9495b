#include <string.h>
#include "util/embedded.h"

const struct cr_embedded_file *cr_embedded_find(const char *name)
{
	for (const struct cr_embedded_file *f = cr_embedded; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}
