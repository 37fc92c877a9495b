#ifndef CR_ADAPTERS_TASKS_H
#define CR_ADAPTERS_TASKS_H
#include "adapters/tasks/pool.h"
#include "ports/task_manager.h"

/* How a runner is started: PROGRAM with ARGV (NULL-terminated, its
 * arguments before the ones spawn() adds: "--task-id T --jobs N
 * --lock-fd 3"), e.g. {"-C", repo, "task", "run", NULL}. */
typedef struct cr_tasks_opts {
	const char *program;
	const char *const *argv;
	cr_pool_faults faults; /* for the tests; zero: none */
	bool fault_save_enospc; /* for the tests: every save fails as on a full disk */
	int shared;             /* core.sharedRepository (util/fs.h): modes of what it writes */
} cr_tasks_opts;

/* The task manager on task files under DIR (e.g. $GIT_DIR/clean-release/tasks),
 * created on first write; O (copied) may be NULL: spawn() is then refused.
 * Free with cr_tasks_close. */
int cr_tasks_open(cr_task_port *out, const char *dir, const cr_tasks_opts *o);
/* Close the port: every runner lock it holds is let go of (a runner it was
 * handed to keeps holding it). */
void cr_tasks_close(cr_task_port *p);

/* The descriptor spawn() hands the runner lock on. */
#define CR_TASK_LOCK_FD 3

#endif
