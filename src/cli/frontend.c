/* The front ends that are programs of their own (clean-release-serve,
 * clean-release-tui): found from this program's own path and run in its
 * place, with the same command line. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "util/error.h"

int cr_cli_exec_frontend(const cr_cli *c, const char *name)
{
	char self[PATH_MAX], path[2][PATH_MAX + 64], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char **argv;
	int i = 1, k = 1;

	if (n <= 0)
		return cr_error_set(CR_EINTERNAL, "cannot find this program (/proc/self/exe): %s", strerror(errno));
	self[n] = '\0';
	if ((slash = strrchr(self, '/')))
		*slash = '\0';
	snprintf(path[0], sizeof(path[0]), "%s/../libexec/clean-release/%s", self, name);
	snprintf(path[1], sizeof(path[1]), "%s/%s", self, name);
	const char *prog = access(path[0], X_OK) == 0 ? path[0] : access(path[1], X_OK) == 0 ? path[1] : NULL;
	if (!prog) {
		cr_error_set(CR_ESTORAGE, "this installation has no %s (looked for %s and %s)", name, path[0],
			     path[1]);
		return cr_error_hint("install clean-release whole: make install");
	}
	/* The same line but -C, which this process has already applied: the
	 * global options come before the command's name (run.c). */
	if (!(argv = calloc((size_t)c->argc + 1, sizeof(*argv))))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	argv[0] = c->argv[0];
	for (; i < c->argc && c->argv[i][0] == '-'; i++) {
		if (!strcmp(c->argv[i], "-C")) {
			i++;
			continue;
		}
		argv[k++] = c->argv[i];
	}
	for (; i < c->argc; i++)
		argv[k++] = c->argv[i];
	fflush(NULL);
	execv(prog, argv);
	cr_error_set(CR_ESTORAGE, "cannot run %s: %s", prog, strerror(errno));
	free(argv);
	return CR_ESTORAGE;
}
