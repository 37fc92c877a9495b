#ifndef CR_ADAPTERS_SYSTEM_SYSTEM_H
#define CR_ADAPTERS_SYSTEM_SYSTEM_H
/* Adapters of the local machine: the cache directory and the rule compiler. */
#include "ports/cache.h"
#include "ports/rules.h"

/* A cache port on directory DIR (created on the first put); SHARED: the
 * repository's core.sharedRepository (util/fs.h), applied to what it writes. */
int cr_cache_dir_open(cr_cache_port *out, const char *dir, int shared);
void cr_cache_dir_close(cr_cache_port *p);

/* A rules port on the engine, keeping its prefilter databases in CACHE's
 * directory (CACHE borrowed for the port's life; NULL: no cache). */
void cr_rules_engine(cr_rules_port *out, const cr_cache_port *cache);

#endif
