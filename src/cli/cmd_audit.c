/* clean-release audit log */
#include "cli/cli.h"
#include "facade/dto.h"
#include "util/error.h"

static const struct cr_cli_option log_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_OPTIONAL, "ID", "only this candidate's events"),
	CR_OPT_END,
};

static int log_json(const cr_audit_event *e, size_t n)
{
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "events");

	if (!doc || !arr || !cJSON_AddNullToObject(doc, "next_cursor")) {
		cJSON_Delete(doc);
		return cr_error_set(CR_EINTERNAL, "out of memory building the audit log");
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *item = cr_audit_event_to_json(&e[i]);
		if (!item) {
			cJSON_Delete(doc);
			return cr_error_last()->code;
		}
		cJSON_AddItemToArray(arr, item);
	}
	return cr_cli_print_json(doc);
}

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
	size_t n = 0;
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_audit_log(c->f, cr_cli_str(c, "candidate-id"), &e, &n)) < 0)
		return rc;
	if (c->json) {
		rc = log_json(e, n);
	} else {
		for (size_t i = 0; i < n; i++)
			event_line(c, &e[i]);
		if (n == 0)
			cr_cli_out(c, "no events\n");
	}
	cr_facade_audit_free(e, n);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{"log", cmd_log, log_opts, "show the audit log, oldest first",
	 NULL, 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_audit = {"audit", commands};
