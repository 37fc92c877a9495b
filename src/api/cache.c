/* Answers kept by each server thread, keyed by the ledger tip (api/internal.h).
 *
 * Every read the facade answers is a function of the ledger tip, except
 * what is live: a run in progress (its task file), the liveness of a
 * runner, the policy ref, a task. A handler marks its answer cacheable only
 * when it is none of those (a candidate whose run is finished, a finished
 * run, manifests, violations, reports, the audit log), and a GET of such a
 * route is answered from here as long as the tip has not moved: one ref
 * read instead of the objects. Each thread has its own (no lock); when the
 * tip moves, or the thread's budget is spent, everything is dropped. */
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"
#include "util/mem.h"

#define SLOTS 512                       /* a power of two */
#define BUDGET ((size_t)4 * 1024 * 1024) /* bytes of answers a thread keeps */
#define ENTRY_MAX ((size_t)256 * 1024)

typedef struct entry {
	uint64_t hash;
	char *key;
	char *body;
	size_t len;
} entry;

struct cr_api_cache {
	char tip[48];
	entry slot[SLOTS];
	size_t bytes, used;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void drop_all(cr_api_cache *c)
{
	for (size_t i = 0; i < SLOTS; i++) {
		free(c->slot[i].key);
		free(c->slot[i].body);
	}
	memset(c->slot, 0, sizeof(c->slot));
	c->bytes = c->used = 0;
}

cr_api_cache *cr_api_cache_new(void) { return calloc(1, sizeof(cr_api_cache)); }

void cr_api_cache_free(cr_api_cache *c)
{
	if (!c)
		return;
	drop_all(c);
	free(c);
}

/* The slot of KEY: its own, or the empty one where it would go. */
static entry *find(cr_api_cache *c, const char *key, uint64_t h)
{
	for (size_t i = h & (SLOTS - 1), n = 0; n < SLOTS; i = (i + 1) & (SLOTS - 1), n++) {
		entry *e = &c->slot[i];
		if (!e->key || (e->hash == h && !strcmp(e->key, key)))
			return e;
	}
	return NULL;
}

bool cr_api_cache_get(cr_api_cache *c, const char *tip, const char *key, const char **body, size_t *len)
{
	entry *e;

	if (strcmp(c->tip, tip)) {
		drop_all(c);
		snprintf(c->tip, sizeof(c->tip), "%s", tip);
		return false;
	}
	if (!(e = find(c, key, fnv(key))) || !e->key)
		return false;
	*body = e->body;
	*len = e->len;
	return true;
}

void cr_api_cache_put(cr_api_cache *c, const char *tip, const char *key, const char *body, size_t len)
{
	uint64_t h = fnv(key);
	entry *e;

	if (strcmp(c->tip, tip) || len > ENTRY_MAX)
		return; /* the tip moved while the answer was made: it may be older */
	if (c->bytes + len > BUDGET || c->used >= SLOTS / 2) {
		drop_all(c);
		snprintf(c->tip, sizeof(c->tip), "%s", tip);
	}
	if (!(e = find(c, key, h)) || e->key)
		return;
	if (!(e->key = strdup(key)) || !(e->body = malloc(len))) {
		free(e->key);
		e->key = NULL;
		return;
	}
	memcpy(e->body, body, len);
	e->len = len;
	e->hash = h;
	c->bytes += len;
	c->used++;
}
