/*
 * clean-release-serve: the program `clean-release serve` runs. The whole
 * command line, and the REST front end (src/api/, libmicrohttpd). Installed
 * beside the program, in libexec/clean-release/.
 */
#include "api/api.h"
#include "cli/cli.h"

int main(int argc, char **argv)
{
	static const struct cr_cli_frontends serve = {.serve = cr_api_serve};
	return cr_cli_main(argc, argv, &serve);
}
