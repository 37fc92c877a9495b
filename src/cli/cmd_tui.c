/* clean-release tui: the thin terminal client (ux_reference.md). */
#include "cli/cli.h"

static const struct cr_cli_option tui_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_OPTIONAL, "ID", "the candidate to select first"),
	CR_OPT_END,
};

static const struct cr_cli_command commands[] = {
	{NULL, cr_cli_not_built, tui_opts, "the terminal client", NULL,
	 CR_CLI_UNBUILT},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_tui = {"tui", commands};
