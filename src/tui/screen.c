/*
 * The TUI's screen: ux_reference.md drawn with ncurses, the keys, and the
 * terminal put back whatever ends the client. Single-threaded: one loop
 * reads a key (or times out after 250 ms), ticks the model (every second,
 * four times a second while a run is active) and redraws only on change.
 */
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curses.h>
#include "tui/internal.h"
#include "util/error.h"

enum { C_PASS = 1, C_FAIL, C_WARN, C_DEMO, C_DIM };

static volatile sig_atomic_t stop_signal;
static bool screen_up;
static bool colour;
static bool utf8; /* the terminal's locale is UTF-8: else ASCII only */

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void screen_down(void)
{
	if (screen_up) {
		curs_set(1);
		endwin();
		screen_up = false;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- text ---------------------------------------------------------------- */

/* Draw S at (Y, X), at most W columns: control characters and bytes that
 * are not UTF-8 shown as '?', one column a character. */
static void put(int y, int x, int w, attr_t a, const char *s)
{
	char buf[1024];
	size_t o = 0;
	int cols = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p && cols < w && o + 5 < sizeof(buf)) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		/* Without UTF-8, the few signs of the screen in ASCII, the rest '?'. */
		if (!utf8 && n > 1) {
			const char *alt = !memcmp(p, "·", 2) ? "-" : !memcmp(p, "…", 3) ? "..." : !memcmp(p, "—", 3) ? "-" : "?";
			size_t k = 1;
			while (k < n && (p[k] & 0xc0) == 0x80)
				k++;
			for (const char *a = alt; *a && cols < w && o + 1 < sizeof(buf); a++, cols++)
				buf[o++] = *a;
			p += k;
			continue;
		}
		bool ok = n > 0 && (n == 1 ? *p >= 0x20 && *p != 0x7f : true);
		for (size_t k = 1; ok && k < n; k++)
			ok = (p[k] & 0xc0) == 0x80;
		if (ok && n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			ok = false; /* C1 controls */
		if (ok) {
			memcpy(buf + o, p, n);
			o += n;
			p += n;
		} else {
			buf[o++] = '?';
			p++;
		}
		cols++;
	}
	buf[o] = '\0';
	attron(a);
	mvaddstr(y, x, buf);
	attroff(a);
}

static attr_t status_attr(cr_status s)
{
	if (!colour)
		return s == CR_STATUS_CHECK_BLOCKED || s == CR_STATUS_CHECK_ERROR ? A_BOLD : A_NORMAL;
	switch (s) {
	case CR_STATUS_CHECK_PASSED:
	case CR_STATUS_APPROVED:
	case CR_STATUS_PUBLISHED:
		return COLOR_PAIR(C_PASS);
	case CR_STATUS_CHECK_BLOCKED:
	case CR_STATUS_REJECTED:
	case CR_STATUS_REVOKED:
		return COLOR_PAIR(C_FAIL);
	case CR_STATUS_CHECK_ERROR:
		return COLOR_PAIR(C_WARN);
	default:
		return A_NORMAL;
	}
}

static attr_t final_attr(cr_final f)
{
	if (!colour)
		return f == CR_FINAL_PASSED ? A_NORMAL : A_BOLD;
	return f == CR_FINAL_PASSED ? COLOR_PAIR(C_PASS) : f == CR_FINAL_BLOCKED ? COLOR_PAIR(C_FAIL) : COLOR_PAIR(C_WARN);
}

static attr_t stage_attr(cr_stage_status s)
{
	if (!colour)
		return s == CR_SS_PASSED ? A_NORMAL : A_BOLD;
	return s == CR_SS_PASSED ? COLOR_PAIR(C_PASS) : s == CR_SS_FAILED ? COLOR_PAIR(C_FAIL) : COLOR_PAIR(C_WARN);
}

static const char *line_char(const struct tui_model *m, bool vertical)
{
	if (!utf8)
		return m->demo ? (vertical ? "#" : "=") : (vertical ? "|" : "-");
	if (m->demo)
		return vertical ? "║" : "═";
	return vertical ? "│" : "─";
}

/* ---- the screen ------------------------------------------------------------ */

static void draw_header(const struct tui_model *m, int w)
{
	char clock[32], left[400];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%Y-%m-%d %H:%MZ", &tm);
	attr_t bar = m->demo ? (colour ? COLOR_PAIR(C_DEMO) | A_BOLD : A_BOLD) : A_NORMAL;
	attron(bar);
	mvhline(0, 0, ' ', w);
	attroff(bar);
	put(0, 0, w, bar, " clean-release · ");
	int x = 17;
	put(0, x, 4, m->demo ? (bar | A_REVERSE) : A_BOLD, m->demo ? "DEMO" : "REAL");
	x += 4;
	snprintf(left, sizeof(left), " · repo: %s", m->repo_name);
	put(0, x, w - x - 18, bar, left);
	put(0, w - (int)strlen(clock) - 1, (int)strlen(clock), bar, clock);
}

static void draw_list(const struct tui_model *m, int lw, int h)
{
	int w = lw - 2; /* a blank column before the separator */
	put(1, 1, w, A_BOLD, "Candidates");
	int rows = h - 4;
	for (int r = 0; r < rows; r++) {
		size_t i = m->top + (size_t)r;
		if (i >= m->n)
			break;
		const cr_candidate_view *v = &m->list[i];
		bool sel = i == m->sel;
		char line[300];
		snprintf(line, sizeof(line), "%s%s ", sel ? "> " : "  ", v->c.candidate_id);
		int idw = (int)strlen(line) < w ? (int)strlen(line) : w;
		put(2 + r, 1, w, sel ? A_BOLD : A_NORMAL, line);
		if (idw < w)
			put(2 + r, 1 + idw, w - idw, status_attr(v->status) | (sel ? A_BOLD : A_NORMAL), cr_status_name(v->status));
	}
	if (m->n == 0)
		put(2, 1, w, A_DIM, "  (no candidates)");
}

static long seconds_between(const char *a, const char *b)
{
	struct tm ta = {0}, tb = {0};
	if (!a[0] || !b[0] || !strptime(a, "%Y-%m-%dT%H:%M:%SZ", &ta) || !strptime(b, "%Y-%m-%dT%H:%M:%SZ", &tb))
		return -1;
	return (long)(timegm(&tb) - timegm(&ta));
}

static void draw_detail(const struct tui_model *m, int x, int w, int h)
{
	char line[600];
	int y = 1;
	if (!m->have_cur) {
		put(y, x, w, A_DIM, m->n ? "" : "No candidate yet: clean-release candidate register …");
		return;
	}
	const cr_candidate_view *c = &m->cur;
	snprintf(line, sizeof(line), w >= 60 ? "Candidate %s   v%s   " : "Candidate %s  v%s  ", c->c.candidate_id,
		 c->c.version);
	put(y, x, w, A_BOLD, line);
	if ((int)strlen(line) < w)
		put(y, x + (int)strlen(line), w - (int)strlen(line), status_attr(c->status) | A_BOLD, cr_status_name(c->status));
	y++;
	snprintf(line, sizeof(line), "source   %s (%.7s)", c->c.source_snapshot, c->c.source_commit);
	put(y++, x, w, A_NORMAL, line);
	if (m->have_man)
		snprintf(line, sizeof(line), "manifest %s  v%lld  %zu artifacts  sha256 %.4s…", m->man.manifest_id,
			 (long long)m->man.version, m->man.artifact_count, m->man.manifest_digest);
	else
		snprintf(line, sizeof(line), "manifest -");
	put(y++, x, w, A_NORMAL, line);
	if (!m->have_run) {
		put(y++, x, w, A_NORMAL, "run      -");
	} else {
		const cr_run *r = &m->run;
		bool active = tui_model_run_active(m);
		long secs = seconds_between(r->started_at, r->finished_at);
		char dur[32] = "";
		if (secs >= 0)
			snprintf(dur, sizeof(dur), "  %ld s", secs);
		snprintf(line, sizeof(line), "run      %s  %s  %llu/%llu%s", r->run_id, cr_run_status_name(r->status),
			 (unsigned long long)r->progress.done, (unsigned long long)r->progress.total, dur);
		put(y, x, w, active ? A_BOLD : A_NORMAL, line);
		int used = (int)strlen(line);
		if (active && r->progress.total > 0 && w - used - 9 >= 4) {
			int bw = w - used - 9 < 30 ? w - used - 9 : 30;
			int fill = (int)((uint64_t)bw * r->progress.done / r->progress.total);
			char bar[64];
			int k = 0;
			bar[k++] = '[';
			for (int i = 0; i < bw; i++)
				bar[k++] = i < fill ? '#' : '.';
			snprintf(bar + k, sizeof(bar) - (size_t)k, "] %llu%%",
				 (unsigned long long)(100 * r->progress.done / r->progress.total));
			put(y, x + used + 2, w - used - 2, A_NORMAL, bar);
		}
		y++;
		for (int s = 0; s < CR_STAGE__COUNT && y < h - 3; s++) {
			char row[200];
			if ((size_t)s < r->stage_count) {
				const cr_stage_result *st = &r->stages[s];
				snprintf(row, sizeof(row), "  %-22s ", cr_stage_name(st->stage));
				put(y, x, w, A_NORMAL, row);
				snprintf(row, sizeof(row), "%-8s %llu", cr_stage_status_name(st->status),
					 (unsigned long long)st->violation_count);
				if (w > 25)
					put(y, x + 25, w - 25, stage_attr(st->status), row);
			} else {
				snprintf(row, sizeof(row), "  %-22s %s", cr_stage_name((cr_stage)s),
					 !active ? "-" : r->status == CR_RUN_PENDING ? "PENDING" : "RUNNING");
				put(y, x, w, A_DIM, row);
			}
			y++;
		}
	}
	if (y < h - 3) {
		if (m->have_rep) {
			snprintf(line, sizeof(line), "report   %s  ", m->rep.report_id);
			put(y, x, w, A_NORMAL, line);
			int used = (int)strlen(line);
			const char *fin = cr_final_name(m->rep.final_status);
			put(y, x + used, w - used, final_attr(m->rep.final_status), fin ? fin : "-");
			used += fin ? (int)strlen(fin) : 1;
			snprintf(line, sizeof(line), "  %llu blocker, %llu warning   Enter: violations",
				 (unsigned long long)m->rep.blocker, (unsigned long long)m->rep.warning);
			if (used < w)
				put(y, x + used, w - used, A_NORMAL, line);
		} else {
			put(y, x, w, A_NORMAL, "report   -");
		}
	}
}

struct key {
	const char *fkey, *plain, *name, *short_name;
	void (*why)(const struct tui_model *, char *, size_t);
};
static const struct key keys[] = {
	{"F5", "c", "Run check", "Run", tui_why_not_run},
	{"F6", "m", "Build manifest", "Manifest", tui_why_not_manifest},
	{"F8", "a", "Approve", "Approve", tui_why_not_approve},
	{"F9", "p", "Publish", "Publish", tui_why_not_publish},
};

static void draw_footer(const struct tui_model *m, int w, int h)
{
	char label[64];
	int x = 1;
	bool wide = w >= 90;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char why[300];
		keys[i].why(m, why, sizeof(why));
		snprintf(label, sizeof(label), "%s/%s %s", keys[i].fkey, keys[i].plain, wide ? keys[i].name : keys[i].short_name);
		put(h - 1, x, w - x, why[0] ? A_DIM : A_NORMAL, label);
		x += (int)strlen(label) + 2;
	}
	snprintf(label, sizeof(label), "r Refresh  ? Keys  q Quit");
	put(h - 1, x, w - x, A_NORMAL, label);
}

static void draw_message(const struct tui_model *m, int w, int h)
{
	if (!m->msg[0])
		return;
	attr_t a = m->msg_kind == MSG_ERROR ? (colour ? COLOR_PAIR(C_FAIL) | A_BOLD : A_BOLD)
		   : m->msg_kind == MSG_OK ? (colour ? COLOR_PAIR(C_PASS) : A_NORMAL) : A_NORMAL;
	move(h - 3, 0);
	clrtoeol();
	put(h - 3, 1, w - 2, a, m->msg);
}

static void draw_violations(const struct tui_model *m, int w, int h)
{
	char line[1200];
	snprintf(line, sizeof(line), "Violations of %s (%s): %zu%s", m->rep.report_id, m->vrun, m->nviol,
		 m->vnext[0] ? "+" : "");
	put(1, 1, w - 2, A_BOLD, line);
	put(2, 1, w - 2, A_DIM, "STAGE                  SEVERITY RULE                 WHERE / EXCERPT");
	int rows = h - 6;
	for (int r = 0; r < rows; r++) {
		size_t i = m->vtop + (size_t)r;
		if (i >= m->nviol)
			break;
		const cr_violation *v = &m->viol[i];
		char where[600];
		if (v->artifact_path && v->has_location)
			snprintf(where, sizeof(where), "%s:%llu", v->artifact_path, (unsigned long long)v->location.line);
		else
			snprintf(where, sizeof(where), "%s", v->artifact_path ? v->artifact_path : "(manifest)");
		snprintf(line, sizeof(line), "%-22s %-8s %-20.20s %s  %s", cr_stage_name(v->stage),
			 cr_severity_name(v->severity), v->rule_id, where, v->excerpt ? v->excerpt : (v->message ? v->message : ""));
		put(3 + r, 1, w - 2, v->severity == CR_SEV_BLOCKER && colour ? COLOR_PAIR(C_FAIL) :
				    (colour ? COLOR_PAIR(C_WARN) : A_NORMAL), line);
	}
	if (m->nviol == 0)
		put(3, 1, w - 2, A_DIM, "(no violations)");
	put(h - 1, 1, w - 2, A_NORMAL, "Up/Down PgUp/PgDn Home/End scroll  Esc back  q Quit");
}

static void draw_help(int w, int h)
{
	static const char *const lines[] = {
		"Keys",
		"",
		"Up/Down, j/k     select a candidate",
		"PgUp/PgDn        a page up / down",
		"Home/End         the newest / the oldest",
		"Enter            the violations of the selected report (Esc: back)",
		"F5  or c         start a compliance run on the latest manifest",
		"F6  or m         build a manifest from the latest import",
		"F8  or a         approve on the latest report (CHECK_PASSED only)",
		"F9  or p         publish to a channel (APPROVED only)",
		"r                read everything again",
		"q                quit",
		"",
		"Each action asks first. Any key closes this.",
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0]));
	int top = h > n + 4 ? (h - n) / 2 : 1;
	for (int i = 0; i < n && top + i < h - 1; i++) {
		move(top + i, 2);
		clrtoeol();
		put(top + i, 4, w - 6, i == 0 ? A_BOLD : A_NORMAL, lines[i]);
	}
}

static void draw(const struct tui_model *m, bool help)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	erase();
	if (h < 10 || w < 40) {
		put(0, 0, w, A_BOLD, "clean-release tui: the terminal is too small (80x24 or larger)");
		refresh();
		return;
	}
	draw_header(m, w);
	int lw = w >= 100 ? 40 : 28;
	if (m->vview) {
		draw_violations(m, w, h);
	} else {
		draw_list(m, lw, h);
		for (int y = 1; y < h - 2; y++)
			mvaddstr(y, lw, line_char(m, true));
		draw_detail(m, lw + 2, w - lw - 3, h);
		draw_footer(m, w, h);
	}
	for (int x = 0; x < w; x++)
		mvaddstr(h - 2, x, line_char(m, false));
	draw_message(m, w, h);
	if (help)
		draw_help(w, h);
	refresh();
}

/* ---- input ------------------------------------------------------------------ */

/* Wait for a key (a resize redraws; a stop signal is ERR). */
static int wait_key(const struct tui_model *m)
{
	for (;;) {
		if (stop_signal)
			return ERR;
		int ch = getch();
		if (ch == KEY_RESIZE) {
			draw(m, false);
			continue;
		}
		if (ch != ERR)
			return ch;
	}
}

static bool confirm(struct tui_model *m, const char *question)
{
	tui_msg(m, MSG_INFO, "%s [y/N]  (as %s)", question, m->actor[0] ? m->actor : "no actor");
	draw(m, false);
	int ch = wait_key(m);
	m->msg[0] = '\0';
	return ch == 'y' || ch == 'Y';
}

/* A line typed at the prompt (Enter ends it, Esc gives up: false). */
static bool ask_line(struct tui_model *m, const char *prompt, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	for (;;) {
		tui_msg(m, MSG_INFO, "%s%s_", prompt, out);
		draw(m, false);
		int ch = wait_key(m);
		if (ch == ERR || ch == 27) {
			m->msg[0] = '\0';
			return false;
		}
		if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
			break;
		if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n > 0)
			out[--n] = '\0';
		else if (ch >= 0x20 && ch < 0x7f && n + 1 < len) {
			out[n++] = (char)ch;
			out[n] = '\0';
		}
	}
	m->msg[0] = '\0';
	return n > 0;
}

static void select_row(struct tui_model *m, long delta, int rows)
{
	long s = (long)m->sel + delta;
	if (delta > 0)
		while ((size_t)s >= m->n && m->next[0] && tui_model_more(m) == 0)
			;
	if (s < 0)
		s = 0;
	if (m->n == 0)
		return;
	if ((size_t)s >= m->n)
		s = (long)m->n - 1;
	m->sel = (size_t)s;
	if (m->sel < m->top)
		m->top = m->sel;
	if (rows > 0 && m->sel >= m->top + (size_t)rows)
		m->top = m->sel - (size_t)rows + 1;
	m->msg[0] = '\0';
	if (tui_model_load_selected(m) < 0)
		tui_msg(m, MSG_ERROR, "%s", cr_error_last()->message);
}

static void action(struct tui_model *m, int which)
{
	char why[300], q[1600], channel[64];
	keys[which].why(m, why, sizeof(why));
	if (why[0]) {
		tui_msg(m, MSG_ERROR, "%s", why);
		return;
	}
	switch (which) {
	case 0:
		snprintf(q, sizeof(q), "Run the check of %s on %s?", m->cur.c.candidate_id, m->cur.latest_manifest_id);
		if (confirm(m, q))
			tui_do_run(m);
		break;
	case 1:
		snprintf(q, sizeof(q), "Build a manifest of %s from %s?", m->cur.c.candidate_id, m->cur.latest_import_id);
		if (confirm(m, q))
			tui_do_manifest(m);
		break;
	case 2:
		snprintf(q, sizeof(q), "Approve %s on %s?", m->cur.c.candidate_id, m->cur.latest_report_id);
		if (confirm(m, q))
			tui_do_approve(m);
		break;
	case 3:
		if (!ask_line(m, "Publish to channel: ", channel, sizeof(channel)))
			break;
		snprintf(q, sizeof(q), "Publish %s to %s?", m->cur.c.candidate_id, channel);
		if (confirm(m, q))
			tui_do_publish(m, channel);
		break;
	}
}

/* One key of the candidate screen; false to quit. */
static bool key_main(struct tui_model *m, int ch, bool *help)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	(void)w;
	int rows = h - 4;
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case KEY_UP:
	case 'k':
		select_row(m, -1, rows);
		break;
	case KEY_DOWN:
	case 'j':
		select_row(m, 1, rows);
		break;
	case KEY_PPAGE:
		select_row(m, -rows, rows);
		break;
	case KEY_NPAGE:
		select_row(m, rows, rows);
		break;
	case KEY_HOME:
		select_row(m, -(long)m->sel, rows);
		break;
	case KEY_END:
		while (m->next[0] && tui_model_more(m) == 0)
			;
		select_row(m, (long)m->n, rows);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (tui_violations_open(m) < 0)
			tui_violations_close(m);
		break;
	case 'r':
		m->msg[0] = '\0';
		if (tui_model_reload(m, NULL) < 0)
			tui_msg(m, MSG_ERROR, "%s", cr_error_last()->message);
		break;
	case '?':
		*help = true;
		break;
	case KEY_F(5):
	case 'c':
		action(m, 0);
		break;
	case KEY_F(6):
	case 'm':
		action(m, 1);
		break;
	case KEY_F(8):
	case 'a':
		action(m, 2);
		break;
	case KEY_F(9):
	case 'p':
		action(m, 3);
		break;
	default:
		break;
	}
	return true;
}

static bool key_violations(struct tui_model *m, int ch)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	(void)w;
	size_t rows = h > 6 ? (size_t)(h - 6) : 1;
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case 27: /* Esc */
	case KEY_BACKSPACE:
	case KEY_LEFT:
		tui_violations_close(m);
		return true;
	case KEY_UP:
	case 'k':
		if (m->vtop)
			m->vtop--;
		break;
	case KEY_PPAGE:
		m->vtop = m->vtop > rows ? m->vtop - rows : 0;
		break;
	case KEY_HOME:
		m->vtop = 0;
		break;
	case KEY_DOWN:
	case 'j':
	case KEY_NPAGE:
	case KEY_END: {
		size_t want = ch == KEY_END ? (size_t)-1 : m->vtop + (ch == KEY_NPAGE ? rows : 1);
		while ((want == (size_t)-1 || want + rows > m->nviol) && m->vnext[0] && tui_violations_more(m) == 0)
			;
		size_t last = m->nviol > rows ? m->nviol - rows : 0;
		m->vtop = want > last ? last : want;
		break;
	}
	default:
		break;
	}
	return true;
}

/* ---- the loop ---------------------------------------------------------------- */

static void start_screen(void)
{
	setlocale(LC_ALL, "");
	utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	initscr();
	screen_up = true;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	timeout(250);
	colour = !getenv("NO_COLOR") && has_colors();
	if (colour) {
		start_color();
		use_default_colors();
		init_pair(C_PASS, COLOR_GREEN, -1);
		init_pair(C_FAIL, COLOR_RED, -1);
		init_pair(C_WARN, COLOR_YELLOW, -1);
		init_pair(C_DEMO, COLOR_WHITE, COLOR_MAGENTA);
	}
}

int cr_tui_run(const cr_tui_opts *o)
{
	struct tui_model m;
	struct sigaction sa = {0}, old[3];
	static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	bool help = false, dirty = true;
	int rc;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return cr_error_set(CR_EINVALID_ARGUMENT, "%s", CR_TUI_NOT_A_TTY);
	/* Read before the screen is up: an error is one line on a normal terminal. */
	if ((rc = tui_model_open(&m, o)) < 0) {
		tui_model_close(&m);
		return rc;
	}
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	stop_signal = 0;
	start_screen();
	uint64_t last = now_ms();
	int minute = -1;
	while (!stop_signal) {
		if (dirty) {
			draw(&m, help);
			dirty = false;
		}
		int ch = getch();
		if (ch == KEY_RESIZE) {
			dirty = true;
		} else if (ch != ERR) {
			dirty = true;
			if (help) {
				help = false;
			} else if (!(m.vview ? key_violations(&m, ch) : key_main(&m, ch, &help))) {
				break;
			}
		}
		uint64_t now = now_ms();
		if (now - last >= (tui_model_run_active(&m) ? 250u : 1000u)) {
			bool changed = false;
			last = now;
			if (!m.vview && tui_model_tick(&m, &changed) < 0) {
				tui_msg(&m, MSG_ERROR, "%s", cr_error_last()->message);
				changed = true;
			}
			time_t t = time(NULL);
			if ((int)(t / 60) != minute) { /* the header's clock */
				minute = (int)(t / 60);
				changed = true;
			}
			dirty |= changed;
		}
	}
	screen_down();
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	tui_model_close(&m);
	return 0;
}
