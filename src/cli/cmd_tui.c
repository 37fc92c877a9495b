/* clean-release tui: the thin terminal client (ux_reference.md), served by
 * the tui front end (src/tui/) in the program clean-release-tui. */
#include <stdio.h>
#include <unistd.h>
#include "cli/cli.h"
#include "tui/tui.h"

static const struct cr_cli_option tui_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_OPTIONAL, "ID", "the candidate to select first"),
	CR_OPT_ACTOR,
	CR_OPT_END,
};

static int cmd_tui(cr_cli *c)
{
	/* The redirect exactly as ux_reference.md words it, before anything is opened. */
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "%s\n", CR_TUI_NOT_A_TTY);
		return 2;
	}
	if (!c->fe->tui)
		return cr_cli_exec_frontend(c, "clean-release-tui");
	cr_tui_opts o = {.demo = c->demo, .actor = cr_cli_str(c, "actor"), .candidate_id = cr_cli_str(c, "candidate-id")};
	return c->fe->tui(&o);
}

static const struct cr_cli_command commands[] = {
	{NULL, cmd_tui, tui_opts, "the terminal client",
	 "The candidates newest first, and for the selected one its latest manifest,\n"
	 "run (live) and report; F5 run, F6 build a manifest, F8 approve, F9 publish\n"
	 "(c, m, a, p without function keys), Enter the violations, ? the keys, q quit.\n"
	 "Needs an interactive terminal (exit 2 otherwise). See docs/tui.md.",
	 CR_CLI_OWN_ACTOR},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_tui = {"tui", commands};
