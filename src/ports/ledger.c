#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "ports/ledger.h"
#include "util/error.h"
#include "util/mem.h"

int cr_strlist_push(cr_strlist *l, const char *s)
{
	if (cr_grow((void **)&l->v, &l->alloc, l->n + 1, sizeof(*l->v)) < 0)
		return CR_EINTERNAL;
	if (!(l->v[l->n] = strdup(s)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	l->n++;
	return 0;
}

void cr_strlist_clear(cr_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Lost races are normal under concurrent writers: retry for up to ~30 s
 * with jittered, growing sleeps so that twenty processes sort themselves out. */
#define MAX_ATTEMPTS 400

static void backoff(unsigned attempt)
{
	/* The jitter is drawn per call: no seed shared by threads. */
	unsigned r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		r = (unsigned)now.tv_nsec ^ (unsigned)getpid();
	}
	unsigned cap = attempt < 8 ? (1u << attempt) : 256; /* ms */
	unsigned ms = 1 + r % cap;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int cr_ledger_transact(const cr_ledger_port *l, const char *actor, cr_txn_fn fn, void *ctx)
{
	for (unsigned attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		cr_txn *t = NULL;
		char msg[1024] = "";
		int commit_anyway = 0, rc, crc;
		cr_error saved;

		if ((rc = l->begin(l->impl, &t)) < 0)
			return rc;
		rc = fn(t, ctx, msg, sizeof(msg), &commit_anyway);
		if (rc == CR_ERETRY) {
			l->end(t);
			backoff(attempt);
			continue;
		}
		if (rc < 0 && !commit_anyway) {
			l->end(t);
			return rc;
		}
		cr_error_save(&saved);
		crc = l->commit(t, msg, actor);
		l->end(t);
		if (crc == CR_ERETRY) {
			backoff(attempt);
			continue;
		}
		if (crc < 0)
			return crc;
		if (rc < 0)
			cr_error_restore(&saved);
		return rc;
	}
	return cr_error_set(CR_ECONFLICT, "concurrent update lost after %d retries; try again", MAX_ATTEMPTS);
}
