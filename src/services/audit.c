/* The audit log, oldest first: whole, or one page. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/ids.h"
#include "services/internal.h"
#include "util/error.h"

/* Read and decode event ID into *E. */
static int read_event(cr_txn *t, const cr_svc *s, const char *id, cr_audit_event *e)
{
	cJSON *doc = NULL;
	int rc = cr_svc_get_json(t, s, CR_OBJ_AUDIT, id, NULL, &doc);

	if (rc == 0)
		rc = cr_audit_event_from_json(doc, e);
	cJSON_Delete(doc);
	return rc;
}

/* The cursor prefix of the log of CID (NULL: all). */
static void audit_prefix(char *buf, size_t len, const char *cid)
{
	snprintf(buf, len, "a|%s|", cid ? cid : "");
}

/* The event number a page starts at: 1, or the cursor's. */
static int page_start(const cr_page_req *pg, const char *cid, uint64_t *start)
{
	char prefix[160], rest[32], *end = NULL;
	unsigned long long v;
	int rc;

	*start = 1;
	if (!pg->cursor || !*pg->cursor)
		return 0;
	audit_prefix(prefix, sizeof(prefix), cid);
	if ((rc = cr_cursor_read(pg->cursor, prefix, rest, sizeof(rest))) < 0)
		return rc;
	errno = 0;
	v = strtoull(rest, &end, 10);
	if (errno || end == rest || *end || v == 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid cursor: not a position in the audit log");
	*start = v;
	return 0;
}

static int next_cursor(char *next, const char *cid, uint64_t n)
{
	char payload[200];

	audit_prefix(payload, sizeof(payload) - 24, cid);
	snprintf(payload + strlen(payload), 24, "%" PRIu64, n);
	return cr_cursor_make(next, payload);
}

/*
 * The ids of one page, in ledger order, into IDS; *MORE says whether an
 * event follows. The whole log is reached by id (audit/<f>/evt-NNN), from
 * the cursor's number up to the snapshot's counter: the cost is the page's,
 * whatever the size of the ledger. A candidate's log is its own events/.
 */
static int page_ids(cr_txn *t, const cr_svc *s, const char *cid, const cr_page_req *pg, cr_strlist *ids,
		    uint64_t *after)
{
	uint64_t start, last, num = 0;
	char id[CR_SHORT_ID_MAX], ref[64];
	int rc;

	*after = 0;
	if ((rc = page_start(pg, cid, &start)) < 0)
		return rc;
	if (cid) {
		cr_strlist all = {0};
		if ((rc = s->ledger->list(t, CR_OBJ_AUDIT, cid, &all)) < 0)
			return rc;
		for (size_t i = 0; rc == 0 && i < all.n; i++) {
			if (!cr_id_parse(all.v[i], CR_ID_EVENT, &num) || num < start)
				continue;
			if (ids->n == pg->limit) {
				*after = num;
				break;
			}
			rc = cr_strlist_push(ids, all.v[i]);
		}
		cr_strlist_clear(&all);
		return rc;
	}
	last = s->ledger->counter(t, CR_ID_EVENT);
	for (num = start; num <= last; num++) {
		cr_id_format(id, sizeof(id), CR_ID_EVENT, num);
		/* Numbers are never reused, but one may have no event (an id
		 * allocated by a transaction that never committed). */
		rc = s->ledger->ref_of(t, CR_OBJ_AUDIT, id, NULL, ref, sizeof(ref));
		if (rc == CR_ENOT_FOUND) {
			cr_error_clear();
			continue;
		}
		if (rc < 0)
			return rc;
		if (ids->n == pg->limit) {
			*after = num;
			break;
		}
		if ((rc = cr_strlist_push(ids, id)) < 0)
			return rc;
	}
	return 0;
}

int cr_svc_audit_log(const cr_svc *s, const char *cid, const cr_page_req *pg, cr_audit_event **out, size_t *n,
		     char *next)
{
	cr_txn *t = NULL;
	cr_strlist ids = {0};
	cr_audit_event *e = NULL;
	uint64_t after = 0;
	size_t m = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (next)
		next[0] = '\0';
	if (cid) {
		const char *why = cr_candidate_id_invalid(cid);
		if (why)
			return cr_error_set(CR_EINVALID_ARGUMENT, "invalid candidate id \"%.140s\": %s", cid, why);
	}
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	if (cid) {
		char *buf = NULL;
		if ((rc = s->ledger->get(t, CR_OBJ_CANDIDATE, cid, NULL, &buf, NULL)) < 0) {
			if (rc == CR_ENOT_FOUND)
				rc = cr_error_set(CR_ENOT_FOUND, "candidate %s not found", cid);
			goto cleanup;
		}
		free(buf);
	}
	if (cr_page_wanted(pg))
		rc = page_ids(t, s, cid, pg, &ids, &after);
	else
		rc = s->ledger->list(t, CR_OBJ_AUDIT, cid, &ids);
	if (rc < 0)
		goto cleanup;
	if (ids.n && !(e = calloc(ids.n, sizeof(*e)))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	for (; m < ids.n; m++)
		if ((rc = read_event(t, s, ids.v[m], &e[m])) < 0)
			goto cleanup;
	if (after && next && (rc = next_cursor(next, cid, after)) < 0)
		goto cleanup;
	*out = e;
	*n = m;
	e = NULL;
cleanup:
	if (e) {
		for (size_t i = 0; i < m; i++)
			cr_audit_event_clear(&e[i]);
		free(e);
	}
	cr_strlist_clear(&ids);
	s->ledger->end(t);
	return rc;
}

/* The policy ref: a linear history whose tip is the policy the ledger
 * records as in force. */
static int verify_policy(const cr_svc *s)
{
	cr_txn *t = NULL;
	cr_snapshot ps;
	cr_policy_binding b;
	uint64_t n = 0;
	int rc;

	if ((rc = s->policy->linear(s->policy->impl, NULL, NULL, &n)) < 0 || (rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	if ((rc = cr_svc_policy_binding(t, s, &b)) < 0)
		goto cleanup;
	rc = s->policy->resolve(s->policy->impl, NULL, NULL, &ps, NULL, false);
	if (rc == CR_EPOLICY_MISSING) {
		rc = b.found ? cr_error_set(CR_EINTEGRITY, "the ledger records a policy (%s), but the policy ref is missing",
					    b.event_id)
			     : 0;
		if (rc == 0)
			cr_error_clear();
		goto cleanup;
	}
	if (rc == 0)
		rc = cr_svc_policy_check_bound(t, s, &ps);
cleanup:
	s->ledger->end(t);
	return rc;
}

int cr_svc_verify(const cr_svc *s, const char *from, bool policy, uint64_t *commits, uint64_t *objects)
{
	int rc;

	*commits = *objects = 0;
	if ((rc = s->ledger->verify(s->ledger->impl, from, commits, objects)) < 0)
		return rc;
	return policy ? verify_policy(s) : 0;
}

int cr_svc_repair(const cr_svc *s, const char *to, uint64_t *commits)
{
	*commits = 0;
	if (!to || !to[0] || to[0] == '-')
		return cr_error_set(CR_EINVALID_ARGUMENT, "--to wants a commit of the ledger's reflog");
	return s->ledger->repair(s->ledger->impl, to, commits);
}
