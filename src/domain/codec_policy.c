#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/codec_fields.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"

/* ---- policy, registry ----------------------------------------------- */

static int rule_from_json(const cJSON *j, const char *what, cr_rule *r)
{
	static const char *const matchers[] = {
		[CR_MATCH_PATH] = "path_pattern",
		[CR_MATCH_CONTENT] = "content_pattern",
		[CR_MATCH_ENDPOINT] = "endpoint_pattern",
	};
	const cJSON *secret;
	int found = 0, rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "id", true, false, r->id, sizeof(r->id)));
	GET_ENUM(j, what, "stage", cr_stage_parse, &r->stage);
	if (r->stage != CR_STAGE_DATA_PURITY && r->stage != CR_STAGE_NO_EXTERNAL_ENDPOINTS) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: rule %s: stage %s has no policy rules", what, r->id,
				  cr_stage_name(r->stage));
		goto cleanup;
	}
	GET_ENUM(j, what, "severity", cr_severity_parse, &r->severity);
	TRY(get_dup(j, what, "description", true, false, &r->description));
	for (size_t m = 0; m < NELEM(matchers); m++) {
		char *pat = NULL;
		TRY(get_dup(j, what, matchers[m], false, false, &pat));
		if (!pat)
			continue;
		if (found++) {
			free(pat);
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: rule %s has more than one matcher", what, r->id);
			goto cleanup;
		}
		r->matcher = (cr_matcher)m;
		r->pattern = pat;
	}
	if (!found) {
		rc = cr_error_set(CR_EINVALID_INPUT,
				  "%s: rule %s needs one of path_pattern, content_pattern, endpoint_pattern", what, r->id);
		goto cleanup;
	}
	if (r->matcher == CR_MATCH_ENDPOINT && r->stage != CR_STAGE_NO_EXTERNAL_ENDPOINTS) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: rule %s: endpoint_pattern belongs to NO_EXTERNAL_ENDPOINTS",
				  what, r->id);
		goto cleanup;
	}
	/* Content matches may be secrets unless the rule says otherwise: the
	 * safe default masks them. */
	r->secret = r->matcher == CR_MATCH_CONTENT;
	secret = cJSON_GetObjectItemCaseSensitive(j, "secret");
	if (secret) {
		if (!cJSON_IsBool(secret)) {
			rc = bad(what, "secret", "is not a boolean");
			goto cleanup;
		}
		r->secret = cJSON_IsTrue(secret);
	}
	return 0;
cleanup:
	free(r->description);
	free(r->pattern);
	memset(r, 0, sizeof(*r));
	return rc;
}

static int signers_from_json(const cJSON *j, const char *what, cr_policy *p)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "signers"), *item, *role;
	int rc = 0;

	if (!list)
		return 0;
	if (!cJSON_IsArray(list))
		return bad(what, "signers", "is not an array");
	size_t n = (size_t)cJSON_GetArraySize(list);
	if (n && !(p->signers = calloc(n, sizeof(*p->signers))))
		return cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
	cJSON_ArrayForEach(item, list) {
		cr_signer *sg = &p->signers[p->signer_count];
		TRY(need_object(item, "policy signer"));
		TRY(get_fixed(item, "policy signer", "principal", true, false, sg->principal, sizeof(sg->principal)));
		TRY(get_dup(item, "policy signer", "public_key", true, false, &sg->public_key));
		p->signer_count++;
		const cJSON *roles = cJSON_GetObjectItemCaseSensitive(item, "roles");
		if (!cJSON_IsArray(roles))
			return bad("policy signer", "roles", "is not an array");
		cJSON_ArrayForEach(role, roles) {
			const char *r = cJSON_IsString(role) ? role->valuestring : "";
			sg->roles |= !strcmp(r, "releaser") ? CR_SIGNER_RELEASER : !strcmp(r, "approver") ? CR_SIGNER_APPROVER
				     : !strcmp(r, "policy-admin") ? CR_SIGNER_POLICY_ADMIN : 0;
		}
		if (!sg->roles)
			return cr_error_set(CR_EINVALID_INPUT, "%s: signer %s has no role", what, sg->principal);
		/* One principal, one entry: an allowed-signers file must not be ambiguous. */
		for (size_t k = 0; k + 1 < p->signer_count; k++)
			if (!strcmp(p->signers[k].principal, sg->principal))
				return cr_error_set(CR_EINVALID_INPUT, "%s: signer %s is listed twice", what, sg->principal);
	}
	list = cJSON_GetObjectItemCaseSensitive(j, "require_signatures");
	if (!list)
		return 0;
	if (!cJSON_IsArray(list))
		return bad(what, "require_signatures", "is not an array");
	n = (size_t)cJSON_GetArraySize(list);
	if (n && !(p->require_signatures = calloc(n, sizeof(char *))))
		return cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
	cJSON_ArrayForEach(item, list) {
		if (!cJSON_IsString(item))
			return bad(what, "require_signatures", "holds a value that is not a string");
		if (!(p->require_signatures[p->require_count] = strdup(item->valuestring)))
			return cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
		p->require_count++;
	}
cleanup:
	return rc;
}

int cr_policy_from_json(const cJSON *j, cr_policy *p)
{
	static const char what[] = "policy";
	const cJSON *rules, *item, *limits;
	int64_t v;
	bool present;
	size_t n;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "policy_id", true, false, p->policy_id, sizeof(p->policy_id)));
	TRY(get_int(j, what, "version", true, 1, MAX_SAFE_INT, &p->version, NULL));
	TRY(get_dup(j, what, "release_tag_pattern", true, false, &p->release_tag_pattern));
	TRY(get_array(j, what, "rules", &rules));
	n = (size_t)cJSON_GetArraySize(rules);
	if (n > 0) {
		p->rules = calloc(n, sizeof(*p->rules));
		if (!p->rules) {
			rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
			goto cleanup;
		}
	}
	cJSON_ArrayForEach(item, rules) {
		cr_rule *r = &p->rules[p->rule_count];
		TRY(rule_from_json(item, what, r));
		p->rule_count++;
		/* Violations name their rule: two rules with one id would make
		 * a finding ambiguous. */
		for (size_t k = 0; k + 1 < p->rule_count; k++) {
			if (!strcmp(p->rules[k].id, r->id)) {
				rc = cr_error_set(CR_EINVALID_INPUT, "%s: rule id %s is used twice", what, r->id);
				goto cleanup;
			}
		}
	}
	p->limits.per_artifact_timeout_ms = 60000;
	p->limits.max_per_rule_artifact = 1000;
	p->limits.max_per_run = 100000;
	TRY(get_obj(j, what, "limits", false, &limits));
	if (limits) {
		v = 0;
		TRY(get_int(limits, "policy limits", "match_limit", false, 1, 4294967295.0, &v, &present));
		if (present)
			p->limits.match_limit = (uint32_t)v;
		TRY(get_int(limits, "policy limits", "depth_limit", false, 1, 4294967295.0, &v, &present));
		if (present)
			p->limits.depth_limit = (uint32_t)v;
		TRY(get_int(limits, "policy limits", "per_artifact_timeout_ms", false, 1, 86400000.0, &v, &present));
		if (present)
			p->limits.per_artifact_timeout_ms = (uint64_t)v;
		TRY(get_int(limits, "policy limits", "max_artifact_bytes", false, 1, MAX_SAFE_INT, &v, &present));
		if (present)
			p->limits.max_artifact_bytes = (uint64_t)v;
		TRY(get_int(limits, "policy limits", "max_violations_per_rule_artifact", false, 1, 4294967295.0, &v,
			    &present));
		if (present)
			p->limits.max_per_rule_artifact = (uint64_t)v;
		TRY(get_int(limits, "policy limits", "max_violations_per_run", false, 1, 4294967295.0, &v, &present));
		if (present)
			p->limits.max_per_run = (uint64_t)v;
	}
	TRY(signers_from_json(j, what, p));
	return 0;
cleanup:
	cr_policy_clear(p);
	return rc;
}

int cr_registry_from_json(const cJSON *j, cr_registry *r)
{
	static const char what[] = "registry";
	const cJSON *arr, *item;
	size_t n;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "registry_id", true, false, r->registry_id, sizeof(r->registry_id)));
	TRY(get_int(j, what, "version", true, 1, MAX_SAFE_INT, &r->version, NULL));
	TRY(get_array(j, what, "allowed_sources", &arr));
	n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		rc = bad(what, "allowed_sources", "is empty");
		goto cleanup;
	}
	r->sources = calloc(n, sizeof(*r->sources));
	if (!r->sources) {
		rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
		goto cleanup;
	}
	cJSON_ArrayForEach(item, arr) {
		cr_allowed_source *s = &r->sources[r->source_count];
		TRY(need_object(item, "registry allowed source"));
		TRY(get_fixed(item, "registry allowed source", "id", true, false, s->id, sizeof(s->id)));
		TRY(get_dup(item, "registry allowed source", "prefix", true, false, &s->prefix));
		r->source_count++;
		for (size_t k = 0; k + 1 < r->source_count; k++) {
			if (!strcmp(r->sources[k].id, s->id)) {
				rc = cr_error_set(CR_EINVALID_INPUT, "%s: allowed source id %s is used twice", what,
						  s->id);
				goto cleanup;
			}
		}
	}
	TRY(get_array(j, what, "allowed_hosts", &arr));
	n = (size_t)cJSON_GetArraySize(arr);
	if (n > 0) {
		r->hosts = calloc(n, sizeof(*r->hosts));
		if (!r->hosts) {
			rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
			goto cleanup;
		}
	}
	cJSON_ArrayForEach(item, arr) {
		if (!cJSON_IsString(item) || !item->valuestring) {
			rc = bad(what, "allowed_hosts", "holds a non-string");
			goto cleanup;
		}
		r->hosts[r->host_count] = strdup(item->valuestring);
		if (!r->hosts[r->host_count]) {
			rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
			goto cleanup;
		}
		r->host_count++;
	}
	return 0;
cleanup:
	cr_registry_clear(r);
	return rc;
}
