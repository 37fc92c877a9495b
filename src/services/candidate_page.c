/* One page of the candidate list, newest first (created_at descending, then
 * candidate_id), and the view each list entry shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/ids.h"
#include "services/internal.h"
#include "util/error.h"
#include "util/json.h"

/* The list's order key of one candidate. */
struct key {
	char at[CR_TS_MAX];
	char id[CR_ID_MAX];
};

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = strcmp(y->at, x->at);
	return c ? c : strcmp(x->id, y->id);
}

static void list_prefix(char *buf, size_t len, cr_status filter)
{
	const char *name = filter == CR_STATUS_NONE ? "" : cr_status_name(filter);
	snprintf(buf, len, "c|%s|", name ? name : "");
}

/* The key a page starts after (the previous page's last), from PG's cursor;
 * *HAS false for the first page. */
static int page_after(const cr_page_req *pg, cr_status filter, struct key *after, bool *has)
{
	char prefix[64], rest[CR_TS_MAX + CR_ID_MAX + 2], *bar;
	int rc;

	*has = false;
	memset(after, 0, sizeof(*after));
	if (!pg->cursor || !*pg->cursor)
		return 0;
	list_prefix(prefix, sizeof(prefix), filter);
	if ((rc = cr_cursor_read(pg->cursor, prefix, rest, sizeof(rest))) < 0)
		return rc;
	bar = strchr(rest, '|');
	if (!bar || (size_t)(bar - rest) >= sizeof(after->at) || strlen(bar + 1) >= sizeof(after->id) ||
	    cr_candidate_id_invalid(bar + 1))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid cursor: not a position in the candidate list");
	memcpy(after->at, rest, (size_t)(bar - rest));
	after->at[bar - rest] = '\0';
	memcpy(after->id, bar + 1, strlen(bar + 1) + 1);
	*has = true;
	return 0;
}

static int next_cursor(char *next, cr_status filter, const cr_candidate *last)
{
	char payload[64 + CR_TS_MAX + CR_ID_MAX];
	size_t k;

	list_prefix(payload, sizeof(payload), filter);
	k = strlen(payload);
	snprintf(payload + k, sizeof(payload) - k, "%s|%s", last->created_at, last->candidate_id);
	return cr_cursor_make(next, payload);
}

/* Every candidate's key, in list order. */
static int all_keys(cr_txn *t, const cr_svc *s, struct key **out, size_t *n)
{
	cr_strlist ids = {0};
	struct key *k = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = s->ledger->list(t, CR_OBJ_CANDIDATE, NULL, &ids)) < 0)
		return rc;
	if (ids.n && !(k = calloc(ids.n, sizeof(*k)))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < ids.n; i++) {
		cr_candidate c = {0};
		cJSON *doc = NULL;
		if ((rc = cr_svc_get_json(t, s, CR_OBJ_CANDIDATE, ids.v[i], NULL, &doc)) == 0)
			rc = cr_candidate_from_json(doc, &c);
		cJSON_Delete(doc);
		if (rc < 0)
			goto cleanup;
		snprintf(k[i].at, sizeof(k[i].at), "%s", c.created_at);
		snprintf(k[i].id, sizeof(k[i].id), "%s", c.candidate_id);
		cr_candidate_clear(&c);
	}
	if (ids.n > 1)
		qsort(k, ids.n, sizeof(*k), key_cmp);
	*out = k;
	*n = ids.n;
	k = NULL;
cleanup:
	free(k);
	cr_strlist_clear(&ids);
	return rc;
}

/* The page from the ledger's order index: *USED false (nothing done) when
 * the ledger has none. Ids come in batches of what the page still needs
 * (plus one, to know whether another follows), fewer when the status
 * filter drops some. */
static int page_by_index(cr_txn *t, const cr_svc *s, cr_status filter, const cr_page_req *pg, const struct key *after,
			 bool has_after, cr_candidate_view *v, size_t *m, char *next, bool *used)
{
	struct key last = *after;
	bool has_last = has_after;
	int rc = 0;

	*used = false;
	if (!s->ledger->list_newest)
		return 0;
	for (;;) {
		cr_strlist ids = {0};
		size_t want = pg->limit - *m + 1;
		rc = s->ledger->list_newest(t, has_last ? last.at : NULL, has_last ? last.id : NULL, want, &ids);
		if (rc == 1 && !*used) {
			cr_strlist_clear(&ids);
			return 0;
		}
		*used = true;
		if (rc < 0) {
			cr_strlist_clear(&ids);
			return rc;
		}
		for (size_t i = 0; i < ids.n; i++) {
			cr_candidate_view one;
			if ((rc = cr_svc_candidate_view(t, s, ids.v[i], &one)) < 0)
				break;
			snprintf(last.at, sizeof(last.at), "%s", one.c.created_at);
			snprintf(last.id, sizeof(last.id), "%s", one.c.candidate_id);
			has_last = true;
			if (filter != CR_STATUS_NONE && one.status != filter) {
				cr_candidate_clear(&one.c);
				continue;
			}
			if (*m == pg->limit) {
				cr_candidate_clear(&one.c);
				if (next)
					rc = next_cursor(next, filter, &v[*m - 1].c);
				cr_strlist_clear(&ids);
				return rc;
			}
			v[(*m)++] = one;
		}
		/* Fewer than asked: the list ends here. */
		bool end = ids.n < want;
		cr_strlist_clear(&ids);
		if (rc < 0 || end)
			return rc;
	}
}

int cr_svc_list_page(const cr_svc *s, cr_status filter, const cr_page_req *pg, cr_candidate_view **out, size_t *n,
		     char *next)
{
	cr_txn *t = NULL;
	struct key *keys = NULL, after;
	cr_candidate_view *v = NULL, one;
	size_t nkeys = 0, m = 0, i = 0;
	bool has_after, used;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = page_after(pg, filter, &after, &has_after)) < 0)
		return rc;
	if (!(v = calloc(pg->limit, sizeof(*v))))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		goto cleanup;
	if ((rc = page_by_index(t, s, filter, pg, &after, has_after, v, &m, next, &used)) < 0 || used)
		goto done;
	/* A ledger written before the order index: sort every record. */
	if ((rc = all_keys(t, s, &keys, &nkeys)) < 0)
		goto cleanup;
	/* The first key after the cursor's (which may since be gone). */
	if (has_after)
		while (i < nkeys && key_cmp(&keys[i], &after) <= 0)
			i++;
	for (; i < nkeys; i++) {
		if ((rc = cr_svc_candidate_view(t, s, keys[i].id, &one)) < 0)
			goto cleanup;
		if (filter != CR_STATUS_NONE && one.status != filter) {
			cr_candidate_clear(&one.c);
			continue;
		}
		if (m == pg->limit) {
			/* One more: the next page starts after this page's last. */
			cr_candidate_clear(&one.c);
			if (next && (rc = next_cursor(next, filter, &v[m - 1].c)) < 0)
				goto cleanup;
			break;
		}
		v[m++] = one;
	}
done:
	if (rc < 0)
		goto cleanup;
	*out = v;
	*n = m;
	v = NULL;
	rc = 0;
cleanup:
	if (v) {
		for (size_t k = 0; k < m; k++)
			cr_candidate_clear(&v[k].c);
		free(v);
	}
	free(keys);
	s->ledger->end(t);
	return rc;
}

int cr_svc_newest_created_at(cr_txn *t, const cr_svc *s, char out[CR_TS_MAX])
{
	struct key *keys = NULL;
	size_t nkeys = 0;
	int rc;

	out[0] = '\0';
	/* A port without an order index has no order to keep. */
	if (!s->ledger->newest_created_at)
		return 0;
	if ((rc = s->ledger->newest_created_at(t, out, CR_TS_MAX)) != 1)
		return rc;
	/* No index: the newest of every record (once: the register that
	 * meets this writes the index). */
	out[0] = '\0';
	if ((rc = all_keys(t, s, &keys, &nkeys)) == 0 && nkeys)
		snprintf(out, CR_TS_MAX, "%s", keys[0].at);
	free(keys);
	return rc;
}
