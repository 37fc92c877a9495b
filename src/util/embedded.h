#ifndef CR_UTIL_EMBEDDED_H
#define CR_UTIL_EMBEDDED_H
#include <stddef.h>

/* Files compiled into the binary (schemas/, the demo policy): see embed.sh. */
struct cr_embedded_file {
	const char *name;
	const char *data; /* NUL-terminated */
	size_t size;
};
extern const struct cr_embedded_file cr_embedded[];

/* The embedded file called NAME (a basename), or NULL. */
const struct cr_embedded_file *cr_embedded_find(const char *name);

#endif
