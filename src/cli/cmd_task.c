/* clean-release task status | reap | run */
#include <inttypes.h>
#include "cli/cli.h"
#include "facade/dto.h"
#include "util/error.h"

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

static const struct cr_cli_option reap_opts[] = {
	CR_OPT_STRING("actor", CR_CLI_OPTIONAL, "A",
		      "who records the finishes (default: git config user.email, else " CR_FACADE_REAP_ACTOR ")"),
	CR_OPT_END,
};

static int cmd_reap(cr_cli *c)
{
	cr_reap_result r = {0};
	cJSON *doc = NULL, *arr = NULL;
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_task_reap(c->f, cr_cli_str(c, "actor"), &r)) < 0)
		goto cleanup;
	if (c->json) {
		doc = cJSON_CreateObject();
		arr = cJSON_CreateArray();
		bool ok = doc && arr && cJSON_AddStringToObject(doc, "actor", r.actor);
		for (size_t i = 0; ok && i < r.n; i++) {
			cJSON *id = cJSON_CreateString(r.run_ids[i]);
			ok = id && cJSON_AddItemToArray(arr, id);
			if (!ok)
				cJSON_Delete(id);
		}
		if (ok && cJSON_AddItemToObject(doc, "reaped", arr))
			arr = NULL;
		else
			ok = false;
		cJSON_Delete(arr);
		if (!ok) {
			cJSON_Delete(doc);
			rc = cr_error_set(CR_EINTERNAL, "out of memory");
			goto cleanup;
		}
		rc = cr_cli_print_json(doc);
		goto cleanup;
	}
	for (size_t i = 0; i < r.n; i++)
		cr_cli_out(c, "%s FAILED (ERROR): finish recorded by %s\n", r.run_ids[i], r.actor);
	if (r.n == 0)
		cr_cli_out(c, "no orphaned run\n");
cleanup:
	cr_reap_result_clear(&r);
	return rc;
}

static const struct cr_cli_option run_opts[] = {
	CR_OPT_STRING("task-id", CR_CLI_REQUIRED, "ID", "the queued run's task"),
	CR_OPT_INT("jobs", CR_CLI_REQUIRED, "N", 1, 1024, "worker processes"),
	CR_OPT_INT("lock-fd", CR_CLI_REQUIRED, "FD", 3, 1023, "the descriptor the task's lock was handed over on"),
	CR_OPT_END,
};

static int cmd_run(cr_cli *c)
{
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	return cr_facade_task_run(c->f, cr_cli_str(c, "task-id"), (unsigned)cr_cli_int(c, "jobs", 1),
				  (int)cr_cli_int(c, "lock-fd", -1));
}

static const struct cr_cli_command commands[] = {
	{"status", cmd_status, status_opts, "show a background task (a detached run)", NULL, CR_CLI_READS},
	{"reap", cmd_reap, reap_opts, "record the finish of every orphaned run (its runner gone) as ERROR",
	 "A run whose task is on this machine and whose runner is gone is reported\n"
	 "FAILED/ERROR by every reader; reap records that finish in the ledger, one\n"
	 "commit per run. Nothing is written when there is no orphaned run.",
	 CR_CLI_OWN_ACTOR},
	{"run", cmd_run, run_opts, "be the runner of a detached run (started by 'compliance run --detach')",
	 "The process 'compliance run --detach' starts, handing it the task's lock on\n"
	 "descriptor FD: it executes the queued run as the ledger recorded its request.\n"
	 "Not for use by hand (without the lock it is refused).", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_task = {"task", commands};
