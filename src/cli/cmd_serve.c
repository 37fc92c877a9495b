/* clean-release serve: the REST API (contracts/clean-release-api.openapi.yaml). */
#include "cli/cli.h"

static const struct cr_cli_option serve_opts[] = {
	CR_OPT_STRING("listen", CR_CLI_OPTIONAL, "ADDR:PORT", "where to listen (loopback only without --tokens)"),
	CR_OPT_STRING("tokens", CR_CLI_OPTIONAL, "FILE", "bearer tokens: one line per token, actor and role"),
	CR_OPT_END,
};

static const struct cr_cli_command commands[] = {
	{NULL, cr_cli_not_built, serve_opts, "serve the REST API", NULL, CR_CLI_UNBUILT},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_serve = {"serve", commands};
