/* Helpers shared by the services: stored objects, derived status, audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/fold.h"
#include "services/manifest_pack.h"
#include "domain/ids.h"
#include "services/internal.h"
#include "util/error.h"
#include "util/json.h"

int cr_svc_get_json(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *key, const char *sub, cJSON **out)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = s->ledger->get(t, kind, key, sub, &buf, &len);
	if (rc < 0)
		return rc;
	rc = cr_json_parse(out, buf, len, key);
	free(buf);
	if (rc < 0)
		return cr_error_set(CR_EINTEGRITY, "stored object %s is not valid JSON", key);
	return 0;
}

int cr_svc_put_json(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *cid, const char *key,
		    const char *sub, cJSON *doc)
{
	size_t len = 0;
	char *buf = doc ? cr_json_canonical(doc, &len) : NULL;
	cJSON_Delete(doc);
	if (!buf)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	int rc = s->ledger->put(t, kind, cid, key, sub, buf, len);
	free(buf);
	return rc;
}

int cr_svc_put_json_ref(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *cid, const char *key,
			const char *sub, cJSON *doc, char *ref, size_t reflen)
{
	size_t len = 0;
	char *buf = doc ? cr_json_canonical(doc, &len) : NULL;
	int rc;

	cJSON_Delete(doc);
	if (!buf)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	rc = s->ledger->write_blob(s->ledger->impl, buf, len, ref, reflen);
	free(buf);
	return rc < 0 ? rc : s->ledger->put_ref(t, kind, cid, key, sub, ref);
}

static void manifest_cache_name(char *buf, size_t len, const char *ref)
{
	snprintf(buf, len, "manifest-%s.bin", ref);
}

void cr_svc_cache_manifest(const cr_svc *s, const char *ref, const cr_manifest *m)
{
	char name[128];
	cr_sbuf b = {0};

	if (!s->cache || !s->cache->put)
		return;
	manifest_cache_name(name, sizeof(name), ref);
	if (cr_manifest_pack(m, &b) == 0)
		s->cache->put(s->cache->impl, name, b.p, b.len);
	cr_sb_free(&b);
	cr_error_clear();
}

int cr_svc_cached_manifest(const cr_svc *s, const char *ref, cr_manifest *out)
{
	char name[128], *buf = NULL;
	size_t len = 0;
	int rc;

	if (!s->cache)
		return cr_error_set(CR_ENOT_FOUND, "no local cache");
	manifest_cache_name(name, sizeof(name), ref);
	if ((rc = s->cache->get(s->cache->impl, name, &buf, &len)) < 0)
		return rc;
	rc = cr_manifest_unpack(buf, len, out);
	free(buf);
	return rc;
}

/* The state of V's unfinished latest run: started (its started event is
 * stored), orphaned (its task is on this machine and its runner is gone). */
static int fold_latest_run(cr_txn *t, const cr_svc *s, cr_candidate_view *v)
{
	cr_strlist subs = {0};
	bool started = false;
	int alive;

	if (!v->latest_task_id[0]) /* a ledger written before events named it */
		snprintf(v->latest_task_id, sizeof(v->latest_task_id), "task-%s", v->latest_run_id);
	if (v->latest_run_id[0] && s->ledger->list(t, CR_OBJ_RUN_EVENT, v->latest_run_id, &subs) == 0)
		for (size_t i = 0; i < subs.n; i++)
			if (!strcmp(subs.v[i], "started"))
				started = true;
	cr_strlist_clear(&subs);
	cr_error_clear();
	if ((alive = s->tasks->alive(s->tasks->impl, v->latest_task_id)) < 0)
		return alive;
	cr_fold_candidate_run(v, started, alive == 0);
	return 0;
}

int cr_svc_candidate_view(cr_txn *t, const cr_svc *s, const char *cid, cr_candidate_view *out)
{
	cJSON *doc = NULL;
	cr_strlist evs = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = cr_svc_get_json(t, s, CR_OBJ_CANDIDATE, cid, NULL, &doc);
	if (rc == CR_ENOT_FOUND)
		return cr_error_set(CR_ENOT_FOUND, "candidate %s not found", cid);
	if (rc < 0)
		return rc;
	rc = cr_candidate_from_json(doc, &out->c);
	cJSON_Delete(doc);
	doc = NULL;
	if (rc < 0)
		return rc;

	/* Status is the fold of the candidate's own accepted events, in order. */
	if ((rc = s->ledger->list(t, CR_OBJ_AUDIT, cid, &evs)) < 0)
		goto cleanup;
	for (size_t i = 0; i < evs.n; i++) {
		cr_audit_event ev = {0};
		if ((rc = cr_svc_get_json(t, s, CR_OBJ_AUDIT, evs.v[i], NULL, &doc)) < 0)
			goto cleanup;
		rc = cr_audit_event_from_json(doc, &ev);
		cJSON_Delete(doc);
		doc = NULL;
		if (rc == 0)
			rc = cr_fold_candidate_event(out, &ev);
		cr_audit_event_clear(&ev);
		if (rc < 0)
			goto cleanup;
	}
	if (out->run_unfinished && (rc = fold_latest_run(t, s, out)) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc < 0)
		cr_candidate_clear(&out->c);
	cJSON_Delete(doc);
	cr_strlist_clear(&evs);
	return rc;
}

void cr_svc_audit_event_init(cr_audit_event *ev, const char *type, const char *cid, const char *actor)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->type, sizeof(ev->type), "%s", type);
	if (cid)
		snprintf(ev->candidate_id, sizeof(ev->candidate_id), "%s", cid);
	ev->actor = (char *)actor;
	ev->accepted = true;
}

void cr_svc_audit_event_done(cr_audit_event *ev)
{
	ev->actor = NULL;
	cr_audit_event_clear(ev);
}


int cr_svc_sign_with(cr_txn *t, const cr_svc *s, const cr_policy *pol, const char *type, char *principal, size_t len)
{
	char pub[8300];
	int rc;

	principal[0] = '\0';
	if (!s->ledger->signing_key || !cr_policy_requires_signature(pol, type))
		return 0;
	unsigned role = cr_role_for(type);
	if ((rc = s->ledger->signing_key(s->ledger->impl, pub, sizeof(pub))) < 0) {
		char why[CR_ERROR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", cr_error_last()->message);
		cr_error_set(CR_EGATE_REFUSED, "%s needs a signature (policy %s v%lld requires it): %s", type,
			     pol->policy_id, (long long)pol->version, why);
		return cr_error_hint("git config gpg.format ssh && git config user.signingKey ~/.ssh/id_ed25519 (a key the "
				     "policy lists: git clean-release policy allowed-signers)");
	}
	const cr_signer *who = NULL;
	for (size_t i = 0; i < pol->signer_count && !who; i++)
		if (!strcmp(pol->signers[i].public_key, pub))
			who = &pol->signers[i];
	if (!who) {
		cr_error_set(CR_EGATE_REFUSED, "%s needs a signature by a signer of policy %s v%lld; the signing key %.60s… is "
					       "not one", type, pol->policy_id, (long long)pol->version, pub);
		return cr_error_hint("its signers: git clean-release policy allowed-signers");
	}
	if (!(who->roles & role))
		return cr_error_set(CR_EGATE_REFUSED, "%s needs a signer with the role %s; %s does not have it in policy %s v%lld",
				    type, cr_role_name(role), who->principal, pol->policy_id, (long long)pol->version);
	snprintf(principal, len, "%s", who->principal);
	s->ledger->require_signature(t);
	return 0;
}

int cr_svc_policy_in_force_at(cr_txn *t, const cr_svc *s, cr_policy *pol)
{
	cr_policy_binding b;
	cJSON *doc = NULL;
	char *pj = NULL;
	int rc;

	memset(pol, 0, sizeof(*pol));
	if ((rc = cr_svc_policy_binding(t, s, &b)) < 0 || !b.found || !b.commit[0])
		return rc;
	if ((rc = s->policy->at(s->policy->impl, b.commit, &pj, NULL, NULL, NULL)) == 0 &&
	    (rc = cr_json_parse(&doc, pj, strlen(pj), "policy.json")) == 0)
		rc = cr_policy_from_json(doc, pol);
	cJSON_Delete(doc);
	free(pj);
	return rc;
}

int cr_svc_sign_gate(cr_txn *t, const cr_svc *s, const char *type, char *principal, size_t len)
{
	cr_policy pol;
	int rc;

	principal[0] = '\0';
	if (!s->ledger->signing_key)
		return 0;
	if ((rc = cr_svc_policy_in_force_at(t, s, &pol)) == 0)
		rc = cr_svc_sign_with(t, s, &pol, type, principal, len);
	cr_policy_clear(&pol);
	return rc;
}

void cr_svc_who_init(cr_svc_who *w, const char *claimed)
{
	memset(w, 0, sizeof(*w));
	w->claimed = claimed;
	snprintf(w->actor, sizeof(w->actor), "%s", claimed);
}

int cr_svc_act(cr_txn *t, const cr_svc *s, const char *type, const cr_policy *pol, cr_svc_who *w)
{
	int rc;

	cr_svc_who_init(w, w->claimed);
	if (pol)
		rc = cr_svc_sign_with(t, s, pol, type, w->principal, sizeof(w->principal));
	else
		rc = cr_svc_sign_gate(t, s, type, w->principal, sizeof(w->principal));
	if (rc < 0 || !w->principal[0] || !strcmp(w->principal, w->claimed))
		return rc;
	switch (s->actor_mode) {
	case CR_ACTOR_CLAIMED: {
		cr_policy in_force = {0};
		const cr_policy *p = pol;
		if (!p && cr_svc_policy_in_force_at(t, s, &in_force) == 0)
			p = &in_force;
		cr_error_set(CR_EINVALID_ARGUMENT, "the actor %.200s is not the signer: the signing key is %s's in policy "
						   "%s v%lld, and a signed %s records its signer as its actor",
			     w->claimed, w->principal, p ? p->policy_id : "?", p ? (long long)p->version : 0LL, type);
		cr_policy_clear(&in_force);
		return cr_error_hint("give --actor %s, or no --actor", w->principal);
	}
	case CR_ACTOR_DELEGATED:
		snprintf(w->on_behalf_of, sizeof(w->on_behalf_of), "%s", w->claimed);
		/* fall through */
	case CR_ACTOR_DEFAULT:
		snprintf(w->actor, sizeof(w->actor), "%s", w->principal);
	}
	return 0;
}

static int audit_put(cr_txn *t, const cr_svc *s, cr_audit_event *ev)
{
	int rc = s->ledger->alloc(t, CR_ID_EVENT, ev->event_id, sizeof(ev->event_id));
	if (rc < 0)
		return rc;
	s->clock->now(s->clock->impl, ev->at);
	return cr_svc_put_json(t, s, CR_OBJ_AUDIT, ev->candidate_id[0] ? ev->candidate_id : NULL, ev->event_id,
			       NULL, cr_audit_event_to_json(ev));
}

int cr_svc_audit(cr_txn *t, const cr_svc *s, cr_audit_event *ev)
{
	char principal[260];
	int rc = ev->accepted ? cr_svc_sign_gate(t, s, ev->type, principal, sizeof(principal)) : 0;
	if (rc < 0)
		return rc;
	if (ev->accepted && principal[0])
		cr_audit_detail(ev, "signed_by", principal);
	return audit_put(t, s, ev);
}

int cr_svc_audit_by(cr_txn *t, const cr_svc *s, cr_audit_event *ev, const cr_svc_who *w)
{
	ev->actor = (char *)w->actor;
	if (w->principal[0])
		cr_audit_detail(ev, "signed_by", w->principal);
	if (w->on_behalf_of[0])
		cr_audit_detail(ev, "on_behalf_of", w->on_behalf_of);
	return audit_put(t, s, ev);
}

/* Stage the REFUSED audit event for the error now set. */
static int stage_refusal(cr_txn *t, const cr_svc *s, cr_op op, const cr_candidate_view *v, const char *actor,
			 int *commit_anyway, char *msg, size_t msglen, const char *key, const char *value)
{
	cr_error saved;
	cr_audit_event ev = {0};
	int rc;

	cr_error_save(&saved);
	cr_svc_audit_event_init(&ev, cr_op_audit_type(op), v->c.candidate_id, actor);
	ev.accepted = false;
	cr_audit_detail(&ev, "status", cr_status_name(v->status));
	if (key && value)
		cr_audit_detail(&ev, key, value);
	ev.error_code = saved.code;
	ev.error_message = saved.message;
	rc = cr_svc_audit(t, s, &ev);
	snprintf(msg, msglen, "%s %s REFUSED (%s)", ev.type, v->c.candidate_id, ev.event_id);
	ev.error_message = NULL;
	cr_svc_audit_event_done(&ev);
	if (rc < 0)
		return rc;
	*commit_anyway = 1;
	cr_error_restore(&saved);
	return saved.code;
}

int cr_svc_refuse_transition(cr_txn *t, const cr_svc *s, cr_op op, const cr_candidate_view *v,
			     const char *actor, int *commit_anyway, char *msg, size_t msglen)
{
	char allowed[256], types[256];
	const char *why = cr_lifecycle_may(v->status, op);
	cr_lifecycle_allowed(v->status, allowed, sizeof(allowed));
	cr_lifecycle_allowed_types(v->status, types, sizeof(types));
	cr_error_set(CR_EINVALID_TRANSITION, "cannot %s %s: status is %s; %s (allowed now: %s)", cr_op_name(op),
		     v->c.candidate_id, cr_status_name(v->status), why ? why : "not allowed", allowed);
	/* Machine-readable details name operations by audit type, as the
	 * OpenAPI ErrorInfo example does. */
	cr_error_gate_details(cr_status_name(v->status), types);
	return stage_refusal(t, s, op, v, actor, commit_anyway, msg, msglen, NULL, NULL);
}

int cr_svc_refuse_gate(cr_txn *t, const cr_svc *s, cr_op op, const cr_candidate_view *v, const char *actor,
		       int *commit_anyway, char *msg, size_t msglen, const char *key, const char *value)
{
	char types[256];
	cr_lifecycle_allowed_types(v->status, types, sizeof(types));
	cr_error_gate_details(cr_status_name(v->status), types);
	return stage_refusal(t, s, op, v, actor, commit_anyway, msg, msglen, key, value);
}

/* Candidates whose status note failed (one id per line), kept in the local
 * cache so that the next write rebuilds their lines. */
#define NOTES_PENDING "notes-pending"
#define NOTES_PENDING_MAX 256

/* Write CID's status note line at T; 0 or the note's error. */
static int note_one(cr_txn *t, const cr_svc *s, const char *cid)
{
	cr_candidate_view v;
	char line[512];
	int rc = cr_svc_candidate_view(t, s, cid, &v);

	if (rc < 0)
		return rc == CR_ENOT_FOUND ? 0 : rc; /* gone: nothing to note */
	snprintf(line, sizeof(line), "%s: %s version=%s import=%s manifest=%s run=%s report=%s", cid,
		 cr_status_name(v.status), v.c.version, v.latest_import_id[0] ? v.latest_import_id : "-",
		 v.latest_manifest_id[0] ? v.latest_manifest_id : "-", v.latest_run_id[0] ? v.latest_run_id : "-",
		 v.latest_report_id[0] ? v.latest_report_id : "-");
	rc = s->ledger->note(s->ledger->impl, v.c.source_commit, cid, line);
	cr_candidate_clear(&v.c);
	return rc;
}

void cr_svc_note(const cr_svc *s, const char *cid)
{
	cr_txn *t = NULL;
	cr_error saved;
	char *buf = NULL;
	size_t len = 0;
	cr_sbuf still = {0};
	size_t kept = 0;

	cr_error_save(&saved);
	if (s->ledger->begin(s->ledger->impl, &t) < 0)
		goto done;
	bool failed = note_one(t, s, cid) < 0;
	/* The lines an earlier write could not note, again. */
	if (s->cache && s->cache->get(s->cache->impl, NOTES_PENDING, &buf, &len) == 0) {
		char *save = NULL;
		for (char *id = strtok_r(buf, "\n", &save); id; id = strtok_r(NULL, "\n", &save))
			if (strcmp(id, cid) && !cr_candidate_id_invalid(id) && note_one(t, s, id) < 0 &&
			    kept++ < NOTES_PENDING_MAX) {
				cr_sb_puts(&still, id);
				cr_sb_puts(&still, "\n");
			}
	}
	if (failed) {
		cr_sb_puts(&still, cid);
		cr_sb_puts(&still, "\n");
	}
	if (s->cache && s->cache->put && (buf || still.len))
		s->cache->put(s->cache->impl, NOTES_PENDING, still.len ? still.p : "", still.len);
done:
	s->ledger->end(t);
	free(buf);
	cr_sb_free(&still);
	/* The note is a derived view: its failure never fails the operation. */
	cr_error_restore(&saved);
}

void cr_svc_notes_refresh(const cr_svc *s, const cr_strlist *cids)
{
	for (size_t i = 0; i < cids->n; i++)
		cr_svc_note(s, cids->v[i]);
}
