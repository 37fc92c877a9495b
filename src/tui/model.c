/*
 * What the TUI shows, as the facade answers it: the candidate list a page at
 * a time, the selected candidate's latest manifest, run and report, and the
 * violations of a report. Looking writes nothing (the facade's reads never
 * do). A tick costs one ref read when nothing moved, and the task's
 * progress while a run is active.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tui/internal.h"
#include "util/error.h"

void tui_msg(struct tui_model *m, enum msg_kind k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->msg, sizeof(m->msg), fmt, ap);
	va_end(ap);
	m->msg_kind = k;
}

/* The facade's own error text as the message. */
static int failed(struct tui_model *m, int rc)
{
	const cr_error *e = cr_error_last();
	tui_msg(m, MSG_ERROR, "%s", e && e->message[0] ? e->message : "failed");
	return rc;
}

static void clear_selected(struct tui_model *m)
{
	if (m->have_cur)
		cr_candidate_clear(&m->cur.c);
	if (m->have_man)
		cr_manifest_clear(&m->man);
	if (m->have_run)
		cr_run_clear(&m->run);
	if (m->have_rep)
		cr_report_clear(&m->rep);
	m->have_cur = m->have_man = m->have_run = m->have_rep = false;
}

static void clear_list(struct tui_model *m)
{
	cr_facade_candidates_free(m->list, m->n);
	m->list = NULL;
	m->n = 0;
	m->next[0] = '\0';
}

int tui_model_open(struct tui_model *m, const cr_tui_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->demo = o->demo;
	cr_facade_opts fo = {.demo = o->demo};
	int rc = cr_facade_open(&m->f, &fo);
	if (rc < 0)
		return rc;
	const char *path = cr_facade_repo_path(m->f), *end = path + strlen(path);
	while (end > path && end[-1] == '/')
		end--;
	const char *base = end;
	while (base > path && base[-1] != '/')
		base--;
	snprintf(m->repo_name, sizeof(m->repo_name), "%.*s", (int)(end - base), base);
	/* Without an actor the client still shows everything; an action says why it cannot. */
	if (cr_facade_actor(m->f, o->actor, m->actor, sizeof(m->actor)) < 0) {
		snprintf(m->actor_error, sizeof(m->actor_error), "%s", cr_error_last()->message);
		m->actor[0] = '\0';
		cr_error_clear();
	}
	return tui_model_reload(m, o->candidate_id);
}

void tui_model_close(struct tui_model *m)
{
	tui_violations_close(m);
	clear_selected(m);
	clear_list(m);
	cr_facade_close(m->f);
	m->f = NULL;
}

static int read_page(struct tui_model *m)
{
	cr_candidate_view *v = NULL;
	size_t n = 0;
	char next[CR_CURSOR_MAX] = "";
	cr_page_req pg = {.limit = TUI_PAGE, .cursor = m->next[0] ? m->next : NULL};
	int rc = cr_facade_candidate_list(m->f, CR_STATUS_NONE, &pg, &v, &n, next);
	if (rc < 0)
		return rc;
	cr_candidate_view *all = realloc(m->list, (m->n + n) * sizeof(*all));
	if (!all && m->n + n) {
		cr_facade_candidates_free(v, n);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	if (n)
		memcpy(all + m->n, v, n * sizeof(*v));
	free(v); /* its entries moved into the list */
	m->list = all;
	m->n += n;
	snprintf(m->next, sizeof(m->next), "%s", next);
	return 0;
}

int tui_model_more(struct tui_model *m)
{
	return m->next[0] ? read_page(m) : 0;
}

int tui_model_reload(struct tui_model *m, const char *select_id)
{
	char keep[160] = "";
	size_t want = m->n > TUI_PAGE ? m->n : TUI_PAGE;
	int rc;

	if (select_id)
		snprintf(keep, sizeof(keep), "%s", select_id);
	else if (m->sel < m->n)
		snprintf(keep, sizeof(keep), "%s", m->list[m->sel].c.candidate_id);
	/* The tip first: what is read is at least as new as it. */
	if ((rc = cr_facade_ledger_tip(m->f, m->tip)) < 0)
		return rc;
	clear_list(m);
	do {
		if ((rc = read_page(m)) < 0)
			return rc;
	} while (m->n < want && m->next[0]);
	/* The selection follows its candidate; one not loaded yet is looked for further. */
	size_t i = 0;
	for (;;) {
		for (; i < m->n && strcmp(m->list[i].c.candidate_id, keep); i++)
			;
		if (i < m->n || !keep[0] || !m->next[0])
			break;
		if ((rc = read_page(m)) < 0)
			return rc;
	}
	m->sel = i < m->n ? i : (m->sel < m->n ? m->sel : (m->n ? m->n - 1 : 0));
	return tui_model_load_selected(m);
}

int tui_model_load_selected(struct tui_model *m)
{
	int rc;

	clear_selected(m);
	if (m->sel >= m->n)
		return 0;
	if ((rc = cr_facade_candidate_show(m->f, m->list[m->sel].c.candidate_id, &m->cur)) < 0)
		return rc;
	m->have_cur = true;
	if (m->cur.latest_manifest_id[0]) {
		cr_manifest *all = NULL;
		size_t n = 0;
		if ((rc = cr_facade_manifest_list(m->f, m->cur.c.candidate_id, &all, &n)) < 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(all[i].manifest_id, m->cur.latest_manifest_id)) {
				m->man = all[i];
				memset(&all[i], 0, sizeof(all[i]));
				m->have_man = true;
			}
		cr_facade_manifests_free(all, n);
	}
	if (m->cur.latest_run_id[0]) {
		if ((rc = cr_facade_compliance_status(m->f, m->cur.latest_run_id, &m->run)) < 0)
			return rc;
		m->have_run = true;
		if (m->run.report_id[0]) {
			if ((rc = cr_facade_compliance_report(m->f, m->cur.latest_run_id, &m->rep)) < 0)
				return rc;
			m->have_rep = true;
		}
	}
	return 0;
}

bool tui_model_run_active(const struct tui_model *m)
{
	return m->have_run && (m->run.status == CR_RUN_PENDING || m->run.status == CR_RUN_RUNNING);
}

int tui_model_tick(struct tui_model *m, bool *changed)
{
	char tip[72];
	int rc;

	*changed = false;
	if ((rc = cr_facade_ledger_tip(m->f, tip)) < 0)
		return rc;
	if (strcmp(tip, m->tip)) {
		*changed = true;
		return tui_model_reload(m, NULL);
	}
	if (!tui_model_run_active(m))
		return 0;
	/* The live part: the task manager's progress of the run. */
	cr_run r = {0};
	if ((rc = cr_facade_compliance_status(m->f, m->run.run_id, &r)) < 0)
		return rc;
	*changed = r.status != m->run.status || r.progress.done != m->run.progress.done ||
		   r.progress.total != m->run.progress.total || r.stage_count != m->run.stage_count;
	cr_run_clear(&m->run);
	m->run = r;
	return 0;
}

/* ---- what an action needs ---------------------------------------------- */

void tui_why_not_run(const struct tui_model *m, char *out, size_t len)
{
	out[0] = '\0';
	if (!m->have_cur)
		snprintf(out, len, "No candidate");
	else if (!m->cur.latest_manifest_id[0])
		snprintf(out, len, "No manifest — press F6 to build one");
	else if (tui_model_run_active(m))
		snprintf(out, len, "Run %s is %s", m->run.run_id, cr_run_status_name(m->run.status));
}

void tui_why_not_manifest(const struct tui_model *m, char *out, size_t len)
{
	out[0] = '\0';
	if (!m->have_cur)
		snprintf(out, len, "No candidate");
	else if (!m->cur.latest_import_id[0])
		snprintf(out, len, "No import — import the artifacts first (clean-release candidate import-artifacts)");
}

void tui_why_not_approve(const struct tui_model *m, char *out, size_t len)
{
	out[0] = '\0';
	if (!m->have_cur)
		snprintf(out, len, "No candidate");
	else if (m->cur.status != CR_STATUS_CHECK_PASSED)
		snprintf(out, len, "Approve needs CHECK_PASSED; candidate is %s", cr_status_name(m->cur.status));
}

void tui_why_not_publish(const struct tui_model *m, char *out, size_t len)
{
	out[0] = '\0';
	if (!m->have_cur)
		snprintf(out, len, "No candidate");
	else if (m->cur.status != CR_STATUS_APPROVED)
		snprintf(out, len, "Publish needs APPROVED; candidate is %s", cr_status_name(m->cur.status));
}

static int need_actor(struct tui_model *m)
{
	if (m->actor[0])
		return 0;
	tui_msg(m, MSG_ERROR, "%s", m->actor_error[0] ? m->actor_error : "no actor");
	return CR_EINVALID_ARGUMENT;
}

int tui_do_run(struct tui_model *m)
{
	cr_run r = {0};
	int rc;

	if ((rc = need_actor(m)) < 0)
		return rc;
	/* Detached: the run is a process of its own; the screen follows it. */
	rc = cr_facade_compliance_run(m->f, m->cur.c.candidate_id, m->cur.latest_manifest_id, m->actor, 0, true, NULL,
				      NULL, &r);
	if (rc < 0)
		return failed(m, rc);
	tui_msg(m, MSG_OK, "Started %s on %s (task %s)", r.run_id, r.manifest_id, r.task_id);
	cr_run_clear(&r);
	return tui_model_reload(m, NULL);
}

int tui_do_manifest(struct tui_model *m)
{
	cr_manifest man = {0};
	int rc;

	if ((rc = need_actor(m)) < 0)
		return rc;
	if ((rc = cr_facade_manifest_build(m->f, m->cur.c.candidate_id, m->actor, &man)) < 0)
		return failed(m, rc);
	tui_msg(m, MSG_OK, "Built %s: %zu artifacts from %s", man.manifest_id, man.artifact_count, man.import_id);
	cr_manifest_clear(&man);
	return tui_model_reload(m, NULL);
}

int tui_do_approve(struct tui_model *m)
{
	cr_approval a = {0};
	int rc;

	if ((rc = need_actor(m)) < 0)
		return rc;
	rc = cr_facade_release_approve(m->f, m->cur.c.candidate_id, m->cur.latest_report_id, m->actor, NULL, &a);
	if (rc < 0) {
		failed(m, rc);
		tui_model_reload(m, NULL); /* a refusal is recorded: show it */
		return rc;
	}
	tui_msg(m, MSG_OK, "Approved %s on %s (%s)", a.candidate_id, a.report_id, a.approval_id);
	cr_approval_clear(&a);
	return tui_model_reload(m, NULL);
}

int tui_do_publish(struct tui_model *m, const char *channel)
{
	cr_publication p = {0};
	int rc;

	if ((rc = need_actor(m)) < 0)
		return rc;
	rc = cr_facade_release_publish(m->f, m->cur.c.candidate_id, m->cur.approved_report_id, channel, NULL, m->actor,
				       &p);
	if (rc < 0) {
		failed(m, rc);
		tui_model_reload(m, NULL);
		return rc;
	}
	tui_msg(m, MSG_OK, "Published %s to %s (%s)", m->cur.c.candidate_id, channel, p.publication_id);
	cr_publication_clear(&p);
	return tui_model_reload(m, NULL);
}

/* ---- violations ---------------------------------------------------------- */

int tui_violations_more(struct tui_model *m)
{
	cr_violation *v = NULL;
	size_t n = 0;
	char next[CR_CURSOR_MAX] = "";
	if (!m->vnext[0] && m->nviol)
		return 0;
	cr_page_req pg = {.limit = 200, .cursor = m->vnext[0] ? m->vnext : NULL};
	int rc = cr_facade_compliance_violations(m->f, m->vrun, -1, -1, &pg, &v, &n, next);
	if (rc < 0)
		return failed(m, rc);
	cr_violation *all = realloc(m->viol, (m->nviol + n) * sizeof(*all));
	if (!all && m->nviol + n) {
		cr_facade_violations_free(v, n);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	if (n)
		memcpy(all + m->nviol, v, n * sizeof(*v));
	free(v);
	m->viol = all;
	m->nviol += n;
	snprintf(m->vnext, sizeof(m->vnext), "%s", next);
	return 0;
}

int tui_violations_open(struct tui_model *m)
{
	tui_violations_close(m);
	if (!m->have_rep) {
		tui_msg(m, MSG_INFO, "No report yet");
		return 0;
	}
	snprintf(m->vrun, sizeof(m->vrun), "%s", m->rep.run_id);
	m->vview = true;
	return tui_violations_more(m);
}

void tui_violations_close(struct tui_model *m)
{
	cr_facade_violations_free(m->viol, m->nviol);
	m->viol = NULL;
	m->nviol = m->vtop = 0;
	m->vnext[0] = '\0';
	m->vview = false;
}
