/* clean-release token new: a bearer token for `serve --tokens`. */
#include "api/api.h"
#include "cli/cli.h"

static const struct cr_cli_option new_opts[] = {
	CR_OPT_STRING("actor", CR_CLI_REQUIRED, "A", "who the token acts as, recorded in the evidence"),
	CR_OPT_STRING("role", CR_CLI_REQUIRED, "ROLE", "viewer, releaser or approver"),
	CR_OPT_END,
};

static int cmd_new(cr_cli *c)
{
	char token[65], line[1400];
	int rc = cr_api_token_new(cr_cli_str(c, "actor"), cr_cli_str(c, "role"), token, line, sizeof(line));

	if (rc < 0)
		return rc;
	/* The token once, on stdout; what to do with it, on stderr. */
	printf("%s\n", token);
	fprintf(stderr, "add this line to the tokens file (chmod 600) of clean-release serve --tokens:\n%s\n", line);
	return 0;
}

static const struct cr_cli_command commands[] = {
	{"new", cmd_new, new_opts, "print a fresh bearer token for the REST API",
	 "Prints a 256-bit random token once, and the line of the tokens file that\n"
	 "grants it (its SHA-256, the actor and the role): the file never holds the token.",
	 CR_CLI_OWN_ACTOR},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_token = {"token", commands};
