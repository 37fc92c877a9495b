/*
 * Sync's replay: the local operations a clone appended while another clone
 * appended to the server's ledger, replayed one by one on top of the
 * fetched ledger (a linear log, as gittuf keeps it: no merge of two
 * histories). Each operation passes its gate again on the merged ledger:
 * one the merge made invalid (an approval whose report is no longer the
 * latest, a candidate id the other clone registered first) is recorded as
 * REFUSED, with why, never replayed blindly. Counter ids (imp, man, run,
 * rpt, apr, pub, evt) are allocated again on the merged ledger, and every
 * reference to them rewritten; each replayed audit event names the event
 * and commit it replays and the ids it renumbered. The evidence of a run
 * (its events, violations and report) is the run that happened: it is
 * carried over, not run again.
 *
 * The ledger port S writes to is detached (adapters/git): its commits
 * build a chain on the fetched tip and move no ref; the facade moves the
 * local ref once the whole chain verifies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/ids.h"
#include "domain/lifecycle.h"
#include "services/internal.h"
#include "util/error.h"
#include "util/json.h"

struct idmap {
	struct { char old[CR_SHORT_ID_MAX], new_[CR_SHORT_ID_MAX]; } *v;
	size_t n, cap;
};

struct obj {
	cr_objkind kind;
	char cid[160], key[CR_SHORT_ID_MAX * 2], sub[32];
	cJSON *doc;
};

struct commit {
	struct obj *o;
	size_t n, cap;
	cr_commit_info info;
	const char *hex;
};

struct replay {
	const cr_svc *s;
	const char *remote;
	struct idmap map;
	cr_strlist dropped_runs, dropped_cands;
	cr_replay_result *out;
};

static const char *map_get(const struct idmap *m, const char *old)
{
	for (size_t i = m->n; i-- > 0;)
		if (!strcmp(m->v[i].old, old))
			return m->v[i].new_;
	return NULL;
}

static int map_put(struct idmap *m, const char *old, const char *new_)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		void *p = realloc(m->v, cap * sizeof(*m->v));
		if (!p)
			return cr_error_set(CR_EINTERNAL, "out of memory");
		m->v = p;
		m->cap = cap;
	}
	snprintf(m->v[m->n].old, sizeof(m->v[0].old), "%s", old);
	snprintf(m->v[m->n].new_, sizeof(m->v[0].new_), "%s", new_);
	m->n++;
	return 0;
}

static bool listed(const cr_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

static void commit_clear(struct commit *c)
{
	for (size_t i = 0; i < c->n; i++)
		cJSON_Delete(c->o[i].doc);
	free(c->o);
	memset(c, 0, sizeof(*c));
}

static int collect(const cr_ledger_object *lo, void *ctx)
{
	struct commit *c = ctx;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct obj *p = realloc(c->o, cap * sizeof(*p));
		if (!p)
			return cr_error_set(CR_EINTERNAL, "out of memory");
		c->o = p;
		c->cap = cap;
	}
	struct obj *o = &c->o[c->n];
	memset(o, 0, sizeof(*o));
	o->kind = lo->kind;
	snprintf(o->cid, sizeof(o->cid), "%s", lo->cid ? lo->cid : "");
	snprintf(o->key, sizeof(o->key), "%s", lo->key);
	snprintf(o->sub, sizeof(o->sub), "%s", lo->sub ? lo->sub : "");
	int rc = cr_json_parse(&o->doc, lo->buf, lo->len, "a ledger object");
	if (rc == 0)
		c->n++;
	return rc;
}

/* ---- rewriting ids ------------------------------------------------------ */

/* The new form of an id string S ("" when it does not change). */
static const char *mapped(const struct idmap *m, const char *s, char *buf, size_t len)
{
	const char *n = map_get(m, s);
	if (n)
		return n;
	/* run-001-v000001 (a violation) and task-run-001 (its task) carry the run id. */
	const char *v = strstr(s, "-v");
	if (!strncmp(s, "run-", 4) && v) {
		char run[CR_SHORT_ID_MAX];
		snprintf(run, sizeof(run), "%.*s", (int)(v - s), s);
		if ((n = map_get(m, run))) {
			snprintf(buf, len, "%s%s", n, v);
			return buf;
		}
	}
	if (!strncmp(s, "task-", 5) && (n = map_get(m, s + 5))) {
		snprintf(buf, len, "task-%s", n);
		return buf;
	}
	return NULL;
}

static bool is_id_key(const char *k)
{
	size_t n = k ? strlen(k) : 0;
	return n > 3 && !strcmp(k + n - 3, "_id");
}

/* Every string under a key ending in _id, and every detail of an audit
 * event, that names a renumbered id. */
static void rewrite(cJSON *node, const struct idmap *m, bool in_details)
{
	cJSON *it;
	cJSON_ArrayForEach(it, node) {
		if (cJSON_IsString(it) && (in_details || is_id_key(it->string))) {
			char buf[CR_SHORT_ID_MAX * 2];
			const char *n = mapped(m, it->valuestring, buf, sizeof(buf));
			if (n)
				cJSON_SetValuestring(it, n);
		} else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			rewrite(it, m, in_details || (it->string && !strcmp(it->string, "details")));
		}
	}
}

/* The commit message with every renumbered id in it replaced. */
static void rewrite_message(const char *msg, const struct idmap *m, char *out, size_t len)
{
	size_t o = 0, line = strcspn(msg, "\n");
	for (size_t i = 0; i < line && o + 1 < len;) {
		size_t w = strcspn(msg + i, " ()\n");
		if (w == 0) {
			out[o++] = msg[i++];
			continue;
		}
		char word[CR_SHORT_ID_MAX * 2], buf[CR_SHORT_ID_MAX * 2];
		snprintf(word, sizeof(word), "%.*s", (int)(w < sizeof(word) - 1 ? w : sizeof(word) - 1), msg + i);
		const char *n = w < sizeof(word) - 1 ? mapped(m, word, buf, sizeof(buf)) : NULL;
		int k = n ? snprintf(out + o, len - o, "%s", n) : snprintf(out + o, len - o, "%.*s", (int)w, msg + i);
		o += k > 0 ? (size_t)k : 0;
		if (o >= len)
			o = len - 1;
		i += w;
	}
	out[o] = '\0';
}

/* ---- one commit --------------------------------------------------------- */

static struct obj *find(struct commit *c, cr_objkind kind)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->o[i].kind == kind)
			return &c->o[i];
	return NULL;
}

static cr_op op_of(const char *type, bool *found)
{
	*found = true;
	for (int op = 0; op < CR_OP__COUNT; op++)
		if (!strcmp(type, cr_op_audit_type((cr_op)op)))
			return (cr_op)op;
	*found = false;
	return CR_OP__COUNT;
}

static const char *mapped_or(const struct idmap *m, const char *id)
{
	const char *n = id ? map_get(m, id) : NULL;
	return n ? n : id ? id : "";
}

/* Why the operation C records cannot be replayed at T (into WHY; *CODE the
 * error it is refused with), or "" when it can. */
static int gate(struct replay *r, cr_txn *t, struct commit *c, const char *type, const char *cid, char *why,
		size_t len, int *code)
{
	const cr_svc *s = r->s;
	cr_candidate_view v;
	bool is_op;
	int rc;

	why[0] = '\0';
	*code = CR_EINVALID_TRANSITION;
	if (cid[0] && listed(&r->dropped_cands, cid)) {
		snprintf(why, len, "the registration of %s from this clone was refused by this sync", cid);
		return 0;
	}
	for (size_t i = 0; i < c->n; i++)
		if ((c->o[i].kind == CR_OBJ_RUN_EVENT || c->o[i].kind == CR_OBJ_VIOLATIONS) &&
		    listed(&r->dropped_runs, c->o[i].key)) {
			snprintf(why, len, "its run %s was refused by this sync", c->o[i].key);
			return 0;
		}
	if (!strcmp(type, CR_AUDIT_POLICY_PUBLISH)) {
		cr_policy_binding b;
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(find(c, CR_OBJ_AUDIT)->doc, "details");
		const char *pc = cr_json_str(d, "policy_commit"), *ver = cr_json_str(d, "policy_version");
		if ((rc = cr_svc_policy_binding(t, s, &b)) < 0)
			return rc;
		if (b.found && b.commit[0] && pc &&
		    ((rc = s->ledger->descends(s->ledger->impl, b.commit, pc)) != 1 || !ver || strtoll(ver, NULL, 10) <= b.version)) {
			if (rc < 0)
				return rc;
			*code = CR_ECONFLICT;
			snprintf(why, len, "%s published policy %s v%lld (%s) meanwhile; publish yours again on top of it", r->remote,
				 b.policy_id, (long long)b.version, b.event_id);
		}
		return 0;
	}
	cr_op op = op_of(type, &is_op);
	if (op == CR_OP_REGISTER) {
		char *buf = NULL;
		rc = s->ledger->get(t, CR_OBJ_CANDIDATE, cid, NULL, &buf, NULL);
		free(buf);
		if (rc == CR_ENOT_FOUND) {
			cr_error_clear();
			return 0;
		}
		if (rc < 0)
			return rc;
		*code = CR_ECONFLICT;
		snprintf(why, len, "candidate %s was registered on %s meanwhile", cid, r->remote);
		return 0;
	}
	if (!cid[0])
		return 0;
	if ((rc = cr_svc_candidate_view(t, s, cid, &v)) < 0) {
		if (rc != CR_ENOT_FOUND)
			return rc;
		cr_error_clear();
		snprintf(why, len, "candidate %s is not in the merged ledger", cid);
		*code = CR_ENOT_FOUND;
		return 0;
	}
	const char *no = is_op ? cr_lifecycle_may(v.status, op) : NULL;
	struct obj *o;
	if (no) {
		snprintf(why, len, "%s is %s on the merged ledger; %s", cid, cr_status_name(v.status), no);
	} else if ((op == CR_OP_APPROVE || op == CR_OP_REJECT) && (o = find(c, CR_OBJ_APPROVAL)) &&
		   strcmp(mapped_or(&r->map, cr_json_str(o->doc, "report_id")), v.latest_report_id)) {
		*code = CR_EGATE_REFUSED;
		snprintf(why, len, "report %s is no longer the latest of %s (%s is)",
			 mapped_or(&r->map, cr_json_str(o->doc, "report_id")), cid, v.latest_report_id);
	} else if (op == CR_OP_PUBLISH && (o = find(c, CR_OBJ_PUBLICATION)) &&
		   strcmp(mapped_or(&r->map, cr_json_str(o->doc, "report_id")), v.approved_report_id)) {
		*code = CR_EGATE_REFUSED;
		snprintf(why, len, "report %s is not the one %s was approved on (%s)",
			 mapped_or(&r->map, cr_json_str(o->doc, "report_id")), cid, v.approved_report_id);
	} else if (op == CR_OP_MANIFEST_BUILD && (o = find(c, CR_OBJ_MANIFEST)) &&
		   strcmp(mapped_or(&r->map, cr_json_str(o->doc, "import_id")), v.latest_import_id)) {
		*code = CR_EGATE_REFUSED;
		snprintf(why, len, "import %s is no longer the latest of %s (%s is)",
			 mapped_or(&r->map, cr_json_str(o->doc, "import_id")), cid, v.latest_import_id);
	} else if (op == CR_OP_RUN) {
		for (size_t i = 0; i < c->n; i++)
			if (c->o[i].kind == CR_OBJ_RUN_EVENT && !strcmp(c->o[i].sub, "requested") &&
			    strcmp(mapped_or(&r->map, cr_json_str(c->o[i].doc, "manifest_id")), v.latest_manifest_id)) {
				*code = CR_EGATE_REFUSED;
				snprintf(why, len, "manifest %s is no longer the latest of %s (%s is)",
					 mapped_or(&r->map, cr_json_str(c->o[i].doc, "manifest_id")), cid,
					 v.latest_manifest_id);
			}
	}
	cr_candidate_clear(&v.c);
	return 0;
}

static int alloc_as(cr_txn *t, const cr_svc *s, struct idmap *m, const char *old, cr_idkind k, size_t *renumbered)
{
	char id[CR_SHORT_ID_MAX];
	int rc = s->ledger->alloc(t, k, id, sizeof(id));
	if (rc < 0)
		return rc;
	if (strcmp(id, old))
		(*renumbered)++;
	return map_put(m, old, id);
}

/* The ids commit C defines, allocated again at T (the map learns them). */
static int renumber(struct replay *r, cr_txn *t, struct commit *c)
{
	static const struct { cr_objkind kind; cr_idkind id; } order[] = {
		{CR_OBJ_IMPORT, CR_ID_IMPORT}, {CR_OBJ_MANIFEST, CR_ID_MANIFEST}, {CR_OBJ_RUN_EVENT, CR_ID_RUN},
		{CR_OBJ_REPORT, CR_ID_REPORT}, {CR_OBJ_APPROVAL, CR_ID_APPROVAL}, {CR_OBJ_PUBLICATION, CR_ID_PUBLICATION},
		{CR_OBJ_AUDIT, CR_ID_EVENT},
	};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (size_t i = 0; i < c->n; i++) {
			struct obj *o = &c->o[i];
			if (o->kind != order[k].kind || (o->kind == CR_OBJ_RUN_EVENT && strcmp(o->sub, "requested")))
				continue;
			int rc = alloc_as(t, r->s, &r->map, o->key, order[k].id, &r->out->renumbered);
			if (rc < 0)
				return rc;
		}
	return 0;
}

/* DOC (an audit event) says what it replays: the event and commit, and the
 * ids renumbered. */
static int mark_replayed(cJSON *doc, const char *old_event, const char *commit, const struct idmap *m, size_t from)
{
	cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "details");
	char ids[1024] = "";
	size_t len = 0;
	for (size_t i = from; i < m->n && len < sizeof(ids) - 1; i++)
		if (strcmp(m->v[i].old, m->v[i].new_))
			len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%s>%s", len ? "," : "", m->v[i].old, m->v[i].new_);
	if (len >= sizeof(ids))
		len = sizeof(ids) - 1;
	if (!d || !cJSON_AddStringToObject(d, "replayed_from", old_event) ||
	    !cJSON_AddStringToObject(d, "replayed_commit", commit) || (len && !cJSON_AddStringToObject(d, "replayed_ids", ids)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	return 0;
}

static int fix_report(cJSON **doc)
{
	cr_report rep = {0};
	char digest[CR_SHA_MAX];
	int rc = cr_report_from_json(*doc, &rep);
	if (rc == 0 && (rc = cr_report_digest(&rep, digest)) == 0) {
		cJSON *d = cJSON_CreateString(digest);
		if (!d || !cJSON_ReplaceItemInObjectCaseSensitive(*doc, "report_digest", d)) {
			cJSON_Delete(d);
			rc = cr_error_set(CR_EINTERNAL, "out of memory");
		}
	}
	cr_report_clear(&rep);
	return rc;
}

/* Stage every object of C as rewritten by the map. */
static int transplant(struct replay *r, cr_txn *t, struct commit *c, size_t map_from)
{
	const cr_svc *s = r->s;
	for (size_t i = 0; i < c->n; i++) {
		struct obj *o = &c->o[i];
		char key[CR_SHORT_ID_MAX * 2], buf[CR_SHORT_ID_MAX * 2];
		const char *k = o->kind == CR_OBJ_CANDIDATE ? o->key : mapped(&r->map, o->key, buf, sizeof(buf));
		snprintf(key, sizeof(key), "%s", k ? k : o->key);
		rewrite(o->doc, &r->map, false);
		int rc = 0;
		if (o->kind == CR_OBJ_REPORT)
			rc = fix_report(&o->doc);
		else if (o->kind == CR_OBJ_AUDIT)
			rc = mark_replayed(o->doc, o->key, c->hex, &r->map, map_from);
		else if (o->kind == CR_OBJ_CANDIDATE) {
			/* Never before the newest candidate: the list order holds. */
			char newest[CR_TS_MAX];
			const char *at = cr_json_str(o->doc, "created_at");
			if ((rc = cr_svc_newest_created_at(t, s, newest)) == 0 && at && newest[0] && strcmp(at, newest) < 0)
				cJSON_SetValuestring(cJSON_GetObjectItemCaseSensitive(o->doc, "created_at"), newest);
		}
		if (rc < 0)
			return rc;
		rc = cr_svc_put_json(t, s, o->kind, o->cid[0] ? o->cid : NULL, key, o->sub[0] ? o->sub : NULL, o->doc);
		o->doc = NULL; /* put_json took it */
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Record the operation of C as REFUSED at T: its audit event, outcome
 * REFUSED with the error, the status now, and what it replays. */
static int refuse(struct replay *r, cr_txn *t, struct commit *c, struct obj *ev, const char *cid, int code,
		  const char *why, char *msg, size_t msglen)
{
	const cr_svc *s = r->s;
	char id[CR_SHORT_ID_MAX], text[1200];
	int rc;

	/* What it would have defined never exists: later operations on it are refused too. */
	for (size_t i = 0; i < c->n; i++) {
		if (c->o[i].kind == CR_OBJ_RUN_EVENT && !strcmp(c->o[i].sub, "requested"))
			cr_strlist_push(&r->dropped_runs, c->o[i].key);
		if (c->o[i].kind == CR_OBJ_CANDIDATE)
			cr_strlist_push(&r->dropped_cands, c->o[i].key);
	}
	if (!ev) { /* violations or a start of a refused run: nothing to record */
		r->out->dropped++;
		return 0;
	}
	if ((rc = s->ledger->alloc(t, CR_ID_EVENT, id, sizeof(id))) < 0)
		return rc;
	size_t from = r->map.n;
	if ((rc = map_put(&r->map, ev->key, id)) < 0)
		return rc;
	cJSON *doc = ev->doc;
	rewrite(doc, &r->map, false);
	cJSON_SetValuestring(cJSON_GetObjectItemCaseSensitive(doc, "event_id"), id);
	cJSON_SetValuestring(cJSON_GetObjectItemCaseSensitive(doc, "outcome"), "REFUSED");
	cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "details");
	cJSON_DeleteItemFromObjectCaseSensitive(d, "error");
	snprintf(text, sizeof(text), "replayed by git clean-release sync onto %s's ledger: %s", r->remote, why);
	cJSON *err = cJSON_CreateObject();
	if (!err || !cJSON_AddStringToObject(err, "code", cr_error_name(code)) ||
	    !cJSON_AddStringToObject(err, "message", text) || !cJSON_AddItemToObject(d, "error", err)) {
		cJSON_Delete(err);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	if (cid[0]) {
		cr_candidate_view v;
		if (cr_svc_candidate_view(t, s, cid, &v) == 0) {
			cJSON_DeleteItemFromObjectCaseSensitive(d, "status");
			cJSON_AddStringToObject(d, "status", cr_status_name(v.status));
			cr_candidate_clear(&v.c);
		} else {
			cr_error_clear();
		}
	}
	if ((rc = mark_replayed(doc, ev->key, c->hex, &r->map, from)) < 0)
		return rc;
	const char *type = cr_json_str(doc, "type");
	snprintf(msg, msglen, "%s%s%s REFUSED (%s)", type ? type : "operation", cid[0] ? " " : "", cid, id);
	rc = cr_svc_put_json(t, s, CR_OBJ_AUDIT, cid[0] ? cid : NULL, id, NULL, doc);
	ev->doc = NULL;
	r->out->refused++;
	return rc;
}

static int replay_one(struct replay *r, const cr_ledger_port *local, const char *hex)
{
	const cr_svc *s = r->s;
	struct commit c = {.hex = hex};
	cr_txn *t = NULL;
	char why[1024], msg[1400];
	int rc, code;

	if ((rc = local->commit_objects(local->impl, hex, &c.info, collect, &c)) < 0)
		goto done;
	struct obj *ev = find(&c, CR_OBJ_AUDIT);
	const char *type = ev ? cr_json_str(ev->doc, "type") : "";
	const char *outcome = ev ? cr_json_str(ev->doc, "outcome") : "ACCEPTED";
	char cid[160] = "";
	for (size_t i = 0; i < c.n && !cid[0]; i++)
		snprintf(cid, sizeof(cid), "%s", c.o[i].cid);
	if (!type || !outcome) {
		rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: an audit event without type or outcome", hex);
		goto done;
	}
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		goto done;
	/* A refusal recorded here stays one: it is carried over as it is
	 * (unless what it refers to was refused by this replay). */
	if ((rc = gate(r, t, &c, strcmp(outcome, "REFUSED") ? type : "", cid, why, sizeof(why), &code)) < 0)
		goto done;
	if (why[0]) {
		rc = refuse(r, t, &c, ev, cid, code, why, msg, sizeof(msg));
	} else {
		size_t from = r->map.n;
		/* Signed again, by this clone's key, where the merged ledger's policy wants it. */
		char principal[260] = "";
		if (ev && !strcmp(outcome, "ACCEPTED")) {
			if ((rc = cr_svc_sign_gate(t, s, type, principal, sizeof(principal))) < 0) {
				char why[CR_ERROR_MSG_MAX];
				snprintf(why, sizeof(why), "%s", cr_error_last()->message);
				cr_error_set(rc, "cannot replay %s %s: %s", type, cid, why);
				goto done;
			}
			/* The signer is the actor; one it acts for is kept as on_behalf_of. */
			cJSON *d = cJSON_GetObjectItemCaseSensitive(ev->doc, "details");
			const char *was = cr_json_str(ev->doc, "actor");
			cJSON_DeleteItemFromObjectCaseSensitive(d, "signed_by");
			if (principal[0] && was && strcmp(was, principal)) {
				cJSON_DeleteItemFromObjectCaseSensitive(d, "on_behalf_of");
				if (!cJSON_AddStringToObject(d, "on_behalf_of", was) ||
				    !cJSON_ReplaceItemInObjectCaseSensitive(ev->doc, "actor", cJSON_CreateString(principal))) {
					rc = cr_error_set(CR_EINTERNAL, "out of memory");
					goto done;
				}
			}
			if (principal[0] && !cJSON_AddStringToObject(d, "signed_by", principal)) {
				rc = cr_error_set(CR_EINTERNAL, "out of memory");
				goto done;
			}
		}
		if ((rc = renumber(r, t, &c)) == 0 && (rc = transplant(r, t, &c, from)) == 0) {
			rewrite_message(c.info.message, &r->map, msg, sizeof(msg));
			r->out->replayed++;
		}
	}
	if (rc == 0 && (rc = s->ledger->commit(t, msg, c.info.actor)) == 0 && cid[0] && !listed(&r->out->touched, cid))
		rc = cr_strlist_push(&r->out->touched, cid);
done:
	if (t)
		s->ledger->end(t);
	commit_clear(&c);
	return rc;
}

static int note_run(const cr_ledger_object *o, void *ctx)
{
	if (o->kind == CR_OBJ_RUN_EVENT && !strcmp(o->sub, "requested"))
		return cr_strlist_push(ctx, o->key);
	return 0;
}

/* CR_ECONFLICT while a run the local commits request is unfinished: its
 * runner appends to the local ledger still. */
static int runs_finished(const cr_ledger_port *local, const cr_strlist *commits)
{
	cr_strlist runs = {0};
	cr_commit_info info;
	cr_txn *t = NULL;
	int rc = 0;

	for (size_t i = 0; i < commits->n && rc == 0; i++)
		rc = local->commit_objects(local->impl, commits->v[i], &info, note_run, &runs);
	if (rc == 0 && runs.n && (rc = local->begin(local->impl, &t)) == 0)
		for (size_t i = 0; i < runs.n && rc == 0; i++) {
			char *buf = NULL;
			rc = local->get(t, CR_OBJ_RUN_EVENT, runs.v[i], "finished", &buf, NULL);
			free(buf);
			if (rc == CR_ENOT_FOUND) {
				cr_error_set(CR_ECONFLICT, "run %s is not finished here, and its runner appends to this ledger",
					     runs.v[i]);
				rc = cr_error_hint("wait for it (git clean-release compliance status --run-id %s) or record "
						   "the finish of a runner that died (git clean-release task reap), then sync",
						   runs.v[i]);
			}
		}
	if (t)
		local->end(t);
	cr_strlist_clear(&runs);
	return rc;
}

int cr_svc_replay(const cr_svc *s, const cr_ledger_port *local, const char *base, const char *local_tip,
		  const char *remote, cr_replay_result *out)
{
	struct replay r = {.s = s, .remote = remote, .out = out};
	cr_strlist commits = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = local->history(local->impl, base[0] ? base : NULL, local_tip, &commits)) < 0 ||
	    (rc = runs_finished(local, &commits)) < 0)
		goto done;
	for (size_t i = 0; i < commits.n && rc == 0; i++)
		rc = replay_one(&r, local, commits.v[i]);
	out->commits = commits.n;
done:
	free(r.map.v);
	cr_strlist_clear(&r.dropped_runs);
	cr_strlist_clear(&r.dropped_cands);
	cr_strlist_clear(&commits);
	if (rc < 0)
		cr_strlist_clear(&out->touched);
	return rc;
}
