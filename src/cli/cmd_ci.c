/* clean-release ci: what a CI job runs on a tag push (docs/ci.md). For a
 * candidate tag: register, import, build the manifest, run the check, push
 * the evidence, resuming whatever a previous attempt did. For a release
 * tag (the policy's release_tag_pattern), with --publish: publish the
 * approved candidate of the tag's commit. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "domain/ids.h"
#include "facade/dto.h"
#include "facade/sarif.h"
#include "util/error.h"
#include <version.h> /* generated in the build dir: build/gen/version.h */
#ifndef CR_VERSION
#define CR_VERSION "unknown"
#endif

static const struct cr_cli_option ci_opts[] = {
	CR_OPT_STRING("tag", CR_CLI_REQUIRED, "REF", "the pushed tag: refs/tags/v1.2.0-rc1 or v1.2.0-rc1"),
	CR_OPT_STRING("input", CR_CLI_OPTIONAL, "FILE", "the artifacts document (a candidate tag)"),
	CR_OPT_STRING("candidate-id", CR_CLI_OPTIONAL, "ID", "default: the tag's name"),
	CR_OPT_STRING("version", CR_CLI_OPTIONAL, "V", "default: the tag's name without a leading v"),
	CR_OPT_STRING("sarif", CR_CLI_OPTIONAL, "FILE", "also write the run's violations as SARIF 2.1.0"),
	CR_OPT_STRING("artifact-root", CR_CLI_OPTIONAL, "DIR", "read the artifacts beneath DIR"),
	CR_OPT_STRING("remote", CR_CLI_OPTIONAL, "NAME", "fetch and push the evidence there (default: origin)"),
	CR_OPT_FLAG("no-push", "neither fetch nor push the evidence"),
	CR_OPT_FLAG("publish", "a release tag: publish its approved candidate (a candidate tag is checked as ever)"),
	CR_OPT_STRING("channel", CR_CLI_OPTIONAL, "C", "the channel to publish on (with --publish)"),
	CR_OPT_INT("jobs", CR_CLI_OPTIONAL, "N", 1, 1024, "worker processes of the run (default: online CPUs)"),
	CR_OPT_ACTOR,
	CR_OPT_END,
};

struct ci {
	cr_cli *c;
	const char *remote;
	char ref[300], name[256], commit[CR_OID_MAX];
	cr_candidate_view view;
	cr_report report;
	bool have_report, pushed;
	cr_publication pub;
	bool have_pub;
	cr_sarif_stats sarif;
};

static void say(const struct ci *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct ci *x, const char *fmt, ...)
{
	va_list ap;
	if (x->c->quiet || x->c->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* refs/tags/NAME and NAME from TAG (REF or NAME), checked before anything is opened. */
static int tag_names(struct ci *x, const char *tag)
{
	const char *name = !strncmp(tag, "refs/tags/", 10) ? tag + 10 : tag;
	const char *why;

	if (!strncmp(tag, "refs/", 5) && strncmp(tag, "refs/tags/", 10))
		return cr_error_set(CR_EINVALID_ARGUMENT, "--tag wants a tag (refs/tags/NAME or NAME), not %.200s", tag);
	if ((why = cr_tag_invalid(name)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid tag \"%.140s\": %s", name, why);
	snprintf(x->name, sizeof(x->name), "%s", name);
	snprintf(x->ref, sizeof(x->ref), "refs/tags/%s", name);
	return 0;
}

/* The commit the tag names. */
static int tag_commit(struct ci *x)
{
	if (cr_facade_resolve(x->c->f, x->ref, x->commit, sizeof(x->commit)) < 0) {
		cr_error_set(CR_EINVALID_ARGUMENT, "tag %s does not exist in this repository", x->ref);
		return cr_error_hint("fetch it first: git fetch origin tag %s", x->name);
	}
	return 0;
}

static int reload(struct ci *x, const char *cid)
{
	cr_candidate_clear(&x->view.c);
	memset(&x->view, 0, sizeof(x->view));
	return cr_facade_candidate_show(x->c->f, cid, &x->view);
}

static int do_import(struct ci *x, const char *cid)
{
	cr_cli *c = x->c;
	const char *input = cr_cli_str(c, "input"), *root = cr_cli_str(c, "artifact-root");
	char *buf = NULL, *base = NULL, *root_abs = NULL;
	cr_import imp = {0};
	size_t len = 0;
	int rc;

	if (!input)
		return cr_cli_usage_error(c, "candidate %s has no import yet: --input FILE is needed", cid);
	if ((rc = cr_cli_read_input(input, input, &buf, &len)) == 0 && (rc = cr_cli_file_dir(input, &base)) == 0 &&
	    (!root || (rc = cr_cli_absolute(root, &root_abs)) == 0) &&
	    (rc = cr_facade_candidate_import(c->f, cid, buf, len, input, base, root_abs, c->actor, &imp)) == 0)
		say(x, "imported %s: %zu artifact%s, %" PRIu64 " bytes\n", imp.import_id, imp.artifact_count,
		    imp.artifact_count == 1 ? "" : "s", imp.total_size);
	cr_import_clear(&imp);
	free(buf);
	free(base);
	free(root_abs);
	return rc;
}

/* The candidate of the tag, brought as far as a verdict, doing only what
 * an earlier attempt left undone. */
static int candidate_tag(struct ci *x)
{
	cr_cli *c = x->c;
	const char *cid = cr_cli_str(c, "candidate-id"), *version = cr_cli_str(c, "version");
	char vbuf[256];
	int rc;

	if (!cid)
		cid = x->name;
	if (!version) {
		snprintf(vbuf, sizeof(vbuf), "%s", x->name[0] == 'v' && x->name[1] ? x->name + 1 : x->name);
		version = vbuf;
	}
	rc = reload(x, cid);
	if (rc == CR_ENOT_FOUND) {
		cr_error_clear();
		if ((rc = cr_facade_candidate_register(c->f, cid, version, x->ref, c->actor, &x->view)) < 0)
			return rc;
		say(x, "registered %s (%s) at %.12s\n", cid, version, x->commit);
	} else if (rc < 0) {
		return rc;
	} else {
		if (strcmp(x->view.c.source_commit, x->commit)) {
			cr_error_set(CR_ECONFLICT, "candidate %s is registered at %.12s, but %s points at %.12s", cid,
				     x->view.c.source_commit, x->ref, x->commit);
			return cr_error_hint("a moved tag is a new candidate: name it with --candidate-id ID");
		}
		say(x, "resuming %s: %s\n", cid, cr_status_name(x->view.status));
	}
	for (int step = 0; step < 8; step++) {
		switch (x->view.status) {
		case CR_STATUS_DRAFT:
			if ((rc = do_import(x, cid)) < 0)
				return rc;
			break;
		case CR_STATUS_PREPARED: {
			cr_manifest m = {0};
			if ((rc = cr_facade_manifest_build(c->f, cid, c->actor, &m)) < 0)
				return rc;
			say(x, "built %s: %zu artifacts, digest %.12s\n", m.manifest_id, m.artifact_count, m.manifest_digest);
			cr_manifest_clear(&m);
			break;
		}
		case CR_STATUS_MANIFEST_BUILT:
		case CR_STATUS_CHECK_ERROR: {
			/* ERROR is no verdict on the artifacts (a stage could not be
			 * evaluated, a runner died): a retried job runs it again. */
			cr_run run = {0};
			if (x->view.status == CR_STATUS_CHECK_ERROR && step > 0) {
				rc = 0;
				goto verdict;
			}
			rc = cr_facade_compliance_run(c->f, cid, x->view.latest_manifest_id, c->actor,
						      (unsigned)cr_cli_int(c, "jobs", 0), false, NULL, NULL, &run);
			if (rc == 0)
				say(x, "ran %s on %s: %s, report %s\n", run.run_id, run.manifest_id,
				    cr_final_name(run.final_status) ? cr_final_name(run.final_status) : "-", run.report_id);
			cr_run_clear(&run);
			if (rc < 0)
				return rc;
			break;
		}
		case CR_STATUS_CHECK_PENDING:
		case CR_STATUS_CHECK_RUNNING:
			cr_error_set(CR_ECONFLICT, "candidate %s has run %s %s (started by another job)", cid,
				     x->view.latest_run_id, cr_status_name(x->view.status));
			return cr_error_hint("wait for it to finish, then run the job again");
		default:
			goto verdict;
		}
		if ((rc = reload(x, cid)) < 0)
			return rc;
	}
verdict:
	if (!x->view.latest_run_id[0])
		return cr_error_set(CR_EINTERNAL, "candidate %s reached %s without a run", cid, cr_status_name(x->view.status));
	if ((rc = cr_facade_compliance_report(c->f, x->view.latest_run_id, &x->report)) < 0)
		return rc;
	x->have_report = true;
	return 0;
}

/* The release tag: publish the approved candidate of its commit. */
static int release_tag(struct ci *x)
{
	cr_cli *c = x->c;
	const char *channel = cr_cli_str(c, "channel");
	cr_candidate_view *all = NULL;
	size_t n = 0;
	char others[512] = "";
	size_t len = 0;
	int rc, pick = -1;

	if (!channel)
		return cr_cli_usage_error(c, "--publish needs --channel C");
	if ((rc = cr_facade_candidate_list(c->f, CR_STATUS_NONE, NULL, &all, &n, NULL)) < 0)
		return rc;
	/* Newest first: the newest APPROVED (or, for a job run again, the
	 * PUBLISHED) candidate of the tag's commit. */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i].c.source_commit, x->commit))
			continue;
		if (pick < 0 && (all[i].status == CR_STATUS_APPROVED || all[i].status == CR_STATUS_PUBLISHED))
			pick = (int)i;
		else if (len < sizeof(others) - 1)
			len += (size_t)snprintf(others + len, sizeof(others) - len, "%s%s is %s", len ? ", " : "",
						all[i].c.candidate_id, cr_status_name(all[i].status));
	}
	if (pick < 0) {
		cr_error_set(CR_EGATE_REFUSED, "%s points at %.12s, the source commit of no APPROVED candidate%s%s%s", x->ref,
			     x->commit, len ? " (" : "", others, len ? ")" : "");
		rc = cr_error_hint("approve the candidate of that commit first: git clean-release release approve "
				   "--candidate-id ID --report-id RPT");
		goto cleanup;
	}
	const cr_candidate_view *v = &all[pick];
	if (v->status == CR_STATUS_PUBLISHED) {
		say(x, "%s is PUBLISHED already (%s)\n", v->c.candidate_id, v->latest_publication_id);
	} else {
		rc = cr_facade_release_publish(c->f, v->c.candidate_id, v->approved_report_id, channel, x->name, c->actor,
					       &x->pub);
		if (rc < 0)
			goto cleanup;
		x->have_pub = true;
		say(x, "published %s to %s as %s (%s)\n", v->c.candidate_id, channel, x->name, x->pub.publication_id);
	}
	rc = reload(x, v->c.candidate_id);
cleanup:
	cr_facade_candidates_free(all, n);
	return rc;
}

static int write_sarif(struct ci *x, const char *path)
{
	char tmp[4200];
	FILE *f;
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return cr_error_set(CR_ESTORAGE, "cannot write %s: %s", tmp, strerror(errno));
	rc = cr_sarif_write(x->c->f, x->report.run_id, CR_VERSION, 0, f, &x->sarif);
	if (fclose(f) != 0 && rc == 0)
		rc = cr_error_set(CR_ESTORAGE, "cannot write %s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) < 0)
		rc = cr_error_set(CR_ESTORAGE, "cannot write %s: %s", path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	else
		say(x, "wrote %s: %zu results%s\n", path, x->sarif.written, x->sarif.left_out ? " (the most severe)" : "");
	if (rc == 0 && x->sarif.left_out)
		say(x, "  %zu less severe results left out (code scanning takes %d a run)\n", x->sarif.left_out,
		    CR_SARIF_MAX_RESULTS);
	return rc;
}

static int print_json(const struct ci *x, const char *sarif)
{
	cJSON *doc = cJSON_CreateObject(), *s = NULL;
	bool ok = doc && cJSON_AddStringToObject(doc, "tag", x->ref) && cJSON_AddStringToObject(doc, "commit", x->commit);
	ok = ok && cJSON_AddItemToObject(doc, "candidate", cr_candidate_view_to_json(&x->view));
	ok = ok && cJSON_AddItemToObject(doc, "report", x->have_report ? cr_report_to_json(&x->report) : cJSON_CreateNull());
	ok = ok && cJSON_AddItemToObject(doc, "publication", x->have_pub ? cr_publication_to_json(&x->pub) : cJSON_CreateNull());
	ok = ok && cJSON_AddBoolToObject(doc, "pushed", x->pushed);
	if (ok && sarif) {
		ok = (s = cJSON_CreateObject()) && cJSON_AddStringToObject(s, "path", sarif) &&
		     cJSON_AddNumberToObject(s, "results", (double)x->sarif.written) &&
		     cJSON_AddNumberToObject(s, "left_out", (double)x->sarif.left_out) && cJSON_AddItemToObject(doc, "sarif", s);
		if (!ok)
			cJSON_Delete(s);
	} else if (ok) {
		ok = cJSON_AddNullToObject(doc, "sarif") != NULL;
	}
	if (!ok) {
		cJSON_Delete(doc);
		return cr_error_set(CR_EINTERNAL, "out of memory building the ci result");
	}
	return cr_cli_print_json(doc);
}

static int cmd_ci(cr_cli *c)
{
	struct ci x = {.c = c};
	const char *sarif = cr_cli_str(c, "sarif");
	bool push = !cr_cli_flag(c, "no-push"), publish = cr_cli_flag(c, "publish"), release = false;
	char pattern[300];
	int rc;

	if (cr_cli_str(c, "channel") && !publish)
		return cr_cli_usage_error(c, "--channel is for --publish");
	if ((rc = tag_names(&x, cr_cli_str(c, "tag"))) < 0 || (push && (rc = cr_cli_the_remote(c, &x.remote)) < 0))
		return rc;
	if ((rc = cr_cli_begin(c)) < 0 || (rc = tag_commit(&x)) < 0)
		return rc;
	/* What a previous attempt (another runner) pushed: resume it. */
	if (push) {
		cr_adopt_result res[2];
		if ((rc = cr_cli_fetch_adopt(c, x.remote, res)) < 0)
			return rc;
	}
	if ((rc = cr_facade_release_tag(c->f, x.ref, &release, pattern, sizeof(pattern))) < 0)
		return rc;
	if (release && !publish) {
		cr_error_set(CR_EINVALID_ARGUMENT, "%s is a release tag (release_tag_pattern %.200s): nothing to check", x.ref,
			     pattern);
		rc = cr_error_hint("publish its approved candidate: git clean-release ci --tag %s --publish --channel C", x.ref);
		goto cleanup;
	}
	if ((rc = release ? release_tag(&x) : candidate_tag(&x)) < 0)
		goto cleanup;
	if (sarif && !x.have_report && x.view.latest_run_id[0] &&
	    cr_facade_compliance_report(c->f, x.view.latest_run_id, &x.report) == 0)
		x.have_report = true;
	if (sarif && x.have_report && (rc = write_sarif(&x, sarif)) < 0)
		goto cleanup;
	if (!c->json && x.have_report && !release)
		cr_cli_report_lines(c, &x.report);
	if (push) {
		if ((rc = cr_cli_sync_with(c, x.remote)) < 0)
			goto cleanup;
		x.pushed = true;
	}
	if (c->json && (rc = print_json(&x, sarif)) < 0)
		goto cleanup;
	rc = release || !x.have_report ? CR_EXIT_OK : cr_cli_verdict_exit(x.report.final_status);
cleanup:
	cr_candidate_clear(&x.view.c);
	cr_report_clear(&x.report);
	cr_publication_clear(&x.pub);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{NULL, cmd_ci, ci_opts, "what a CI job runs on a tag push",
	 "A candidate tag (one release_tag_pattern does not match, e.g. v1.2.0-rc1):\n"
	 "register (id: the tag's name; version: it without a leading v), import\n"
	 "--input, build the manifest, run the check, push the evidence, print the\n"
	 "ids and the report, and exit like 'compliance run' (0 PASSED, 1 BLOCKED,\n"
	 "6 ERROR). Run again for the same tag, it resumes and does only what is\n"
	 "missing. A release tag with --publish --channel C: publish the approved\n"
	 "candidate of its commit (exit 3 when there is none); with both, one command\n"
	 "serves every tag push. See docs/ci.md.", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_ci = {"ci", commands};
