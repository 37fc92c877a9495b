/*
 * clean-release-tui: the program `clean-release tui` runs. The whole command
 * line, and the terminal front end (src/tui/, ncurses). Installed beside the
 * program, in libexec/clean-release/.
 */
#include "cli/cli.h"
#include "tui/tui.h"

int main(int argc, char **argv)
{
	static const struct cr_cli_frontends tui = {.tui = cr_tui_run};
	return cr_cli_main(argc, argv, &tui);
}
