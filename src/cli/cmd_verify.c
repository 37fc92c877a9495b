/* clean-release verify */
#include <inttypes.h>
#include "cli/cli.h"
#include "util/error.h"

static const struct cr_cli_option verify_opts[] = {
	CR_OPT_END,
};

static int cmd_verify(cr_cli *c)
{
	cr_verify_result r = {0};
	cJSON *doc;
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_verify(c->f, &r)) < 0)
		return rc;
	if (!c->json) {
		cr_cli_out(c, "ledger verified: %" PRIu64 " commits, %" PRIu64 " objects\n", r.commits, r.objects);
		return 0;
	}
	doc = cJSON_CreateObject();
	if (!doc || !cJSON_AddTrueToObject(doc, "ok") || !cJSON_AddNumberToObject(doc, "commits", (double)r.commits) ||
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
	 "its schema. Exits 5 naming the first bad commit and path.", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_verify = {"verify", commands};
