#ifndef CR_ADAPTERS_TASKS_H
#define CR_ADAPTERS_TASKS_H
#include "ports/task_manager.h"

/* The task manager on task files under DIR (e.g. $GIT_DIR/clean-release/tasks),
 * created on first write. Free with cr_tasks_close. */
int cr_tasks_open(cr_task_port *out, const char *dir);
void cr_tasks_close(cr_task_port *p);

/* Runner locks one process can hold (lock() refuses more). */
#define CR_TASK_LOCKS_MAX 64

/* In a child just forked from a process that took runner locks: close the
 * inherited lock fds, so that the child never keeps a dead runner's lock
 * alive. Async-signal-safe; the pool's workers and spawn() call it. */
void cr_tasks_close_inherited_locks(void);

/* The forked worker pool (also reachable as port->scan). */
int cr_pool_run(const cr_pool_job *job, const cr_pool_callbacks *cb, void *ctx);

#endif
