#ifndef CR_TUI_TUI_H
#define CR_TUI_TUI_H
/*
 * The terminal client (ux_reference.md): a thin front end on the facade.
 * It reads the evidence and the task manager's progress through it, and
 * triggers the facade's operations on keys; it keeps no state of its own
 * beyond what is on the screen.
 */
#include <stdbool.h>

typedef struct cr_tui_opts {
	bool demo;
	const char *actor;        /* --actor, NULL: git config user.email */
	const char *candidate_id; /* select it first, NULL: the newest */
} cr_tui_opts;

/* The redirect printed when stdin or stdout is not a terminal. */
#define CR_TUI_NOT_A_TTY "clean-release tui needs an interactive terminal; use the CLI " \
	"(`clean-release compliance run …`) or the REST API (`clean-release serve`)"

/* Run the client until q (or SIGINT, SIGTERM, SIGHUP); the terminal is
 * restored whatever ends it. 0, or a negative CR_E* code with
 * cr_error_last() set (CR_EINVALID_ARGUMENT, CR_TUI_NOT_A_TTY, when stdin
 * or stdout is not a terminal). */
int cr_tui_run(const cr_tui_opts *o);

#endif
