/*
 * The task file's JSON (adapters/tasks/task_json.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec_helpers.h"
#include "adapters/tasks/task_json.h"
#include "util/error.h"
#include "util/json.h"

static void rt_task(void **s)
{
	(void)s;
	cr_task t = {0};
	cJSON *j;
	char *text;

	snprintf(t.task_id, sizeof(t.task_id), "task-run-001");
	snprintf(t.run_id, sizeof(t.run_id), "run-001");
	t.status = CR_TASK_QUEUED;
	snprintf(t.created_at, sizeof(t.created_at), "2026-03-09T10:04:00Z");
	snprintf(t.updated_at, sizeof(t.updated_at), "2026-03-09T10:04:00Z");
	j = cr_task_to_json(&t);
	text = canon(j);
	assert_string_equal(text, "{\"created_at\":\"2026-03-09T10:04:00Z\",\"error\":null,\"pid\":null,"
				  "\"progress\":{\"artifacts_done\":0,\"artifacts_total\":0},\"run_id\":\"run-001\","
				  "\"status\":\"QUEUED\",\"task_id\":\"task-run-001\",\"type\":\"compliance_run\","
				  "\"updated_at\":\"2026-03-09T10:04:00Z\"}");
	free(text);
	cJSON_Delete(j);
	STRUCT_ROUND_TRIP(cr_task, &t, cr_task_from_json, cr_task_to_json, cr_task_clear);

	t.status = CR_TASK_FAILED;
	t.pid = 4242;
	t.progress.done = 1;
	t.progress.total = 3;
	t.error = dup("worker 4242 killed by signal 9");
	STRUCT_ROUND_TRIP(cr_task, &t, cr_task_from_json, cr_task_to_json, cr_task_clear);
	cr_task_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rt_task),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
