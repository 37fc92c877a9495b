/* clean-release hook pre-receive | pre-push | install: the git hooks,
 * served by the hooks front end (src/hooks/). */
#include <stdio.h>
#include "cli/cli.h"
#include "hooks/hooks.h"

static const struct cr_cli_option no_opts[] = {
	CR_OPT_END,
};

static const struct cr_cli_option install_opts[] = {
	CR_OPT_FLAG("server", "the server's pre-receive gate (run inside its bare repository); default: this clone's pre-push"),
	CR_OPT_FLAG("force", "replace a hook of another program"),
	CR_OPT_END,
};

static int cmd_pre_receive(cr_cli *c)
{
	(void)c;
	return cr_hooks_pre_receive(NULL, stdin, stderr);
}

static int cmd_pre_push(cr_cli *c)
{
	(void)c;
	return cr_hooks_pre_push(NULL, stdin, stderr);
}

static int cmd_install(cr_cli *c)
{
	return cr_hooks_install(NULL, cr_cli_flag(c, "server"), cr_cli_flag(c, "force"), c->quiet ? NULL : stdout);
}

static const struct cr_cli_command commands[] = {
	{"pre-receive", cmd_pre_receive, no_opts, "check a push on a git server",
	 "Reads \"old new ref\" lines on stdin, as git's pre-receive does, and exits 1\n"
	 "(refusing the whole push) when it deletes or rewinds a clean-release ref,\n"
	 "adds a ledger commit that rewrites an entry or carries an invalid object,\n"
	 "moves the policy to an invalid or unrecorded one, or tags a release whose\n"
	 "commit is no APPROVED or PUBLISHED candidate's, saying why and what to do.\n"
	 "Writes nothing. See docs/distributed.md.", CR_CLI_READS},
	{"pre-push", cmd_pre_push, no_opts, "check the release tags of a push before it leaves",
	 "Reads git's pre-push lines on stdin and refuses a release tag whose commit\n"
	 "is no APPROVED or PUBLISHED candidate's in this clone's ledger.", CR_CLI_READS},
	{"install", cmd_install, install_opts, "install the pre-push hook (or, --server, pre-receive)",
	 "Writes the hook into the repository's hooks directory (core.hooksPath or\n"
	 "$GIT_DIR/hooks). A different hook there is left alone (exit 5) unless --force.", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_hook = {"hook", commands};
