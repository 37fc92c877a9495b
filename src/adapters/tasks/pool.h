#ifndef CR_ADAPTERS_TASKS_POOL_H
#define CR_ADAPTERS_TASKS_POOL_H
/*
 * The forked worker pool (the task port's scan). Workers are forked from
 * the calling process, which must be single-threaded: the runner process,
 * or a CLI running in the foreground. Each worker dies with it
 * (PR_SET_PDEATHSIG, tied to the forking thread: the only one), closes
 * every descriptor it was not given, and restores default signals.
 */
#include "ports/task_manager.h"

/* Faults injected for the tests (the front end reads them from its
 * environment; NULL: none): a worker that checks the artifact at
 * CRASH_PATH dies by SIGSEGV, one that checks HANG_PATH hangs. */
typedef struct cr_pool_faults {
	const char *crash_path, *hang_path, *pause_path;
} cr_pool_faults;

int cr_pool_run(const cr_pool_job *job, const cr_pool_callbacks *cb, void *ctx, const cr_pool_faults *faults);

#endif
