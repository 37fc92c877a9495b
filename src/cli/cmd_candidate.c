/* clean-release candidate register | import-artifacts | show | list */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "facade/dto.h"
#include "util/error.h"

static const struct cr_cli_option register_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_REQUIRED, "ID",
		      "new id: 1-128 of A-Za-z0-9._-"),
	CR_OPT_STRING("version", CR_CLI_REQUIRED, "V", "the version it builds, e.g. 1.2.0"),
	CR_OPT_STRING("source-snapshot", CR_CLI_REQUIRED, "REV",
		      "tag, branch or commit; resolved now"),
	CR_OPT_ACTOR,
	CR_OPT_END,
};

static const struct cr_cli_option import_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_REQUIRED, "ID", "the candidate"),
	CR_OPT_STRING("input", CR_CLI_REQUIRED, "FILE",
		      "artifacts document, at most " CR_CLI_INPUT_MAX_TEXT),
	CR_OPT_STRING("artifact-root", CR_CLI_OPTIONAL, "DIR",
		      "where the files are (default: the document's root)"),
	CR_OPT_ACTOR,
	CR_OPT_END,
};

static const struct cr_cli_option show_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_REQUIRED, "ID", "the candidate"),
	CR_OPT_END,
};

static const struct cr_cli_option list_opts[] = {
	CR_OPT_STRING("status", CR_CLI_OPTIONAL, "STATUS", "only candidates in STATUS (DRAFT, PREPARED, ...)"),
	CR_OPT_LIMIT,
	CR_OPT_CURSOR,
	CR_OPT_END,
};

static int cmd_register(cr_cli *c)
{
	cr_candidate_view v = {0};
	char oid[32];
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	rc = cr_facade_candidate_register(c->f, cr_cli_str(c, "candidate-id"), cr_cli_str(c, "version"),
					  cr_cli_str(c, "source-snapshot"), c->actor, &v);
	if (rc < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(cr_candidate_view_to_json(&v));
	else
		cr_cli_out(c, "registered %s (%s) at %s — %s\n", v.c.candidate_id, v.c.version,
			   cr_cli_abbrev(v.c.source_commit, 7, oid, sizeof(oid)), cr_status_name(v.status));
cleanup:
	cr_candidate_view_clear(&v);
	return rc;
}

static int cmd_import(cr_cli *c)
{
	const char *input = cr_cli_str(c, "input"), *root = cr_cli_str(c, "artifact-root");
	char *buf = NULL, *base = NULL, *root_abs = NULL;
	cr_import imp = {0};
	size_t len = 0;
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_cli_read_input(input, input, &buf, &len)) < 0)
		goto cleanup;
	if ((rc = cr_cli_file_dir(input, &base)) < 0)
		goto cleanup;
	if (root && (rc = cr_cli_absolute(root, &root_abs)) < 0)
		goto cleanup;
	rc = cr_facade_candidate_import(c->f, cr_cli_str(c, "candidate-id"), buf, len, input, base, root_abs,
					c->actor, &imp);
	if (rc < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(cr_import_to_json(&imp));
	else
		cr_cli_out(c, "%s: %zu artifact%s, %" PRIu64 " bytes — %s\n", imp.import_id, imp.artifact_count,
			   imp.artifact_count == 1 ? "" : "s", imp.total_size, cr_status_name(CR_STATUS_PREPARED));
cleanup:
	cr_import_clear(&imp);
	free(buf);
	free(base);
	free(root_abs);
	return rc;
}

static void print_view(const cr_cli *c, const cr_candidate_view *v)
{
	char oid[32], who[300];
	const struct {
		const char *key, *value;
	} rows[] = {
		{"candidate", v->c.candidate_id},
		{"version", v->c.version},
		{"status", cr_status_name(v->status)},
		{"source", v->c.source_snapshot},
		{"commit", cr_cli_abbrev(v->c.source_commit, 12, oid, sizeof(oid))},
		{"created", v->c.created_at},
		{"by", cr_cli_clean(v->c.created_by, who, sizeof(who))},
		{"import", v->latest_import_id},
		{"manifest", v->latest_manifest_id},
		{"run", v->latest_run_id},
		{"report", v->latest_report_id},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_cli_out(c, "%-10s %s\n", rows[i].key, cr_cli_or_dash(rows[i].value));
}

static int cmd_show(cr_cli *c)
{
	cr_candidate_view v = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_candidate_show(c->f, cr_cli_str(c, "candidate-id"), &v)) < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(cr_candidate_view_to_json(&v));
	else
		print_view(c, &v);
cleanup:
	cr_candidate_view_clear(&v);
	return rc;
}

enum { LIST_COLS = 7 };

static int list_text(const cr_cli *c, const cr_candidate_view *v, size_t n)
{
	const char **cells = calloc((n + 1) * LIST_COLS, sizeof(*cells));
	static const char *const header[LIST_COLS] = {"CANDIDATE", "VERSION", "STATUS", "IMPORT",
						       "MANIFEST", "RUN", "REPORT"};

	if (!cells)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	memcpy(cells, header, sizeof(header));
	for (size_t i = 0; i < n; i++) {
		const char **row = cells + (i + 1) * LIST_COLS;
		row[0] = v[i].c.candidate_id;
		row[1] = v[i].c.version;
		row[2] = cr_status_name(v[i].status);
		row[3] = v[i].latest_import_id;
		row[4] = v[i].latest_manifest_id;
		row[5] = v[i].latest_run_id;
		row[6] = v[i].latest_report_id;
	}
	if (n == 0)
		cr_cli_out(c, "no candidates\n");
	else
		cr_cli_table(c, LIST_COLS, n + 1, cells);
	free(cells);
	return 0;
}

static int cmd_list(cr_cli *c)
{
	const char *name = cr_cli_str(c, "status");
	cr_status status = CR_STATUS_NONE;
	cr_candidate_view *v = NULL;
	cr_page_req page;
	char next[CR_CURSOR_MAX];
	size_t n = 0;
	int rc;

	cr_cli_page(c, &page);
	if (name && cr_status_parse(name, &status) < 0) {
		char choices[256] = "";
		size_t used = 0;
		for (int s = CR_STATUS_DRAFT; s < CR_STATUS__COUNT; s++) {
			int k = snprintf(choices + used, sizeof(choices) - used, "%s%s", used ? ", " : "",
					 cr_status_name((cr_status)s));
			if (k < 0 || (size_t)k >= sizeof(choices) - used)
				break;
			used += (size_t)k;
		}
		return cr_cli_bad_choice("status", name, choices);
	}
	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_candidate_list(c->f, status, &page, &v, &n, next)) < 0)
		return rc;
	if (c->json) {
		rc = cr_cli_print_json(cr_candidate_list_to_json(v, n, next));
	} else {
		rc = list_text(c, v, n);
		cr_cli_next_line(c, next);
	}
	cr_facade_candidates_free(v, n);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{"register", cmd_register, register_opts, "register a candidate from a source snapshot",
	 "Records the candidate, status DRAFT, with the commit REV resolves to now.", 0},
	{"import-artifacts", cmd_import, import_opts, "import the artifacts that would ship",
	 "Reads FILE (artifacts.schema.json), hashes every artifact beneath the artifact\n"
	 "root and records the import: status PREPARED. A relative artifact_root is taken\n"
	 "from FILE's directory, --artifact-root DIR from the current one. No path may\n"
	 "leave the root.", 0},
	{"show", cmd_show, show_opts, "show a candidate, its status and latest ids", NULL, CR_CLI_READS},
	{"list", cmd_list, list_opts, "list candidates, newest first", NULL, CR_CLI_READS},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_candidate = {"candidate", commands};
