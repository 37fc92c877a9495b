/* clean-release compliance run | status | stages | violations | report */
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "facade/dto.h"
#include "util/error.h"

/* Worker processes of one run, at most. */
#define JOBS_MAX 1024

static const struct cr_cli_option run_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_REQUIRED, "ID", "the candidate"),
	CR_OPT_STRING("manifest-id", CR_CLI_REQUIRED, "ID", "the manifest to check, e.g. man-001"),
	CR_OPT_ACTOR,
	CR_OPT_INT("jobs", CR_CLI_OPTIONAL, "N", 1, JOBS_MAX, "worker processes (default: online CPUs)"),
	CR_OPT_FLAG("detach", "queue it; print run_id, task_id; exit 0"),
	CR_OPT_END,
};

static const struct cr_cli_option run_id_opts[] = {
	CR_OPT_STRING("run-id", CR_CLI_REQUIRED, "ID", "the run, e.g. run-001"),
	CR_OPT_END,
};

static const struct cr_cli_option violations_opts[] = {
	CR_OPT_STRING("run-id", CR_CLI_REQUIRED, "ID", "the run, e.g. run-001"),
	CR_OPT_STRING("stage", CR_CLI_OPTIONAL, "S", "only this stage, e.g. DATA_PURITY"),
	CR_OPT_STRING("severity", CR_CLI_OPTIONAL, "SEV", "only this severity (BLOCKER or WARNING)"),
	CR_OPT_LIMIT,
	CR_OPT_CURSOR,
	CR_OPT_END,
};

/* The exit status of a finished run: 0 PASSED, 1 BLOCKED, 6 ERROR. A run
 * that finished without a verdict could not be evaluated: ERROR. */
int cr_cli_verdict_exit(cr_final f)
{
	switch (f) {
	case CR_FINAL_PASSED:
		return CR_EXIT_OK;
	case CR_FINAL_BLOCKED:
		return CR_EXIT_BLOCKED;
	default:
		return CR_EXIT_RUN_ERROR;
	}
}

static void stage_line(const cr_cli *c, const cr_stage_result *s)
{
	char dur[32], err[300];

	cr_cli_out(c, "  %-22s %-7s %4" PRIu64 " violation%s  %s%s%s\n", cr_stage_name(s->stage),
		   cr_stage_status_name(s->status), s->violation_count, s->violation_count == 1 ? " " : "s",
		   cr_cli_duration(s->duration_ms, dur, sizeof(dur)), s->error ? "  " : "",
		   s->error ? cr_cli_clean(s->error, err, sizeof(err)) : "");
}

static void run_lines(const cr_cli *c, const cr_run *r)
{
	const char *final = cr_final_name(r->final_status);
	char reason[300];

	cr_cli_out(c, "%s %s%s%s %" PRIu64 "/%" PRIu64 " artifacts%s%s\n", r->run_id,
		   cr_run_status_name(r->status), final ? " " : "", final ? final : "", r->progress.done,
		   r->progress.total, r->report_id[0] ? ", report " : "", r->report_id);
	for (size_t i = 0; i < r->stage_count && i < CR_STAGE__COUNT; i++)
		stage_line(c, &r->stages[i]);
	if (r->reason)
		cr_cli_out(c, "reason: %s\n", cr_cli_clean(r->reason, reason, sizeof(reason)));
}

/* The one live line on a terminal: "run-001 RUNNING 120/412 artifacts". */
struct progress {
	bool drawn;
};

static void on_progress(const cr_run *r, void *ctx)
{
	struct progress *p = ctx;

	fprintf(stderr, "\r%s %s %" PRIu64 "/%" PRIu64 " artifacts\033[K", r->run_id,
		cr_run_status_name(r->status), r->progress.done, r->progress.total);
	fflush(stderr);
	p->drawn = true;
}

static int cmd_run(cr_cli *c)
{
	bool detach = cr_cli_flag(c, "detach");
	long jobs = cr_cli_int(c, "jobs", 0); /* 0: online CPUs */
	bool live = !detach && !c->quiet && isatty(STDERR_FILENO);
	struct progress p = {false};
	cr_run run = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	rc = cr_facade_compliance_run(c->f, cr_cli_str(c, "candidate-id"), cr_cli_str(c, "manifest-id"),
				      c->actor, (unsigned)jobs, detach, live ? on_progress : NULL, &p, &run);
	if (p.drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	if (rc < 0)
		goto cleanup;
	if (c->json && (rc = cr_cli_print_json(cr_run_to_json(&run))) < 0)
		goto cleanup;
	if (detach) {
		if (!c->json)
			cr_cli_out(c, "%s %s, task %s\n", run.run_id, cr_run_status_name(run.status), run.task_id);
		rc = CR_EXIT_OK;
		goto cleanup;
	}
	if (!c->json)
		run_lines(c, &run);
	rc = cr_cli_verdict_exit(run.final_status);
cleanup:
	cr_run_clear(&run);
	return rc;
}

/* The run's live view: its DTO (or, STAGES, its stage list) with --json,
 * else its lines. */
static int show_run(cr_cli *c, bool stages)
{
	cr_run run = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_compliance_status(c->f, cr_cli_str(c, "run-id"), &run)) < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(stages ? cr_run_stages_to_json(&run) : cr_run_to_json(&run));
	else
		run_lines(c, &run);
cleanup:
	cr_run_clear(&run);
	return rc;
}

static int cmd_status(cr_cli *c) { return show_run(c, false); }

static int cmd_stages(cr_cli *c) { return show_run(c, true); }

/* "run-002-v000001 BLOCKER DATA_PURITY no-private-key dist/certs/server.pem:1:1 message",
 * then the (already masked) excerpt, indented. */
static void violation_lines(const cr_cli *c, const cr_violation *v)
{
	char where[4300], path[4200], msg[1024], excerpt[256];

	cr_cli_clean(cr_cli_or_dash(v->artifact_path), path, sizeof(path));
	if (v->has_location)
		snprintf(where, sizeof(where), "%s:%" PRIu64 ":%" PRIu64, path, v->location.line,
			 v->location.column);
	else
		snprintf(where, sizeof(where), "%s", path);
	cr_cli_out(c, "%s %s %s %s %s %s\n", v->violation_id, cr_severity_name(v->severity),
		   cr_stage_name(v->stage), v->rule_id, where, cr_cli_clean(v->message, msg, sizeof(msg)));
	if (v->excerpt)
		cr_cli_out(c, "    %s\n", cr_cli_clean(v->excerpt, excerpt, sizeof(excerpt)));
}

/* "A, B, C" of the names NAME(0..N) into BUF. */
static const char *choices(char *buf, size_t len, const char *(*name)(int), int n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		int k = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name(i));
		if (k < 0 || (size_t)k >= len - used)
			break;
		used += (size_t)k;
	}
	return buf;
}

static const char *stage_name(int i) { return cr_stage_name((cr_stage)i); }
static const char *severity_name(int i) { return cr_severity_name((cr_severity)i); }

/* The whole list, streamed: one violation in memory at a time, the same
 * bytes as the envelope of facade/dto.h prints. The head goes out with the
 * first violation (or at the end), so that a run that is not there prints
 * nothing but its error. */
struct stream {
	const cr_cli *c;
	const char *run_id;
	size_t n;
	bool head;
};

static int stream_head(struct stream *st)
{
	cr_sbuf head = {0};

	if (st->head || !st->c->json)
		return 0;
	cr_sb_puts(&head, "{\"next_cursor\":null,\"run_id\":");
	cr_sb_json_str(&head, st->run_id);
	cr_sb_puts(&head, ",\"violations\":[");
	if (!head.oom)
		fwrite(head.p, 1, head.len, stdout);
	st->head = !head.oom;
	cr_sb_free(&head);
	return st->head ? 0 : cr_error_set(CR_EINTERNAL, "out of memory");
}

static int stream_one(const cr_violation *v, void *ctx)
{
	struct stream *st = ctx;
	char *s;
	int rc;

	if (!st->c->json) {
		violation_lines(st->c, v);
		st->n++;
		return 0;
	}
	if ((rc = stream_head(st)) < 0)
		return rc;
	cJSON *doc = cr_violation_to_json(v);
	s = doc ? cr_json_canonical(doc, NULL) : NULL;
	cJSON_Delete(doc);
	if (!s)
		return cr_error_set(CR_EINTERNAL, "out of memory printing a violation");
	fputs(st->n++ ? "," : "", stdout);
	fputs(s, stdout);
	free(s);
	return 0;
}

static int stream_violations(cr_cli *c, const char *run_id, int stage, int sev)
{
	struct stream st = {c, run_id, 0, false};
	int rc = cr_facade_compliance_violations_each(c->f, run_id, stage, sev, stream_one, &st);

	if (rc == 0 && (rc = stream_head(&st)) == 0 && c->json)
		fputs("]}\n", stdout);
	else if (rc < 0 && st.head)
		fputs("]}\n", stdout); /* what went out stays a document; the error follows on stderr */
	if (rc == 0 && !c->json && st.n == 0)
		cr_cli_out(c, "no violations\n");
	return rc;
}

static int cmd_violations(cr_cli *c)
{
	const char *run_id = cr_cli_str(c, "run-id");
	const char *stage_arg = cr_cli_str(c, "stage"), *sev_arg = cr_cli_str(c, "severity");
	cr_stage stage;
	cr_severity sev;
	int stage_filter = -1, sev_filter = -1, rc;
	cr_violation *v = NULL;
	cr_page_req page;
	size_t n = 0;
	char list[256], next[CR_CURSOR_MAX];

	cr_cli_page(c, &page);
	if (stage_arg) {
		if (cr_stage_parse(stage_arg, &stage) < 0)
			return cr_cli_bad_choice("stage", stage_arg,
						 choices(list, sizeof(list), stage_name, CR_STAGE__COUNT));
		stage_filter = (int)stage;
	}
	if (sev_arg) {
		if (cr_severity_parse(sev_arg, &sev) < 0)
			return cr_cli_bad_choice("severity", sev_arg,
						 choices(list, sizeof(list), severity_name, CR_SEV_WARNING + 1));
		sev_filter = (int)sev;
	}
	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if (!cr_page_wanted(&page))
		return stream_violations(c, run_id, stage_filter, sev_filter);
	if ((rc = cr_facade_compliance_violations(c->f, run_id, stage_filter, sev_filter, &page, &v, &n, next)) < 0)
		return rc;
	if (c->json) {
		rc = cr_cli_print_json(cr_violation_list_to_json(run_id, v, n, next));
	} else {
		for (size_t i = 0; i < n; i++)
			violation_lines(c, &v[i]);
		if (n == 0)
			cr_cli_out(c, "no violations\n");
		cr_cli_next_line(c, next);
	}
	cr_facade_violations_free(v, n);
	return rc;
}

void cr_cli_report_lines(const cr_cli *c, const cr_report *r)
{
	char digest[32];

	cr_cli_out(c, "%s %s: candidate %s, manifest %s, run %s\n", r->report_id, cr_final_name(r->final_status),
		   r->candidate_id, r->manifest_id, r->run_id);
	for (size_t i = 0; i < CR_STAGE__COUNT; i++)
		stage_line(c, &r->stages[i]);
	cr_cli_out(c, "violations: %" PRIu64 " (%" PRIu64 " blocker, %" PRIu64 " warning)\n", r->total,
		   r->blocker, r->warning);
	cr_cli_out(c, "generated %s, digest %s\n", r->generated_at,
		   cr_cli_abbrev(r->report_digest, 8, digest, sizeof(digest)));
}

static int cmd_report(cr_cli *c)
{
	cr_report r = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_compliance_report(c->f, cr_cli_str(c, "run-id"), &r)) < 0)
		goto cleanup;
	if (c->json && (rc = cr_cli_print_json(cr_report_to_json(&r))) < 0)
		goto cleanup;
	if (!c->json)
		cr_cli_report_lines(c, &r);
	rc = cr_cli_verdict_exit(r.final_status);
cleanup:
	cr_report_clear(&r);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{"run", cmd_run, run_opts, "check a manifest against the trusted policy",
	 "Waits for the run (stage progress on stderr when it is a terminal) and exits by\n"
	 "its final status: 0 PASSED, 1 BLOCKED, 6 ERROR. --detach queues it and exits 0.", 0},
	{"status", cmd_status, run_id_opts, "show a run's status, progress and stages", NULL, CR_CLI_READS},
	{"stages", cmd_stages, run_id_opts, "show a run's completed stages", NULL, CR_CLI_READS},
	{"violations", cmd_violations, violations_opts, "list a run's violations (secrets masked)",
	 NULL, CR_CLI_READS},
	{"report", cmd_report, run_id_opts, "show the report of a finished run",
	 "Exits by the final status like 'compliance run'; 4 while the run is unfinished.", CR_CLI_READS},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_compliance = {"compliance", commands};
