/* The audit log, oldest first. */
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/ids.h"
#include "services/services.h"
#include "util/error.h"

int cr_svc_audit_log(const cr_svc *s, const char *cid, cr_audit_event **out, size_t *n)
{
	cr_txn *t = NULL;
	cr_strlist ids = {0};
	cr_audit_event *e = NULL;
	size_t m = 0;
	int rc;

	*out = NULL;
	*n = 0;
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
	if ((rc = s->ledger->list(t, CR_OBJ_AUDIT, cid, &ids)) < 0)
		goto cleanup;
	if (ids.n && !(e = calloc(ids.n, sizeof(*e)))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	for (; m < ids.n; m++) {
		cJSON *doc = NULL;
		if ((rc = cr_svc_get_json(t, s, CR_OBJ_AUDIT, ids.v[m], NULL, &doc)) == 0)
			rc = cr_audit_event_from_json(doc, &e[m]);
		cJSON_Delete(doc);
		if (rc < 0)
			goto cleanup;
	}
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
