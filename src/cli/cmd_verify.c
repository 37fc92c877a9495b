/* clean-release verify | repair */
#include <inttypes.h>
#include <string.h>
#include "cli/cli.h"
#include "util/error.h"

static const struct cr_cli_option verify_opts[] = {
	CR_OPT_STRING("range", CR_CLI_OPTIONAL, "OLD..NEW",
		      "only the ledger commits after OLD up to NEW (NEW empty: the ledger's tip)"),
	CR_OPT_FLAG("require-signatures", "every ledger commit signed by a signer of the policy in force at it"),
	CR_OPT_STRING("policy-root", CR_CLI_OPTIONAL, "DIGEST",
		      "the sha256 the root of the policy chain must have (default: git config cleanRelease.policyRoot)"),
	CR_OPT_END,
};

/* Split OLD..NEW into OLD and NEW (NULL when empty). */
static int parse_range(const char *arg, char *old, size_t len, const char **new_rev)
{
	const char *dots = strstr(arg, "..");
	if (!dots || dots == arg || strstr(dots + 2, "..") || (size_t)(dots - arg) >= len)
		return cr_error_set(CR_EINVALID_ARGUMENT, "--range wants OLD..NEW (two ledger commits), not \"%.200s\"",
				    arg);
	memcpy(old, arg, (size_t)(dots - arg));
	old[dots - arg] = '\0';
	*new_rev = dots[2] ? dots + 2 : NULL;
	return 0;
}

static int cmd_verify(cr_cli *c)
{
	cr_verify_result r = {0};
	const char *range = cr_cli_str(c, "range");
	char old[1024];
	cJSON *doc;
	int rc;

	if (range && (rc = parse_range(range, old, sizeof(old), &c->ledger_at)) < 0)
		return rc;
	c->policy_root = cr_cli_str(c, "policy-root");
	c->require_signatures = cr_cli_flag(c, "require-signatures");
	if (c->policy_root && (strlen(c->policy_root) != 64 || strspn(c->policy_root, "0123456789abcdef") != 64))
		return cr_cli_usage_error(c, "--policy-root wants a sha256 (64 lowercase hex digits)");
	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_verify(c->f, range ? old : NULL, &r)) < 0)
		return rc;
	if (!c->json) {
		cr_cli_out(c, "ledger verified: %" PRIu64 " commits, %" PRIu64 " objects\n", r.commits, r.objects);
		/* Trust on first use is said, never silent. */
		if (r.root_digest[0] && r.root_pinned)
			cr_cli_out(c, "policy root: %s (sha256 %s, ledger commit %.12s) matches the pin\n", r.root_policy,
				   r.root_digest, r.root_commit);
		else if (r.root_digest[0])
			cr_cli_out(c, "policy root: %s (sha256 %s, ledger commit %.12s) trusted on first use; pin it: git "
				   "clean-release verify --policy-root %s (or git config cleanRelease.policyRoot)\n",
				   r.root_policy, r.root_digest, r.root_commit, r.root_digest);
		return 0;
	}
	doc = cJSON_CreateObject();
	cJSON *root = r.root_digest[0] ? cJSON_CreateObject() : cJSON_CreateNull();
	if (root && r.root_digest[0] &&
	    (!cJSON_AddStringToObject(root, "digest", r.root_digest) || !cJSON_AddStringToObject(root, "commit", r.root_commit) ||
	     !cJSON_AddStringToObject(root, "policy", r.root_policy) || !cJSON_AddBoolToObject(root, "pinned", r.root_pinned))) {
		cJSON_Delete(root);
		root = NULL;
	}
	if (!doc || !root || !cJSON_AddItemToObject(doc, "policy_root", root) || !cJSON_AddTrueToObject(doc, "ok") ||
	    !cJSON_AddNumberToObject(doc, "commits", (double)r.commits) ||
	    !cJSON_AddNumberToObject(doc, "objects", (double)r.objects)) {
		cJSON_Delete(doc);
		return cr_error_set(CR_EINTERNAL, "out of memory building the verify result");
	}
	return cr_cli_print_json(doc);
}

static const struct cr_cli_command commands[] = {
	{NULL, cmd_verify, verify_opts,
	 "check the ledger: append-only, every object valid",
	 "Walks every clean-release ref of the namespace: history only moves forward,\n"
	 "no entry is modified or removed, every object is canonical JSON valid against\n"
	 "its schema. Exits 5 naming the first bad commit and path. --range checks only\n"
	 "the commits a push or fetch adds, and that OLD is an ancestor of NEW.", CR_CLI_READS},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_verify = {"verify", commands};

static const struct cr_cli_option repair_opts[] = {
	CR_OPT_STRING("to", CR_CLI_REQUIRED, "OID", "an earlier tip of the ledger, as its reflog and verify's hint name it"),
	CR_OPT_END,
};

static int cmd_repair(cr_cli *c)
{
	cr_verify_result r = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0 || (rc = cr_facade_repair(c->f, cr_cli_str(c, "to"), &r)) < 0)
		return rc;
	cr_cli_out(c, "ledger restored to %s: %" PRIu64 " commits verified\n", cr_cli_str(c, "to"), r.commits);
	return 0;
}

static const struct cr_cli_command repair_commands[] = {
	{NULL, cmd_repair, repair_opts,
	 "put the ledger back on an earlier tip when its current one is broken",
	 "When a commit of the ledger is gone (pruned while it was written), verify names\n"
	 "the reflog's last tip whose history is whole; repair moves the ledger ref back\n"
	 "to it. It appends nothing, and refuses a tip that is not in the reflog, one that\n"
	 "does not verify, and a ledger that verifies as it is.", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_repair = {"repair", repair_commands};
