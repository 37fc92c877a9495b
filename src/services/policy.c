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

struct audit_ctx {
	const cr_svc *s;
	cr_audit_event *ev;
};

static int audit_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct audit_ctx *x = vctx;
	(void)commit_anyway;
	int rc = cr_svc_audit(t, x->s, x->ev);
	snprintf(msg, msglen, "%s (%s)", x->ev->type, x->ev->event_id);
	return rc;
}

int cr_svc_policy_publish(const cr_svc *s, const char *policy, size_t plen, const char *pwhat,
			  const char *registry, size_t rlen, const char *rwhat, const char *actor)
{
	cJSON *pdoc = NULL, *rdoc = NULL;
	char *pc = NULL, *rc_ = NULL;
	cr_policy p = {0};
	cr_registry r = {0};
	int rc;

	if ((rc = load_doc(policy, plen, pwhat, "policy.schema.json", &pdoc, &pc)) < 0 ||
	    (rc = load_doc(registry, rlen, rwhat, "registry.schema.json", &rdoc, &rc_)) < 0)
		goto cleanup;
	if ((rc = cr_policy_from_json(pdoc, &p)) < 0 || (rc = cr_registry_from_json(rdoc, &r)) < 0)
		goto cleanup;
	/* Every regex must compile (byte mode), naming the rule that does not. */
	if ((rc = s->rules->check(s->rules->impl, &p)) < 0)
		goto cleanup;
	for (size_t i = 0; i < r.source_count; i++)
		for (size_t j = i + 1; j < r.source_count; j++)
			if (!strcmp(r.sources[i].id, r.sources[j].id)) {
				rc = cr_error_set(CR_EINVALID_INPUT, "%s: duplicate allowed source id \"%s\"", rwhat, r.sources[i].id);
				goto cleanup;
			}

	char message[512];
	snprintf(message, sizeof(message), "%s %s v%lld, %s v%lld", CR_AUDIT_POLICY_PUBLISH, p.policy_id, (long long)p.version,
		 r.registry_id, (long long)r.version);
	if ((rc = s->policy->publish(s->policy->impl, pc, rc_, actor, message)) < 0)
		goto cleanup;

	/* Record who published what in the audit log. */
	char pd[CR_SHA_MAX], rd[CR_SHA_MAX];
	cr_sha256_hex(pc, strlen(pc), pd);
	cr_sha256_hex(rc_, strlen(rc_), rd);
	cr_audit_event ev;
	cr_svc_audit_event_init(&ev, CR_AUDIT_POLICY_PUBLISH, NULL, actor);
	cr_audit_detail(&ev, "policy_id", p.policy_id);
	cr_audit_detail(&ev, "policy_digest", pd);
	cr_audit_detail(&ev, "registry_id", r.registry_id);
	cr_audit_detail(&ev, "registry_digest", rd);
	struct audit_ctx x = {.s = s, .ev = &ev};
	rc = cr_ledger_transact(s->ledger, actor, audit_txn, &x);
	cr_svc_audit_event_done(&ev);
cleanup:
	cr_policy_clear(&p);
	cr_registry_clear(&r);
	free(pc);
	free(rc_);
	cJSON_Delete(pdoc);
	cJSON_Delete(rdoc);
	return rc;
}

int cr_svc_policy_show(const cr_svc *s, char **policy_json, char **registry_json, cr_snapshot *policy,
		       cr_snapshot *registry)
{
	/* Not pinned: showing the built-in demo policy writes nothing. */
	return s->policy->resolve(s->policy->impl, policy_json, registry_json, policy, registry, false);
}
