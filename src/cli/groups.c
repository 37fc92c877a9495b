#include "cli/cli.h"

/* The command table: a new command group is one file and one line here.
 * The order is the order of `clean-release help`. */
const struct cr_cli_group *const cr_cli_groups[] = {
	&cr_cli_candidate,
	&cr_cli_manifest,
	&cr_cli_compliance,
	&cr_cli_release,
	&cr_cli_policy,
	&cr_cli_audit,
	&cr_cli_task,
	&cr_cli_verify,
	&cr_cli_repair,
	&cr_cli_remote,
	&cr_cli_fetch,
	&cr_cli_push,
	&cr_cli_sync,
	&cr_cli_serve,
	&cr_cli_token,
	&cr_cli_tui,
	&cr_cli_hook,
	&cr_cli_ci,
	NULL,
};
