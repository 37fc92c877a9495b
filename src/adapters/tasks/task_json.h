#ifndef CR_ADAPTERS_TASKS_TASK_JSON_H
#define CR_ADAPTERS_TASKS_TASK_JSON_H
/*
 * The task file's format: one JSON object per task, the OpenAPI Task
 * (the facade's task DTO is this same form).
 */
#include <cjson/cJSON.h>
#include "domain/entities.h"

/* T as a new JSON object the caller frees, or NULL with the error set. */
cJSON *cr_task_to_json(const cr_task *t);
/* Fill the zeroed *T from J: 0, or CR_EINVALID_INPUT naming the first bad
 * field (T is cleared then). */
int cr_task_from_json(const cJSON *j, cr_task *t);

#endif
