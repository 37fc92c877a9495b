/* clean-release release approve | reject | publish | revoke */
#include "cli/cli.h"
#include "facade/dto.h"

static const struct cr_cli_option decide_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_REQUIRED, "ID", "the candidate"),
	CR_OPT_STRING("report-id", CR_CLI_REQUIRED, "ID", "the report decided on, e.g. rpt-001"),
	CR_OPT_ACTOR,
	CR_OPT_STRING("comment", CR_CLI_OPTIONAL, "TEXT", "a comment kept with the decision"),
	CR_OPT_END,
};

static const struct cr_cli_option publish_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_REQUIRED, "ID", "the candidate"),
	CR_OPT_STRING("report-id", CR_CLI_REQUIRED, "ID", "the approved report"),
	CR_OPT_STRING("channel", CR_CLI_REQUIRED, "C", "the channel, e.g. prod"),
	CR_OPT_STRING("tag", CR_CLI_OPTIONAL, "NAME", "the release tag: must exist, match the policy and point at the source commit"),
	CR_OPT_ACTOR,
	CR_OPT_END,
};

static const struct cr_cli_option revoke_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_REQUIRED, "ID", "the candidate"),
	CR_OPT_STRING("publication-id", CR_CLI_REQUIRED, "ID", "the publication to revoke, e.g. pub-001"),
	CR_OPT_STRING("reason", CR_CLI_REQUIRED, "TEXT", "why it is revoked"),
	CR_OPT_ACTOR,
	CR_OPT_END,
};

static int decide(cr_cli *c, bool approve)
{
	cr_approval a = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	rc = (approve ? cr_facade_release_approve : cr_facade_release_reject)(
		c->f, cr_cli_str(c, "candidate-id"), cr_cli_str(c, "report-id"), c->actor,
		cr_cli_str(c, "comment"), &a);
	if (rc < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(cr_approval_to_json(&a));
	else
		cr_cli_out(c, "%s: %s %s on %s — %s\n", a.approval_id, a.approved ? "approved" : "rejected",
			   a.candidate_id, a.report_id,
			   cr_status_name(a.approved ? CR_STATUS_APPROVED : CR_STATUS_REJECTED));
cleanup:
	cr_approval_clear(&a);
	return rc;
}

static int cmd_approve(cr_cli *c) { return decide(c, true); }
static int cmd_reject(cr_cli *c) { return decide(c, false); }

static int cmd_publish(cr_cli *c)
{
	cr_publication p = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	rc = cr_facade_release_publish(c->f, cr_cli_str(c, "candidate-id"), cr_cli_str(c, "report-id"),
				       cr_cli_str(c, "channel"), cr_cli_str(c, "tag"), c->actor, &p);
	if (rc < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(cr_publication_to_json(&p));
	else
		cr_cli_out(c, "%s: published %s to %s%s%s — %s\n", p.publication_id, p.candidate_id, p.channel,
			   p.tag[0] ? " as " : "", p.tag, cr_status_name(CR_STATUS_PUBLISHED));
cleanup:
	cr_publication_clear(&p);
	return rc;
}

static int cmd_revoke(cr_cli *c)
{
	cr_publication p = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	rc = cr_facade_release_revoke(c->f, cr_cli_str(c, "candidate-id"), cr_cli_str(c, "publication-id"),
				      cr_cli_str(c, "reason"), c->actor, &p);
	if (rc < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(cr_publication_to_json(&p));
	else
		cr_cli_out(c, "%s: revoked %s from %s — %s\n", p.publication_id, p.candidate_id, p.channel,
			   cr_status_name(CR_STATUS_REVOKED));
cleanup:
	cr_publication_clear(&p);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{"approve", cmd_approve, decide_opts, "approve a candidate whose check passed",
	 "Needs status CHECK_PASSED and the candidate's latest report.", 0},
	{"reject", cmd_reject, decide_opts, "reject a checked or approved candidate", NULL, 0},
	{"publish", cmd_publish, publish_opts, "publish an approved candidate on a channel",
	 "Needs status APPROVED; REPORT_ID must be the approved report.", 0},
	{"revoke", cmd_revoke, revoke_opts, "revoke a publication (a new record)",
	 NULL, 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_release = {"release", commands};
