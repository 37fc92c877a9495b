/*
 * git-clean-release / clean-release: the program every command line starts.
 * It holds the CLI and the engine; `serve` and `tui` run the programs that
 * hold their front ends (main_serve.c, main_tui.c), so that no other
 * command loads libmicrohttpd, GnuTLS or ncurses (docs/design.md, "Process
 * start").
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	static const struct cr_cli_frontends none = {0};
	return cr_cli_main(argc, argv, &none);
}
