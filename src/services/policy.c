/* The trusted policy: validated, compiled, then appended to its ref. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "services/internal.h"
#include "util/error.h"
#include "util/json.h"
#include "util/schema.h"
#include "util/sha256.h"

/* Parse, schema-check and canonicalize one document. */
static int load_doc(const char *buf, size_t len, const char *what, const char *schema_name, cJSON **doc, char **canon)
{
	cr_schema *schema = NULL;
	int rc;
	if ((rc = cr_json_parse(doc, buf, len, what)) < 0)
		return rc;
	if ((rc = cr_schema_load(&schema, schema_name)) < 0 || (rc = cr_schema_validate(schema, *doc, what)) < 0) {
		cr_schema_free(schema);
		return rc;
	}
	cr_schema_free(schema);
	/* "$schema" is for editors only: it is not part of the stored document. */
	cJSON_DeleteItemFromObjectCaseSensitive(*doc, "$schema");
	if (!(*canon = cr_json_canonical(*doc, NULL)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	return 0;
}

int cr_svc_policy_binding(cr_txn *t, const cr_svc *s, cr_policy_binding *b)
{
	cr_strlist ids = {0};
	cJSON *doc = NULL;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = s->ledger->list(t, CR_OBJ_AUDIT, "", &ids)) < 0 || ids.n == 0)
		goto cleanup;
	if ((rc = cr_svc_get_json(t, s, CR_OBJ_AUDIT, ids.v[ids.n - 1], NULL, &doc)) < 0)
		goto cleanup;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "details");
	const char *commit = cr_json_str(d, "policy_commit"), *pid = cr_json_str(d, "policy_id");
	const char *pd = cr_json_str(d, "policy_digest"), *rd = cr_json_str(d, "registry_digest");
	const char *ver = cr_json_str(d, "policy_version");
	b->found = true;
	snprintf(b->event_id, sizeof(b->event_id), "%s", ids.v[ids.n - 1]);
	snprintf(b->commit, sizeof(b->commit), "%s", commit ? commit : "");
	snprintf(b->policy_id, sizeof(b->policy_id), "%s", pid ? pid : "");
	snprintf(b->policy_digest, sizeof(b->policy_digest), "%s", pd ? pd : "");
	snprintf(b->registry_digest, sizeof(b->registry_digest), "%s", rd ? rd : "");
	b->version = ver ? strtoll(ver, NULL, 10) : 0;
cleanup:
	cJSON_Delete(doc);
	cr_strlist_clear(&ids);
	return rc;
}

int cr_svc_policy_check_bound(cr_txn *t, const cr_svc *s, const cr_snapshot *snap)
{
	cr_policy_binding b;
	int rc = cr_svc_policy_binding(t, s, &b);

	if (rc < 0)
		return rc;
	if (!b.found) {
		if (s->policy->is_builtin(s->policy->impl, snap->commit))
			return 0;
		cr_error_set(CR_EINTEGRITY, "the policy ref %s points at %.12s, but the ledger records no policy.publish: "
					    "that policy was not published", snap->ref, snap->commit);
		return cr_error_hint("publish the policy: git clean-release policy publish --policy FILE --registry FILE");
	}
	if (!b.commit[0]) {
		cr_error_set(CR_EINTEGRITY, "the latest policy.publish (%s) does not name its policy commit "
					    "(recorded before the ledger bound the policy)", b.event_id);
		return cr_error_hint("publish the policy again: git clean-release policy publish --policy FILE --registry FILE");
	}
	if (strcmp(b.commit, snap->commit)) {
		cr_error_set(CR_EINTEGRITY, "the policy ref %s points at %.12s, but the latest policy.publish (%s) records %.12s",
			     snap->ref, snap->commit, b.event_id, b.commit);
		return cr_error_hint("a publish cut short is finished by publishing the same policy again; a ref moved by "
				     "hand is put back with: git update-ref %s %s", snap->ref, b.commit);
	}
	return 0;
}

struct publish_ctx {
	const cr_svc *s;
	const char *pc, *rc_, *message;
	cr_svc_who who;
	const cr_policy *p;
	const cr_registry *r;
	char pd[CR_SHA_MAX], rd[CR_SHA_MAX];
	char commit[CR_OID_MAX]; /* the commit recorded (new or already in force) */
	bool already;            /* the same policy is in force already */
};

/* One commit decides a publish: the policy commit is written first (objects
 * only), the ledger then records it (the event and its policy/ copy), and
 * only then does the policy ref move to it. */
static int publish_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct publish_ctx *x = vctx;
	const cr_svc *s = x->s;
	cr_policy_binding b;
	cr_audit_event ev;
	char num[32];
	int rc;

	(void)commit_anyway;
	x->already = false;
	if ((rc = cr_svc_policy_binding(t, s, &b)) < 0)
		return rc;
	if (b.found && b.commit[0]) {
		if (x->p->version < b.version)
			return cr_error_set(CR_EINVALID_INPUT,
					    "policy %s v%lld is older than the policy in force (%s v%lld): versions only go up",
					    x->p->policy_id, (long long)x->p->version, b.policy_id, (long long)b.version);
		if (x->p->version == b.version) {
			if (!strcmp(x->pd, b.policy_digest) && !strcmp(x->rd, b.registry_digest)) {
				x->already = true; /* nothing to record; the ref is put right */
				snprintf(x->commit, sizeof(x->commit), "%s", b.commit);
				return 0;
			}
			cr_error_set(CR_EINVALID_INPUT, "policy version %lld is in force already with other content (%s)",
				     (long long)b.version, b.event_id);
			return cr_error_hint("publish the change as version %lld", (long long)b.version + 1);
		}
	}
	/* Who may publish: an admin of the policy before, when it requires
	 * signed publications; else, when this one is the first to require
	 * them, an admin it lists itself (trust on first use: the root of the
	 * chain, which verify reports and can pin). */
	cr_policy prev;
	if ((rc = cr_svc_policy_in_force_at(t, s, &prev)) < 0)
		return rc;
	bool chained = cr_policy_requires_signature(&prev, CR_AUDIT_POLICY_PUBLISH);
	cr_svc_who_init(&x->who, x->who.claimed);
	rc = cr_svc_act(t, s, CR_AUDIT_POLICY_PUBLISH, chained ? &prev : x->p, &x->who);
	cr_policy_clear(&prev);
	if (rc < 0 ||
	    (rc = s->policy->prepare(s->policy->impl, x->pc, x->rc_, x->who.actor, x->message,
				     b.found && b.commit[0] ? b.commit : NULL, x->commit, sizeof(x->commit))) < 0)
		return rc;
	cr_svc_audit_event_init(&ev, CR_AUDIT_POLICY_PUBLISH, NULL, x->who.actor);
	cr_audit_detail(&ev, "policy_id", x->p->policy_id);
	snprintf(num, sizeof(num), "%lld", (long long)x->p->version);
	cr_audit_detail(&ev, "policy_version", num);
	cr_audit_detail(&ev, "policy_digest", x->pd);
	cr_audit_detail(&ev, "registry_id", x->r->registry_id);
	snprintf(num, sizeof(num), "%lld", (long long)x->r->version);
	cr_audit_detail(&ev, "registry_version", num);
	cr_audit_detail(&ev, "registry_digest", x->rd);
	cr_audit_detail(&ev, "policy_commit", x->commit);
	rc = cr_svc_audit_by(t, s, &ev, &x->who);
	snprintf(msg, msglen, "%s (%s)", ev.type, ev.event_id);
	cr_svc_audit_event_done(&ev);
	return rc;
}

/* Both documents parsed, schema-checked and canonical (*PC, *RC_), every
 * rule compiled, source ids unique: what a publish accepts. */
static int validate_docs(const cr_svc *s, const char *policy, size_t plen, const char *pwhat, const char *registry,
			 size_t rlen, const char *rwhat, cr_policy *p, cr_registry *r, char **pc, char **rc_)
{
	cJSON *pdoc = NULL, *rdoc = NULL;
	int rc;

	if ((rc = load_doc(policy, plen, pwhat, "policy.schema.json", &pdoc, pc)) < 0 ||
	    (rc = load_doc(registry, rlen, rwhat, "registry.schema.json", &rdoc, rc_)) < 0)
		goto cleanup;
	if ((rc = cr_policy_from_json(pdoc, p)) < 0 || (rc = cr_registry_from_json(rdoc, r)) < 0)
		goto cleanup;
	/* Every regex must compile (byte mode), naming the rule that does not. */
	if ((rc = s->rules->check(s->rules->impl, p)) < 0)
		goto cleanup;
	for (size_t i = 0; i < r->source_count; i++)
		for (size_t j = i + 1; j < r->source_count; j++)
			if (!strcmp(r->sources[i].id, r->sources[j].id)) {
				rc = cr_error_set(CR_EINVALID_INPUT, "%s: duplicate allowed source id \"%s\"", rwhat, r->sources[i].id);
				goto cleanup;
			}
cleanup:
	cJSON_Delete(pdoc);
	cJSON_Delete(rdoc);
	return rc;
}

int cr_svc_policy_validate(const cr_svc *s, const char *policy, const char *registry, cr_policy *p)
{
	cr_registry r = {0};
	char *pc = NULL, *rc_ = NULL;
	int rc = validate_docs(s, policy, strlen(policy), "policy.json", registry, strlen(registry), "registry.json", p,
			       &r, &pc, &rc_);
	cr_registry_clear(&r);
	free(pc);
	free(rc_);
	return rc;
}

int cr_svc_policy_publish(const cr_svc *s, const char *policy, size_t plen, const char *pwhat,
			  const char *registry, size_t rlen, const char *rwhat, const char *actor)
{
	char *pc = NULL, *rc_ = NULL;
	cr_policy p = {0};
	cr_registry r = {0};
	int rc;

	if ((rc = validate_docs(s, policy, plen, pwhat, registry, rlen, rwhat, &p, &r, &pc, &rc_)) < 0)
		goto cleanup;

	char message[512];
	snprintf(message, sizeof(message), "%s %s v%lld, %s v%lld", CR_AUDIT_POLICY_PUBLISH, p.policy_id, (long long)p.version,
		 r.registry_id, (long long)r.version);
	struct publish_ctx x = {.s = s, .pc = pc, .rc_ = rc_, .message = message, .p = &p, .r = &r};
	cr_svc_who_init(&x.who, actor);
	cr_sha256_hex(pc, strlen(pc), x.pd);
	cr_sha256_hex(rc_, strlen(rc_), x.rd);
	if ((rc = cr_ledger_transact(s->ledger, x.who.actor, publish_txn, &x)) < 0)
		goto cleanup;
	if (s->fault_publish_stop && !x.already) {
		rc = cr_error_set(CR_EINTERNAL, "stopped by a test fault: the ledger records policy commit %.12s, "
						"the policy ref has not moved", x.commit);
		goto cleanup;
	}
	rc = s->policy->advance(s->policy->impl, x.commit);
cleanup:
	cr_policy_clear(&p);
	cr_registry_clear(&r);
	free(pc);
	free(rc_);
	return rc;
}

int cr_svc_policy_show(const cr_svc *s, char **policy_json, char **registry_json, cr_snapshot *policy,
		       cr_snapshot *registry)
{
	/* Not pinned: showing the built-in demo policy writes nothing. */
	return s->policy->resolve(s->policy->impl, policy_json, registry_json, policy, registry, false);
}

int cr_svc_policy_in_force(const cr_svc *s, char *out, size_t len)
{
	cr_policy_binding b;
	cr_txn *t = NULL;
	int rc;

	out[0] = '\0';
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	if ((rc = cr_svc_policy_binding(t, s, &b)) == 0 && b.found)
		snprintf(out, len, "%s", b.commit);
	s->ledger->end(t);
	return rc;
}

int cr_svc_release_tag(const cr_svc *s, const char *ref, bool *yes, char *pattern, size_t len)
{
	char *pj = NULL;
	cJSON *doc = NULL;
	cr_policy pol = {0};
	int rc;

	*yes = false;
	if (pattern && len)
		pattern[0] = '\0';
	if ((rc = s->policy->resolve(s->policy->impl, &pj, NULL, NULL, NULL, false)) < 0)
		return rc;
	if ((rc = cr_json_parse(&doc, pj, strlen(pj), "policy.json")) == 0 && (rc = cr_policy_from_json(doc, &pol)) == 0 &&
	    (rc = s->rules->tag_matches(s->rules->impl, &pol, ref)) >= 0) {
		*yes = rc == 1;
		if (pattern && len)
			snprintf(pattern, len, "%s", pol.release_tag_pattern ? pol.release_tag_pattern : "");
		rc = 0;
	}
	cr_policy_clear(&pol);
	cJSON_Delete(doc);
	free(pj);
	return rc;
}
