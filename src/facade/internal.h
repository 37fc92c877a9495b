#ifndef CR_FACADE_INTERNAL_H
#define CR_FACADE_INTERNAL_H
/* The facade's handle, shared by its files (facade.c opens it; facade_push.c
 * checks a push with it). No front end sees it. */
#include <limits.h>
#include "adapters/git/git.h"
#include "facade/facade.h"
#include "services/services.h"

struct cr_facade {
	git_repository *repo;
	bool demo;
	bool read_only;
	bool ledger_at; /* reads a given ledger commit, not the ref's tip */
	cr_ledger_port ledger;
	cr_policy_port policy;
	cr_task_port tasks;
	cr_clock_port clock;
	cr_cache_port cache;
	cr_rules_port rules;
	cr_svc svc;
	char path[PATH_MAX];
	char program[PATH_MAX];
	char ledger_ref[96];
};

/* CR_EFORBIDDEN naming OP when F was opened read-only (before anything is read). */
int cr_facade_writable(const cr_facade *f, const char *op);

#endif
