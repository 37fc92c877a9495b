/* The release gates: approve / reject on a passed report, publish an
 * approved candidate, revoke a publication. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/ids.h"
#include "services/internal.h"
#include "util/error.h"

struct gate_ctx {
	const cr_svc *s;
	const char *cid, *actor;
	cr_op op;
	const char *report_id;   /* approve, reject, publish */
	const char *comment;     /* approve, reject */
	const char *channel, *tag;
	char tag_commit[CR_OID_MAX]; /* publish --tag: the commit the tag resolves to */
	char tag_why[512];           /* ... or why the tag cannot be published ("" when it can) */
	const char *pub_id, *reason; /* revoke */
	cr_approval apr;
	cr_publication pub;
	cr_svc_who who; /* who.actor is the ledger commit's author */
};

/* Load the report named in the request; NOT_FOUND writes nothing. */
static int load_report(cr_txn *t, const cr_svc *s, const char *rid, cr_report *r)
{
	cJSON *doc = NULL;
	int rc = cr_svc_get_json(t, s, CR_OBJ_REPORT, rid, NULL, &doc);
	if (rc == CR_ENOT_FOUND)
		return cr_error_set(CR_ENOT_FOUND, "report %s not found", rid);
	if (rc == 0)
		rc = cr_report_from_json(doc, r);
	cJSON_Delete(doc);
	return rc;
}

static int accept_event(cr_txn *t, struct gate_ctx *x, cr_status to, const char *k1, const char *v1,
			const char *k2, const char *v2, char *msg, size_t msglen)
{
	cr_audit_event ev;
	cr_svc_audit_event_init(&ev, cr_op_audit_type(x->op), x->cid, x->who.actor);
	cr_audit_detail(&ev, k1, v1);
	if (k2)
		cr_audit_detail(&ev, k2, v2);
	cr_audit_detail(&ev, "status", cr_status_name(to));
	int rc = cr_svc_audit_by(t, x->s, &ev, &x->who);
	snprintf(msg, msglen, "%s %s %s (%s)", ev.type, x->cid, v1, ev.event_id);
	cr_svc_audit_event_done(&ev);
	return rc;
}

static int gate_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct gate_ctx *x = vctx;
	const cr_svc *s = x->s;
	cr_candidate_view v;
	cr_report r = {0};
	int rc;

	cr_approval_clear(&x->apr);
	cr_publication_clear(&x->pub);
	cr_svc_who_init(&x->who, x->actor);
	if ((rc = cr_svc_candidate_view(t, s, x->cid, &v)) < 0)
		return rc;
	if (cr_lifecycle_may(v.status, x->op)) {
		rc = cr_svc_refuse_transition(t, s, x->op, &v, x->actor, commit_anyway, msg, msglen);
		goto cleanup;
	}

	if (x->op == CR_OP_REVOKE) {
		cJSON *doc = NULL;
		rc = cr_svc_get_json(t, s, CR_OBJ_PUBLICATION, x->pub_id, NULL, &doc);
		if (rc == CR_ENOT_FOUND)
			rc = cr_error_set(CR_ENOT_FOUND, "publication %s not found", x->pub_id);
		if (rc == 0)
			rc = cr_publication_from_json(doc, &x->pub);
		cJSON_Delete(doc);
		if (rc < 0)
			goto cleanup;
		if (strcmp(x->pub.candidate_id, x->cid)) {
			cr_error_set(CR_EGATE_REFUSED, "cannot revoke %s: publication %s belongs to candidate %s", x->cid,
				     x->pub_id, x->pub.candidate_id);
			rc = cr_svc_refuse_gate(t, s, x->op, &v, x->actor, commit_anyway, msg, msglen, "publication_id", x->pub_id);
			goto cleanup;
		}
		if ((rc = cr_svc_act(t, s, cr_op_audit_type(x->op), NULL, &x->who)) < 0)
			goto cleanup;
		x->pub.revoked_by = strdup(x->who.actor);
		x->pub.reason = strdup(x->reason);
		free(x->pub.actor);
		x->pub.actor = strdup(x->who.actor);
		s->clock->now(s->clock->impl, x->pub.at);
		if ((rc = cr_svc_put_json(t, s, CR_OBJ_REVOCATION, x->cid, x->pub_id, NULL,
					  cr_publication_to_json(&x->pub))) < 0)
			goto cleanup;
		rc = accept_event(t, x, CR_STATUS_REVOKED, "publication_id", x->pub_id, "reason", x->reason, msg, msglen);
		goto cleanup;
	}

	if ((rc = load_report(t, s, x->report_id, &r)) < 0)
		goto cleanup;
	/* Gates of data-model.md §3. */
	if (x->op == CR_OP_PUBLISH) {
		if (strcmp(x->report_id, v.approved_report_id)) {
			cr_error_set(CR_EGATE_REFUSED, "cannot publish %s: report %s is not the approved report (%s)",
				     x->cid, x->report_id, v.approved_report_id);
			rc = cr_svc_refuse_gate(t, s, x->op, &v, x->actor, commit_anyway, msg, msglen, "report_id", x->report_id);
			goto cleanup;
		}
	} else {
		const char *why = NULL;
		char buf[300];
		if (strcmp(r.candidate_id, x->cid)) {
			snprintf(buf, sizeof(buf), "report %s belongs to candidate %s", x->report_id, r.candidate_id);
			why = buf;
		} else if (strcmp(x->report_id, v.latest_report_id)) {
			snprintf(buf, sizeof(buf), "report %s is not the report of the latest run (%s: %s)", x->report_id,
				 v.latest_run_id, v.latest_report_id[0] ? v.latest_report_id : "no report");
			why = buf;
		} else if (r.final_status != CR_FINAL_PASSED) {
			snprintf(buf, sizeof(buf), "report %s is %s, not PASSED", x->report_id, cr_final_name(r.final_status));
			why = buf;
		} else if (strcmp(r.manifest_id, v.latest_manifest_id)) {
			snprintf(buf, sizeof(buf), "report %s checked %s, but the latest manifest is %s", x->report_id,
				 r.manifest_id, v.latest_manifest_id);
			why = buf;
		}
		if (why) {
			cr_error_set(CR_EGATE_REFUSED, "cannot %s %s: %s", cr_op_name(x->op), x->cid, why);
			rc = cr_svc_refuse_gate(t, s, x->op, &v, x->actor, commit_anyway, msg, msglen, "report_id", x->report_id);
			goto cleanup;
		}
	}

	/* The release tag names the very commit the candidate was built from. */
	if (x->op == CR_OP_PUBLISH && x->tag && (x->tag_why[0] || strcmp(x->tag_commit, v.c.source_commit))) {
		if (x->tag_why[0])
			cr_error_set(CR_EGATE_REFUSED, "cannot publish %s as tag %s: %s", x->cid, x->tag, x->tag_why);
		else
			cr_error_set(CR_EGATE_REFUSED,
				     "cannot publish %s as tag %s: the tag points at %.12s, the candidate's source_commit is %.12s",
				     x->cid, x->tag, x->tag_commit, v.c.source_commit);
		cr_error_hint("tag the candidate's source commit: git tag %s %s", x->tag, v.c.source_commit);
		rc = cr_svc_refuse_gate(t, s, x->op, &v, x->actor, commit_anyway, msg, msglen, "tag", x->tag);
		goto cleanup;
	}

	if ((rc = cr_svc_act(t, s, cr_op_audit_type(x->op), NULL, &x->who)) < 0)
		goto cleanup;
	if (x->op == CR_OP_PUBLISH) {
		cr_publication *p = &x->pub;
		if ((rc = s->ledger->alloc(t, CR_ID_PUBLICATION, p->publication_id, sizeof(p->publication_id))) < 0)
			goto cleanup;
		snprintf(p->candidate_id, sizeof(p->candidate_id), "%s", x->cid);
		snprintf(p->report_id, sizeof(p->report_id), "%s", x->report_id);
		snprintf(p->channel, sizeof(p->channel), "%s", x->channel);
		snprintf(p->tag, sizeof(p->tag), "%s", x->tag ? x->tag : "");
		snprintf(p->tag_commit, sizeof(p->tag_commit), "%s", x->tag ? x->tag_commit : "");
		p->actor = strdup(x->who.actor);
		s->clock->now(s->clock->impl, p->at);
		if ((rc = cr_svc_put_json(t, s, CR_OBJ_PUBLICATION, x->cid, p->publication_id, NULL,
					  cr_publication_to_json(p))) < 0)
			goto cleanup;
		rc = accept_event(t, x, CR_STATUS_PUBLISHED, "publication_id", p->publication_id, "report_id",
				  x->report_id, msg, msglen);
	} else {
		cr_approval *a = &x->apr;
		if ((rc = s->ledger->alloc(t, CR_ID_APPROVAL, a->approval_id, sizeof(a->approval_id))) < 0)
			goto cleanup;
		snprintf(a->candidate_id, sizeof(a->candidate_id), "%s", x->cid);
		snprintf(a->report_id, sizeof(a->report_id), "%s", x->report_id);
		a->approved = x->op == CR_OP_APPROVE;
		a->actor = strdup(x->who.actor);
		a->comment = x->comment ? strdup(x->comment) : NULL;
		s->clock->now(s->clock->impl, a->at);
		if ((rc = cr_svc_put_json(t, s, CR_OBJ_APPROVAL, x->cid, a->approval_id, NULL, cr_approval_to_json(a))) < 0)
			goto cleanup;
		rc = accept_event(t, x, a->approved ? CR_STATUS_APPROVED : CR_STATUS_REJECTED, "approval_id",
				  a->approval_id, "report_id", x->report_id, msg, msglen);
	}
cleanup:
	cr_report_clear(&r);
	cr_candidate_clear(&v.c);
	return rc;
}

static int check_common(const char *cid, const char *actor)
{
	const char *why = cr_candidate_id_invalid(cid);
	if (why)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid candidate id \"%.140s\": %s", cid, why);
	(void)actor;
	return 0;
}

static int check_report_id(const char *rid)
{
	uint64_t n;
	if (!cr_id_parse(rid, CR_ID_REPORT, &n))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid report id \"%.40s\" (expected rpt-NNN)", rid);
	return 0;
}

/* The gate's transaction, after the finish of an orphaned run of the
 * candidate is recorded (every write to a candidate records it first). */
static int run_gate(struct gate_ctx *x)
{
	int rc = cr_svc_reap_candidate(x->s, x->cid, x->actor);
	if (rc == 0)
		rc = cr_ledger_transact(x->s->ledger, x->who.actor, gate_txn, x);
	if (rc == 0)
		cr_svc_note(x->s, x->cid);
	return rc;
}

/* Run the gate of X and hand its approval (or its publication) to OUT. */
static int gate_approval(struct gate_ctx *x, cr_approval *out)
{
	int rc = run_gate(x);
	cr_publication_clear(&x->pub);
	if (rc < 0) {
		cr_approval_clear(&x->apr);
		return rc;
	}
	*out = x->apr;
	return 0;
}

static int gate_publication(struct gate_ctx *x, cr_publication *out)
{
	int rc = run_gate(x);
	cr_approval_clear(&x->apr);
	if (rc < 0) {
		cr_publication_clear(&x->pub);
		return rc;
	}
	*out = x->pub;
	return 0;
}

int cr_svc_decide(const cr_svc *s, const char *cid, const char *report_id, bool approve, const char *actor,
		  const char *comment, cr_approval *out)
{
	struct gate_ctx x = {.s = s, .cid = cid, .actor = actor, .op = approve ? CR_OP_APPROVE : CR_OP_REJECT,
			     .report_id = report_id, .comment = comment};
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = check_common(cid, actor)) < 0 || (rc = check_report_id(report_id)) < 0)
		return rc;
	if (comment && strlen(comment) > 4096)
		return cr_error_set(CR_EINVALID_ARGUMENT, "comment is longer than 4096 bytes");
	return gate_approval(&x, out);
}

/* What TAG resolves to (into X->tag_commit), or why it cannot be the
 * release tag (into X->tag_why: it does not exist, or does not match the
 * trusted policy's release_tag_pattern); the gate refuses, recorded, and
 * compares the commit with the candidate's. */
static int check_tag(const cr_svc *s, struct gate_ctx *x)
{
	char ref[200], *pj = NULL;
	cJSON *doc = NULL;
	cr_policy pol = {0};
	int rc;

	snprintf(ref, sizeof(ref), "refs/tags/%s", x->tag);
	if ((rc = s->ledger->resolve(s->ledger->impl, ref, x->tag_commit, sizeof(x->tag_commit))) < 0) {
		if (rc != CR_EINVALID_INPUT)
			return rc;
		cr_error_clear();
		snprintf(x->tag_why, sizeof(x->tag_why), "%s does not exist", ref);
		return 0;
	}
	if ((rc = s->policy->resolve(s->policy->impl, &pj, NULL, NULL, NULL, false)) < 0)
		return rc;
	if ((rc = cr_json_parse(&doc, pj, strlen(pj), "policy.json")) == 0 && (rc = cr_policy_from_json(doc, &pol)) == 0 &&
	    (rc = s->rules->tag_matches(s->rules->impl, &pol, ref)) == 0)
		snprintf(x->tag_why, sizeof(x->tag_why), "%s does not match the policy's release_tag_pattern %.200s", ref,
			 pol.release_tag_pattern);
	cr_policy_clear(&pol);
	cJSON_Delete(doc);
	free(pj);
	return rc < 0 ? rc : 0;
}

int cr_svc_publish(const cr_svc *s, const char *cid, const char *report_id, const char *channel,
		   const char *tag, const char *actor, cr_publication *out)
{
	struct gate_ctx x = {.s = s, .cid = cid, .actor = actor, .op = CR_OP_PUBLISH, .report_id = report_id,
			     .channel = channel, .tag = tag};
	const char *why;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = check_common(cid, actor)) < 0 || (rc = check_report_id(report_id)) < 0)
		return rc;
	if ((why = cr_channel_invalid(channel)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid channel \"%.40s\": %s", channel, why);
	if (tag && (why = cr_tag_invalid(tag)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid tag \"%.140s\": %s", tag, why);
	if (tag && (rc = check_tag(s, &x)) < 0)
		return rc;
	return gate_publication(&x, out);
}

int cr_svc_revoke(const cr_svc *s, const char *cid, const char *pub_id, const char *reason, const char *actor,
		  cr_publication *out)
{
	struct gate_ctx x = {.s = s, .cid = cid, .actor = actor, .op = CR_OP_REVOKE, .pub_id = pub_id,
			     .reason = reason};
	uint64_t n;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = check_common(cid, actor)) < 0)
		return rc;
	if (!cr_id_parse(pub_id, CR_ID_PUBLICATION, &n))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid publication id \"%.40s\" (expected pub-NNN)", pub_id);
	if (!reason[0] || strlen(reason) > 4096)
		return cr_error_set(CR_EINVALID_ARGUMENT, "--reason must be 1 to 4096 bytes");
	return gate_publication(&x, out);
}
