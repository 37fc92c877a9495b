/* clean-release hook pre-receive: the git server's check of a push. */
#include "cli/cli.h"

static const struct cr_cli_option pre_receive_opts[] = {
	CR_OPT_END,
};

static const struct cr_cli_command commands[] = {
	{"pre-receive", cr_cli_not_built, pre_receive_opts,
	 "check a push on a git server",
	 "Reads \"old new ref\" lines on stdin, as git's pre-receive does. Refuses a push\n"
	 "that rewinds or deletes a clean-release ref, rewrites a ledger entry, carries\n"
	 "an invalid object, or tags a release whose candidate is not APPROVED or\n"
	 "PUBLISHED.", CR_CLI_UNBUILT},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_hook = {"hook", commands};
