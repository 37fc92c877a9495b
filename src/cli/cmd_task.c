/* clean-release task status */
#include <inttypes.h>
#include "cli/cli.h"
#include "facade/dto.h"

static const struct cr_cli_option status_opts[] = {
	CR_OPT_STRING("task-id", CR_CLI_REQUIRED, "ID", "task id from 'compliance run --detach'"),
	CR_OPT_END,
};

static int cmd_status(cr_cli *c)
{
	cr_task t = {0};
	char err[600];
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_task_status(c->f, cr_cli_str(c, "task-id"), &t)) < 0)
		goto cleanup;
	if (c->json) {
		rc = cr_cli_print_json(cr_task_dto_to_json(&t));
		goto cleanup;
	}
	cr_cli_out(c, "%s %s %" PRIu64 "/%" PRIu64 " artifacts, run %s, updated %s\n", t.task_id,
		   cr_task_status_name((int)t.status), t.progress.done, t.progress.total, t.run_id, t.updated_at);
	if (t.error)
		cr_cli_out(c, "error: %s\n", cr_cli_clean(t.error, err, sizeof(err)));
cleanup:
	cr_task_clear(&t);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{"status", cmd_status, status_opts, "show a background task (a detached run)", NULL, 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_task = {"task", commands};
