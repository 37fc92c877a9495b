#ifndef CR_ADAPTERS_TASKS_H
#define CR_ADAPTERS_TASKS_H
#include "ports/task_manager.h"

/* The task manager on task files under DIR (e.g. $GIT_DIR/clean-release/tasks),
 * created on first write. Free with cr_tasks_close. */
int cr_tasks_open(cr_task_port *out, const char *dir);
void cr_tasks_close(cr_task_port *p);

/* The forked worker pool (also reachable as port->scan). */
int cr_pool_run(const cr_pool_job *job, const cr_pool_callbacks *cb, void *ctx);

#endif
