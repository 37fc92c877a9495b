/* clean-release manifest build | show */
#include <inttypes.h>
#include "cli/cli.h"
#include "facade/dto.h"

static const struct cr_cli_option build_opts[] = {
	CR_OPT_STRING("candidate-id", CR_CLI_REQUIRED, "ID", "the candidate; its latest import is frozen"),
	CR_OPT_ACTOR,
	CR_OPT_END,
};

static const struct cr_cli_option show_opts[] = {
	CR_OPT_STRING("manifest-id", CR_CLI_REQUIRED, "ID", "the manifest, e.g. man-001"),
	CR_OPT_END,
};

static void print_summary(const cr_cli *c, const cr_manifest *m)
{
	char digest[32];

	cr_cli_out(c, "%s (version %" PRId64 "): %zu artifact%s, digest %s\n", m->manifest_id, m->version,
		   m->artifact_count, m->artifact_count == 1 ? "" : "s",
		   cr_cli_abbrev(m->manifest_digest, 8, digest, sizeof(digest)));
}

static int cmd_build(cr_cli *c)
{
	cr_manifest m = {0};
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_manifest_build(c->f, cr_cli_str(c, "candidate-id"), c->actor, &m)) < 0)
		goto cleanup;
	if (c->json)
		rc = cr_cli_print_json(cr_manifest_to_json(&m));
	else
		print_summary(c, &m);
cleanup:
	cr_manifest_clear(&m);
	return rc;
}

static int cmd_show(cr_cli *c)
{
	cr_manifest m = {0};
	char oid[32], path[4200];
	int rc;

	if ((rc = cr_cli_begin(c)) < 0)
		return rc;
	if ((rc = cr_facade_manifest_show(c->f, cr_cli_str(c, "manifest-id"), &m)) < 0)
		goto cleanup;
	if (c->json) {
		rc = cr_cli_print_json(cr_manifest_to_json(&m));
		goto cleanup;
	}
	print_summary(c, &m);
	cr_cli_out(c, "candidate %s, import %s, commit %s, %" PRIu64 " bytes\n", m.candidate_id,
		   cr_cli_or_dash(m.import_id), cr_cli_abbrev(m.source_commit, 12, oid, sizeof(oid)),
		   m.total_size);
	for (size_t i = 0; i < m.artifact_count; i++) {
		const cr_artifact *a = &m.artifacts[i];
		char sha[32];
		cr_cli_out(c, "  %s %12" PRIu64 "  %s\n", cr_cli_abbrev(a->sha256, 12, sha, sizeof(sha)), a->size,
			   cr_cli_clean(a->path, path, sizeof(path)));
	}
cleanup:
	cr_manifest_clear(&m);
	return rc;
}

static const struct cr_cli_command commands[] = {
	{"build", cmd_build, build_opts, "freeze the latest import into a manifest",
	 "The manifest is immutable: its artifacts are sorted by path and hashed into\n"
	 "manifest_digest. Status becomes MANIFEST_BUILT.", 0},
	{"show", cmd_show, show_opts, "show a manifest and its artifacts", NULL, CR_CLI_READS},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_manifest = {"manifest", commands};
