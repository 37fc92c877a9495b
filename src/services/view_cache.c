/*
 * The local cache of candidate views, for the whole candidate list: one
 * entry, candidate-views.bin, holding every candidate's view and the
 * ledger's token (the candidates tree) it was derived at. A list reads the
 * entry, asks the ledger which candidates changed since that token (a walk
 * that skips unchanged subtrees), derives those again, and writes the entry
 * back when anything changed. A view derives from its candidate's own
 * evidence only, except an unfinished run's liveness, which is local state:
 * such views are derived again every time. Gates never read this cache:
 * every write derives its candidate's view inside its own transaction.
 *
 * The entry (services/pack.h): "CRVIEWv1", str token, u64 count, then per
 * view: str candidate_id, version, source_snapshot, source_commit,
 * created_by, created_at, u8 status, str latest_import_id,
 * latest_manifest_id, latest_run_id, latest_report_id,
 * latest_manifest_import_id, latest_import_event, latest_manifest_digest,
 * approved_report_id, latest_publication_id, latest_task_id,
 * u8 run_unfinished; the SHA-256.
 */
#include <stdlib.h>
#include <string.h>
#include "services/internal.h"
#include "services/pack.h"
#include "util/error.h"
#include "util/mem.h"

#define VIEWS_ENTRY "candidate-views.bin"
#define VIEWS_MAGIC "CRVIEWv1"
#define TOKEN_MAX 72

static void pack_view(cr_sbuf *b, const cr_candidate_view *v)
{
	cr_pk_str(b, v->c.candidate_id);
	cr_pk_str(b, v->c.version);
	cr_pk_str(b, v->c.source_snapshot);
	cr_pk_str(b, v->c.source_commit);
	cr_pk_str(b, v->c.created_by);
	cr_pk_str(b, v->c.created_at);
	cr_pk_u8(b, (uint8_t)v->status);
	cr_pk_str(b, v->latest_import_id);
	cr_pk_str(b, v->latest_manifest_id);
	cr_pk_str(b, v->latest_run_id);
	cr_pk_str(b, v->latest_report_id);
	cr_pk_str(b, v->latest_manifest_import_id);
	cr_pk_str(b, v->latest_import_event);
	cr_pk_str(b, v->latest_manifest_digest);
	cr_pk_str(b, v->approved_report_id);
	cr_pk_str(b, v->latest_publication_id);
	cr_pk_str(b, v->latest_task_id);
	cr_pk_u8(b, v->run_unfinished);
}

static bool unpack_view(cr_unpacker *u, cr_candidate_view *v)
{
	const char *by;
	uint8_t status;

	memset(v, 0, sizeof(*v));
	cr_up_fixed(u, v->c.candidate_id, sizeof(v->c.candidate_id));
	cr_up_fixed(u, v->c.version, sizeof(v->c.version));
	cr_up_fixed(u, v->c.source_snapshot, sizeof(v->c.source_snapshot));
	cr_up_fixed(u, v->c.source_commit, sizeof(v->c.source_commit));
	by = cr_up_str(u);
	cr_up_fixed(u, v->c.created_at, sizeof(v->c.created_at));
	status = cr_up_u8(u);
	cr_up_fixed(u, v->latest_import_id, sizeof(v->latest_import_id));
	cr_up_fixed(u, v->latest_manifest_id, sizeof(v->latest_manifest_id));
	cr_up_fixed(u, v->latest_run_id, sizeof(v->latest_run_id));
	cr_up_fixed(u, v->latest_report_id, sizeof(v->latest_report_id));
	cr_up_fixed(u, v->latest_manifest_import_id, sizeof(v->latest_manifest_import_id));
	cr_up_fixed(u, v->latest_import_event, sizeof(v->latest_import_event));
	cr_up_fixed(u, v->latest_manifest_digest, sizeof(v->latest_manifest_digest));
	cr_up_fixed(u, v->approved_report_id, sizeof(v->approved_report_id));
	cr_up_fixed(u, v->latest_publication_id, sizeof(v->latest_publication_id));
	cr_up_fixed(u, v->latest_task_id, sizeof(v->latest_task_id));
	v->run_unfinished = cr_up_u8(u) != 0;
	if (status == CR_STATUS_NONE || status >= CR_STATUS__COUNT || !by)
		u->bad = true;
	if (u->bad || !(v->c.created_by = strdup(by))) {
		u->bad = true;
		return false;
	}
	v->status = (cr_status)status;
	return true;
}

typedef struct views {
	cr_candidate_view *v;
	size_t n, alloc;
} views;

static void views_clear(views *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		cr_candidate_clear(&vs->v[i].c);
	free(vs->v);
	memset(vs, 0, sizeof(*vs));
}

static cr_candidate_view *views_add(views *vs)
{
	if (cr_grow((void **)&vs->v, &vs->alloc, vs->n + 1, sizeof(*vs->v)) < 0)
		return NULL;
	return &vs->v[vs->n++];
}

/* Room for N views in all, exactly (a view is 1 KiB: at 10,000 candidates
 * doubling would leave megabytes unused). */
static int views_reserve(views *vs, size_t n)
{
	cr_candidate_view *v;

	if (n <= vs->alloc)
		return 0;
	if (!(v = realloc(vs->v, n * sizeof(*v))))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	vs->v = v;
	vs->alloc = n;
	return 0;
}

/* The cached views and their token; nothing (and no error) when there is
 * no entry or it does not check out. */
static void load_entry(const cr_svc *s, views *vs, char token[TOKEN_MAX])
{
	char *buf = NULL, *strings = NULL;
	size_t len = 0;
	cr_unpacker u;

	token[0] = '\0';
	if (!s->cache || s->cache->get(s->cache->impl, VIEWS_ENTRY, &buf, &len) < 0 || !(strings = malloc(len)) ||
	    !cr_up_open(&u, buf, len, VIEWS_MAGIC, strings))
		goto done;
	if (!cr_up_fixed(&u, token, TOKEN_MAX))
		goto done;
	uint64_t n = cr_up_u64(&u);
	if (n > u.left / 20 || views_reserve(vs, (size_t)n) < 0) /* a view takes more than 20 bytes */
		u.bad = true;
	for (uint64_t i = 0; i < n && !u.bad; i++) {
		cr_candidate_view *v = views_add(vs);
		if (!v || !unpack_view(&u, v)) {
			if (v)
				vs->n--;
			u.bad = true;
		}
	}
	if (u.bad || u.left) {
		views_clear(vs);
		token[0] = '\0';
	}
done:
	free(strings);
	free(buf);
	cr_error_clear();
}

static void store_entry(const cr_svc *s, const views *vs, const char *token)
{
	cr_sbuf b = {0};

	if (!s->cache || !s->cache->put)
		return;
	cr_sb_put(&b, VIEWS_MAGIC, strlen(VIEWS_MAGIC));
	cr_pk_str(&b, token);
	cr_pk_u64(&b, vs->n);
	for (size_t i = 0; i < vs->n; i++)
		pack_view(&b, &vs->v[i]);
	if (cr_pk_seal(&b, "the candidate views") == 0)
		s->cache->put(s->cache->impl, VIEWS_ENTRY, b.p, b.len); /* best effort */
	cr_sb_free(&b);
	cr_error_clear();
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cr_svc_all_views(cr_txn *t, const cr_svc *s, cr_candidate_view **out, size_t *n)
{
	views have = {0};
	cr_strlist changed = {0}, again = {0};
	char token[TOKEN_MAX], now[TOKEN_MAX] = "";
	bool dirty = false;
	int rc;

	*out = NULL;
	*n = 0;
	load_entry(s, &have, token);
	rc = s->ledger->changed_since ? s->ledger->changed_since(t, token[0] ? token : NULL, &changed, now, sizeof(now))
				      : CR_ENOT_FOUND;
	if (rc == CR_ENOT_FOUND) {
		/* No token to start from: every candidate is derived. */
		cr_error_clear();
		views_clear(&have);
		cr_strlist_clear(&changed);
		now[0] = '\0';
		if ((rc = s->ledger->list(t, CR_OBJ_CANDIDATE, NULL, &changed)) < 0)
			goto cleanup;
	}
	if (rc < 0)
		goto cleanup;
	if (changed.n > 1)
		qsort(changed.v, changed.n, sizeof(*changed.v), cmp_str);
	/* Unchanged views from the cache, as they are, kept in place unless
	 * their run is unfinished (whether its runner lives is not evidence):
	 * one array of views at a time. */
	size_t kept = 0;
	for (size_t i = 0; i < have.n; i++) {
		cr_candidate_view *v = &have.v[i];
		const char *key = v->c.candidate_id;
		bool drop = changed.n && bsearch(&key, changed.v, changed.n, sizeof(*changed.v), cmp_str);
		if (!drop && v->run_unfinished) {
			if ((rc = cr_strlist_push(&again, key)) < 0)
				goto cleanup;
			drop = true;
		}
		if (drop) {
			cr_candidate_clear(&v->c);
			continue;
		}
		if (kept != i) {
			have.v[kept] = *v;
			v->c.created_by = NULL; /* moved */
		}
		kept++;
	}
	have.n = kept;
	if ((rc = views_reserve(&have, have.n + changed.n + again.n)) < 0)
		goto cleanup;
	for (size_t i = 0; i < changed.n + again.n; i++) {
		cr_candidate_view *r = views_add(&have);
		if (!r) {
			rc = cr_error_set(CR_EINTERNAL, "out of memory");
			goto cleanup;
		}
		rc = cr_svc_candidate_view(t, s, i < changed.n ? changed.v[i] : again.v[i - changed.n], r);
		if (rc < 0)
			have.n--;
		if (rc == CR_ENOT_FOUND) { /* gone from this snapshot */
			cr_error_clear();
			rc = 0;
		}
		if (rc < 0)
			goto cleanup;
	}
	dirty = changed.n > 0;
	if (dirty || strcmp(token, now))
		store_entry(s, &have, now);
	*out = have.v;
	*n = have.n;
	memset(&have, 0, sizeof(have));
cleanup:
	views_clear(&have);
	cr_strlist_clear(&changed);
	cr_strlist_clear(&again);
	return rc;
}
