#ifndef CR_PORTS_CACHE_H
#define CR_PORTS_CACHE_H
/*
 * Local cache port: files beside the task files (never pushed, always
 * rebuildable from the evidence). The services keep derived forms there
 * (packed manifests, candidate views) keyed by the object ids they derive
 * from, and whoever reads one still checks what the evidence decides.
 */
#include <stddef.h>

typedef struct cr_cache_port {
	void *impl;
	/* Entry NAME ([a-z0-9.-], not starting with '.') into a malloc'd
	 * buffer (the caller's); CR_ENOT_FOUND when absent. */
	int (*get)(void *impl, const char *name, char **buf, size_t *len);
	/* Replace entry NAME atomically (readers see the old or the new
	 * bytes); best effort: a repository the user cannot write refuses.
	 * NULL in a cache that is only read (a read-only open). */
	int (*put)(void *impl, const char *name, const char *buf, size_t len);
	/* The directory of the entries, for a cache kept by a library that
	 * names its own files (the prefilter database). */
	const char *(*dir)(void *impl);
} cr_cache_port;

#endif
