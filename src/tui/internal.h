#ifndef CR_TUI_INTERNAL_H
#define CR_TUI_INTERNAL_H
/* The TUI's model (model.c: what the facade says, no ncurses) and its
 * screen (screen.c: drawing and keys). */
#include <stdbool.h>
#include <stddef.h>
#include "facade/facade.h"
#include "tui/tui.h"
#include "util/error.h"

#define TUI_PAGE 100 /* candidates read a page at a time */

enum msg_kind { MSG_NONE = 0, MSG_INFO, MSG_OK, MSG_ERROR };

struct tui_model {
	cr_facade *f;
	bool demo;
	char repo_name[256];
	char actor[1100];
	char actor_error[CR_ERROR_MSG_MAX]; /* why there is no actor, "" when there is one */
	char tip[72];          /* the ledger tip the model was read at */

	/* The candidate list, newest first: the pages read so far. */
	cr_candidate_view *list;
	size_t n;
	char next[CR_CURSOR_MAX]; /* the cursor of the page after them, "" at the end */
	size_t sel, top;

	/* The selected candidate: its view, latest manifest, run and report. */
	bool have_cur, have_man, have_run, have_rep;
	cr_candidate_view cur;
	cr_manifest man;
	cr_run run;
	cr_report rep;

	/* The violations view of the selected candidate's report. */
	bool vview;
	cr_violation *viol;
	size_t nviol, vtop;
	char vnext[CR_CURSOR_MAX];
	char vrun[32];

	char msg[1200];
	enum msg_kind msg_kind;
};

/* model.c */
int tui_model_open(struct tui_model *m, const cr_tui_opts *o);
void tui_model_close(struct tui_model *m);
/* Read the list again (as many candidates as were read, at least a page)
 * and the selected candidate, keeping the selection on its id. */
int tui_model_reload(struct tui_model *m, const char *select_id);
/* Read the next page of the list (no-op at its end). */
int tui_model_more(struct tui_model *m);
/* The selected candidate's details, read again. */
int tui_model_load_selected(struct tui_model *m);
/* One tick: when the ledger tip moved, read again; when the selected run is
 * active, its progress. *CHANGED: something on the screen may differ. */
int tui_model_tick(struct tui_model *m, bool *changed);
/* true while the selected candidate's latest run is PENDING or RUNNING. */
bool tui_model_run_active(const struct tui_model *m);
/* Why an action is not allowed now ("" when it is). */
void tui_why_not_run(const struct tui_model *m, char *out, size_t len);
void tui_why_not_manifest(const struct tui_model *m, char *out, size_t len);
void tui_why_not_approve(const struct tui_model *m, char *out, size_t len);
void tui_why_not_publish(const struct tui_model *m, char *out, size_t len);
/* The actions: 0 (M->msg says what was done) or the facade's error (M->msg
 * holds its text). */
int tui_do_run(struct tui_model *m);
int tui_do_manifest(struct tui_model *m);
int tui_do_approve(struct tui_model *m);
int tui_do_publish(struct tui_model *m, const char *channel);
/* The violations view: open (first page), more, close. */
int tui_violations_open(struct tui_model *m);
int tui_violations_more(struct tui_model *m);
void tui_violations_close(struct tui_model *m);
void tui_msg(struct tui_model *m, enum msg_kind k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
