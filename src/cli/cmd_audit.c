/* clean-release audit log */
#include "cli/cli.h"
#include "facade/dto.h"
#include "util/error.h"

static const struct cr_cli_option log_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_OPTIONAL, "ID", "only this candidate's events"),
	CR_OPT_LIMIT,
	CR_OPT_CURSOR,
	CR_OPT_END,
};

/* "evt-001 2026-03-09T10:00:00Z release-bot candidate.register 2026.03.09-rc1 ACCEPTED" */
static void event_line(const cr_cli *c, const cr_audit_event *e)
{
	char actor[300], msg[600];

	cr_cli_out(c, "%s %s %s %s %s %s%s%s\n", e->event_id, e->at, cr_cli_clean(e->actor, actor, sizeof(actor)),
		   e->type, cr_cli_or_dash(e->candidate_id), e->accepted ? "ACCEPTED" : "REFUSED",
		   e->error_message ? ": " : "", e->error_message ? cr_cli_clean(e->error_message, msg, sizeof(msg)) : "");
}

static int cmd_log(cr_cli *c)
{
	cr_audit_event *e = NULL;
	cr_page_req page;
	char next[CR_CURSOR_MAX];
	size_t n = 0;
	int rc;

	cr_cli_page(c, &page);
	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_audit_log(c->f, cr_cli_str(c, "candidate-id"), &page, &e, &n, next)) < 0)
		return rc;
	if (c->json) {
		rc = cr_cli_print_json(cr_audit_log_to_json(e, n, next));
	} else {
		for (size_t i = 0; i < n; i++)
			event_line(c, &e[i]);
		if (n == 0)
			cr_cli_out(c, "no events\n");
		cr_cli_next_line(c, next);
	}
	cr_facade_audit_free(e, n);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{"log", cmd_log, log_opts, "show the audit log, oldest first",
	 NULL, CR_CLI_READS},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_audit = {"audit", commands};
