#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/codec_fields.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"

/* ---- approval, publication ------------------------------------------ */

cJSON *cr_approval_to_json(const cr_approval *a)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "approval_id", a->approval_id);
		ok &= put_str(o, "candidate_id", a->candidate_id);
		ok &= put_str(o, "report_id", a->report_id);
		ok &= put_str(o, "decision", a->approved ? "APPROVED" : "REJECTED");
		ok &= put_str(o, "actor", a->actor);
		ok &= put_str(o, "at", a->at);
		ok &= put_nullable(o, "comment", a->comment);
	}
	return done(o, ok, "approval");
}

int cr_approval_from_json(const cJSON *j, cr_approval *a)
{
	static const char what[] = "approval";
	const char *decision;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "approval_id", true, false, a->approval_id, sizeof(a->approval_id)));
	TRY(get_fixed(j, what, "candidate_id", true, false, a->candidate_id, sizeof(a->candidate_id)));
	TRY(get_fixed(j, what, "report_id", true, false, a->report_id, sizeof(a->report_id)));
	TRY(get_str(j, what, "decision", true, false, &decision));
	if (strcmp(decision, "APPROVED") != 0 && strcmp(decision, "REJECTED") != 0) {
		rc = bad(what, "decision", "is not APPROVED or REJECTED");
		goto cleanup;
	}
	a->approved = !strcmp(decision, "APPROVED");
	TRY(get_dup(j, what, "actor", true, false, &a->actor));
	TRY(get_fixed(j, what, "at", true, false, a->at, sizeof(a->at)));
	TRY(get_dup(j, what, "comment", true, true, &a->comment));
	return 0;
cleanup:
	cr_approval_clear(a);
	return rc;
}

cJSON *cr_publication_to_json(const cr_publication *p)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "publication_id", p->publication_id);
		ok &= put_str(o, "candidate_id", p->candidate_id);
		ok &= put_str(o, "report_id", p->report_id);
		ok &= put_str(o, "channel", p->channel);
		ok &= put_str(o, "actor", p->actor);
		ok &= put_str(o, "at", p->at);
		if (p->tag[0])
			ok &= put_str(o, "tag", p->tag);
		if (p->tag_commit[0])
			ok &= put_str(o, "tag_commit", p->tag_commit);
		/* A revocation has both; half of one is a bug, not a record. */
		if (p->revoked_by || p->reason) {
			ok &= put_str(o, "revoked_by", p->revoked_by);
			ok &= put_str(o, "reason", p->reason);
		}
	}
	return done(o, ok, "publication");
}

int cr_publication_from_json(const cJSON *j, cr_publication *p)
{
	static const char what[] = "publication";
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "publication_id", true, false, p->publication_id, sizeof(p->publication_id)));
	TRY(get_fixed(j, what, "candidate_id", true, false, p->candidate_id, sizeof(p->candidate_id)));
	TRY(get_fixed(j, what, "report_id", true, false, p->report_id, sizeof(p->report_id)));
	TRY(get_fixed(j, what, "channel", true, false, p->channel, sizeof(p->channel)));
	TRY(get_dup(j, what, "actor", true, false, &p->actor));
	TRY(get_fixed(j, what, "at", true, false, p->at, sizeof(p->at)));
	TRY(get_fixed(j, what, "tag", false, false, p->tag, sizeof(p->tag)));
	TRY(get_fixed(j, what, "tag_commit", false, false, p->tag_commit, sizeof(p->tag_commit)));
	TRY(get_dup(j, what, "revoked_by", false, false, &p->revoked_by));
	TRY(get_dup(j, what, "reason", false, false, &p->reason));
	if (!p->revoked_by != !p->reason) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: a revocation needs both revoked_by and reason", what);
		goto cleanup;
	}
	return 0;
cleanup:
	cr_publication_clear(p);
	return rc;
}

/* ---- audit events --------------------------------------------------- */

cJSON *cr_audit_event_to_json(const cr_audit_event *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *details = cJSON_CreateObject();
	bool ok = o && details;

	if (!ok) {
		cJSON_Delete(details);
		return done(o, false, "audit event");
	}
	ok &= put_str(o, "event_id", e->event_id);
	ok &= put_str(o, "type", e->type);
	ok &= put_id_or_null(o, "candidate_id", e->candidate_id);
	ok &= put_str(o, "actor", e->actor);
	ok &= put_str(o, "at", e->at);
	ok &= put_str(o, "outcome", e->accepted ? "ACCEPTED" : "REFUSED");
	for (size_t i = 0; i < e->ndetails && i < NELEM(e->details); i++)
		ok &= put_str(details, e->details[i].key, e->details[i].value);
	if (e->error_code != 0) {
		cJSON *err = cJSON_CreateObject();
		bool eok = err != NULL;
		if (err) {
			eok &= put_str(err, "code", cr_error_name(e->error_code));
			eok &= put_str(err, "message", e->error_message && *e->error_message
							       ? e->error_message
							       : cr_error_name(e->error_code));
		}
		if (!eok) {
			cJSON_Delete(err);
			err = NULL;
		}
		ok &= put_item(details, "error", err);
	}
	ok &= put_item(o, "details", details);
	return done(o, ok, "audit event");
}

int cr_audit_event_from_json(const cJSON *j, cr_audit_event *e)
{
	static const char what[] = "audit event";
	const cJSON *details, *item;
	const char *outcome;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "event_id", true, false, e->event_id, sizeof(e->event_id)));
	TRY(get_fixed(j, what, "type", true, false, e->type, sizeof(e->type)));
	/* Required key, null only for policy.publish. */
	TRY(get_fixed(j, what, "candidate_id", true, true, e->candidate_id, sizeof(e->candidate_id)));
	TRY(get_dup(j, what, "actor", true, false, &e->actor));
	TRY(get_fixed(j, what, "at", true, false, e->at, sizeof(e->at)));
	TRY(get_str(j, what, "outcome", true, false, &outcome));
	if (strcmp(outcome, "ACCEPTED") != 0 && strcmp(outcome, "REFUSED") != 0) {
		rc = bad(what, "outcome", "is not ACCEPTED or REFUSED");
		goto cleanup;
	}
	e->accepted = !strcmp(outcome, "ACCEPTED");
	TRY(get_obj(j, what, "details", true, &details));
	cJSON_ArrayForEach(item, details) {
		if (!strcmp(item->string, "error")) {
			const char *code;
			if (!cJSON_IsObject(item)) {
				rc = bad(what, "details.error", "is not an object");
				goto cleanup;
			}
			TRY(get_str(item, "audit event details.error", "code", true, false, &code));
			e->error_code = cr_error_from_name(code);
			if (e->error_code == 0) {
				rc = bad(what, "details.error.code", "has an unknown value");
				goto cleanup;
			}
			TRY(get_dup(item, "audit event details.error", "message", true, false, &e->error_message));
			continue;
		}
		/* The struct holds string details only (ids, statuses): another
		 * type could not be written back as it was. */
		if (!cJSON_IsString(item)) {
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: detail \"%.40s\" is not a string", what, item->string);
			goto cleanup;
		}
		rc = cr_audit_detail_set(e, item->string, item->valuestring);
		if (rc < 0) {
			rc = cr_error_set(rc == CR_EINTERNAL ? CR_EINTERNAL : CR_EINVALID_INPUT, "%s: details: %s",
					  what, cr_error_last()->message);
			goto cleanup;
		}
	}
	if (!e->accepted && e->error_code == 0) {
		rc = bad(what, "details.error", "is missing from a refusal");
		goto cleanup;
	}
	return 0;
cleanup:
	cr_audit_event_clear(e);
	return rc;
}
