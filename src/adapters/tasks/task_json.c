/* The task file's JSON (adapters/tasks/task_json.h). */
#include <stdlib.h>
#include <string.h>
#include "adapters/tasks/task_json.h"
#include "domain/codec_fields.h"
#include "util/error.h"

cJSON *cr_task_to_json(const cr_task *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *progress = cJSON_CreateObject();
	bool ok = o && progress;

	if (!ok) {
		cJSON_Delete(progress);
		return done(o, false, "task");
	}
	ok &= put_str(o, "task_id", t->task_id);
	ok &= put_str(o, "type", "compliance_run");
	ok &= put_str(o, "status", cr_task_status_name((int)t->status));
	ok &= put_str(o, "run_id", t->run_id);
	if (t->pid > 0)
		ok &= put_i64(o, "pid", t->pid);
	else
		ok &= cJSON_AddNullToObject(o, "pid") != NULL;
	ok &= put_u64(progress, "artifacts_done", t->progress.done);
	ok &= put_u64(progress, "artifacts_total", t->progress.total);
	ok &= put_item(o, "progress", progress);
	ok &= put_str(o, "created_at", t->created_at);
	ok &= put_str(o, "updated_at", t->updated_at);
	ok &= put_nullable(o, "error", t->error);
	return done(o, ok, "task");
}

int cr_task_from_json(const cJSON *j, cr_task *t)
{
	static const char what[] = "task";
	const cJSON *progress, *pid;
	const char *type;
	int status = 0;
	int64_t pidv = 0;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "task_id", true, false, t->task_id, sizeof(t->task_id)));
	TRY(get_str(j, what, "type", true, false, &type));
	if (strcmp(type, "compliance_run") != 0) {
		rc = bad(what, "type", "is not compliance_run");
		goto cleanup;
	}
	GET_ENUM(j, what, "status", cr_task_status_parse, &status);
	t->status = status;
	TRY(get_fixed(j, what, "run_id", true, false, t->run_id, sizeof(t->run_id)));
	pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	if (!pid) {
		rc = bad(what, "pid", "is missing");
		goto cleanup;
	}
	if (!cJSON_IsNull(pid)) {
		TRY(get_int(j, what, "pid", true, 1, 2147483647.0, &pidv, NULL));
		t->pid = (long)pidv;
	}
	TRY(get_obj(j, what, "progress", true, &progress));
	TRY(get_u64(progress, "task progress", "artifacts_done", &t->progress.done));
	TRY(get_u64(progress, "task progress", "artifacts_total", &t->progress.total));
	TRY(get_fixed(j, what, "created_at", true, false, t->created_at, sizeof(t->created_at)));
	TRY(get_fixed(j, what, "updated_at", true, false, t->updated_at, sizeof(t->updated_at)));
	TRY(get_dup(j, what, "error", true, true, &t->error));
	return 0;
cleanup:
	cr_task_clear(t);
	return rc;
}
