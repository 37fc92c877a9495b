/* clean-release ci: register, import, build and check for a tag push. */
#include "cli/cli.h"

static const struct cr_cli_option ci_opts[] = {
	CR_OPT_STRING("tag", CR_CLI_REQUIRED, "REF", "the pushed tag, e.g. refs/tags/v1.2.0"),
	CR_OPT_STRING("input", CR_CLI_REQUIRED, "FILE", "the artifacts document"),
	CR_OPT_STRING("channel", CR_CLI_OPTIONAL, "C", "the channel to publish on"),
	CR_OPT_END,
};

static const struct cr_cli_command commands[] = {
	{NULL, cr_cli_not_built, ci_opts, "check a pushed tag end to end",
	 "Prints each step's ids and exits like 'compliance run'.", CR_CLI_UNBUILT},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_ci = {"ci", commands};
