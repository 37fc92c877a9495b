/*
 * The evidence ledger as a chain of git commits on one ref.
 *
 * Layout of every ledger tree (docs/evidence-layout.md):
 *
 *   candidates/<f>/<cid>/candidate.json
 *   candidates/<f>/<cid>/{imports,manifests,reports,approvals,publications,revocations}/<id>.json
 *   candidates/<f>/<cid>/runs/<run>/{requested,started,stage-N,finished}.json
 *   candidates/<f>/<cid>/runs/<run>/violations/<chunk>.json
 *   candidates/<f>/<cid>/events/<evt>.json
 *   ids/<kind>/<f>/<id>.json       the same blob, found by id alone
 *   ids/run/<f>/<run>/…            the same run tree, found by run id alone
 *   audit/<f>/<evt>.json           the whole audit log
 *   policy/<evt>.json              the policy.publish events again (the binding of the policy ref)
 *
 * <f> is a fixed three-level fan-out "a/b/c" from the first hex digits of
 * SHA-256(key): every tree on a path has at most 16 entries above the leaf,
 * so one append writes O(log n) small trees (git notes fan out the same way;
 * the fan-out is fixed from the first commit because paths never move).
 *
 * Counters (the last imp/man/run/… number) ride in each commit message as a
 * "Clean-Release-Counters:" trailer, so allocation reads one commit; verify
 * checks each trailer against the ids the commit adds.
 */
#include "adapters/git/ledger_internal.h"

/* ---- paths ------------------------------------------------------------ */

void cr_gl_fanout(const char *key, char out[8])
{
	char h[65];
	cr_sha256_hex(key, strlen(key), h);
	snprintf(out, 8, "%c/%c/%c", h[0], h[1], h[2]);
}

const char *const cr_gl_candidate_dir[CR_OBJ__COUNT] = {
	[CR_OBJ_IMPORT] = "imports",
	[CR_OBJ_MANIFEST] = "manifests",
	[CR_OBJ_RUN] = "runs",
	[CR_OBJ_REPORT] = "reports",
	[CR_OBJ_APPROVAL] = "approvals",
	[CR_OBJ_PUBLICATION] = "publications",
	[CR_OBJ_REVOCATION] = "revocations",
	[CR_OBJ_AUDIT] = "events",
};

static const char *const index_dir[CR_OBJ__COUNT] = {
	[CR_OBJ_IMPORT] = "imp",
	[CR_OBJ_MANIFEST] = "man",
	[CR_OBJ_RUN] = "run",
	[CR_OBJ_RUN_EVENT] = "run",
	[CR_OBJ_VIOLATIONS] = "run",
	[CR_OBJ_REPORT] = "rpt",
	[CR_OBJ_APPROVAL] = "apr",
	[CR_OBJ_PUBLICATION] = "pub",
	[CR_OBJ_REVOCATION] = "rev",
};

static int fits(int n, size_t len)
{
	if (n < 0 || (size_t)n >= len)
		return cr_error_set(CR_EINVALID_ARGUMENT, "ledger path too long");
	return 0;
}

/* INDEX 0: the path under the candidate; 1: the path found by id alone
 * (ids/… or audit/…). Returns 1 if the object has no such path. */
int cr_git_ledger_path(char *buf, size_t len, cr_objkind kind, const char *cid, const char *key,
		       const char *sub, int index)
{
	char f[8];
	int n;

	if (kind == CR_OBJ_CANDIDATE) {
		if (index)
			return 1;
		cr_gl_fanout(key, f);
		return fits(snprintf(buf, len, "candidates/%s/%s/candidate.json", f, key), len);
	}
	if (kind == CR_OBJ_AUDIT) {
		if (index) {
			cr_gl_fanout(key, f);
			return fits(snprintf(buf, len, "audit/%s/%s.json", f, key), len);
		}
		/* The events of no candidate (policy.publish) bind the policy
		 * ref: found by listing policy/. */
		if (!cid || !cid[0])
			return fits(snprintf(buf, len, "%s/%s.json", POLICY_ROOT, key), len);
		cr_gl_fanout(cid, f);
		return fits(snprintf(buf, len, "candidates/%s/%s/events/%s.json", f, cid, key), len);
	}
	if (index) {
		cr_gl_fanout(key, f);
		n = snprintf(buf, len, "ids/%s/%s/%s", index_dir[kind], f, key);
	} else {
		if (!cid)
			return 1;
		cr_gl_fanout(cid, f);
		n = snprintf(buf, len, "candidates/%s/%s/%s/%s", f, cid,
			     cr_gl_candidate_dir[kind == CR_OBJ_RUN_EVENT || kind == CR_OBJ_VIOLATIONS ? CR_OBJ_RUN : kind],
			     key);
	}
	if (fits(n, len) < 0)
		return -1;
	size_t used = (size_t)n;
	if (kind == CR_OBJ_RUN_EVENT)
		n = snprintf(buf + used, len - used, "/%s.json", sub);
	else if (kind == CR_OBJ_VIOLATIONS)
		n = snprintf(buf + used, len - used, "/violations/%s.json", sub);
	else if (kind == CR_OBJ_RUN)
		n = 0;
	else
		n = snprintf(buf + used, len - used, ".json");
	return fits(n, len - used);
}

/* ---- counters trailer ------------------------------------------------- */

void cr_gl_parse_counters(const char *msg, uint64_t c[CR_ID__COUNT])
{
	memset(c, 0, sizeof(uint64_t) * CR_ID__COUNT);
	const char *p = msg ? strstr(msg, COUNTERS_TRAILER) : NULL;
	if (!p)
		return;
	p += strlen(COUNTERS_TRAILER);
	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		for (int k = 0; k < CR_ID__COUNT; k++) {
			const char *pre = cr_id_prefix((cr_idkind)k);
			size_t pl = strlen(pre);
			if (!strncmp(p, pre, pl) && p[pl] == '=') {
				char *end;
				c[k] = strtoull(p + pl + 1, &end, 10);
				p = end;
				break;
			}
		}
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
}

void cr_gl_format_counters(char *buf, size_t len, const uint64_t c[CR_ID__COUNT])
{
	size_t used = (size_t)snprintf(buf, len, "%s", COUNTERS_TRAILER);
	for (int k = 0; k < CR_ID__COUNT && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used, " %s=%" PRIu64, cr_id_prefix((cr_idkind)k), c[k]);
}

