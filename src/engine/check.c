/* One artifact through every stage: sources, path rules, then one read of
 * the file for the content rules and the manifest's size and digest. */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include "engine/engine_internal.h"
#include "util/error.h"
#include "util/fs.h"

#define SOURCE_IN_MESSAGE 800 /* bytes of a source quoted in a message */

/* Length of at most MAX bytes of S that does not end inside a character. */
static int utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return (int)n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}

static void check_source(cr_scanner *s)
{
	const cr_registry *reg = s->r->registry;
	const char *src = s->a->source;

	if (!src) {
		cr_scan_emit(s, CR_STAGE_INTERNAL_SOURCES_ONLY, "builtin:source-missing", CR_SEV_BLOCKER,
			     "artifact has no source", NULL, NULL);
		return;
	}
	if (cr_engine_source_allowed(reg, src))
		return;
	cr_text_printf(s->msg, sizeof(s->msg), "source %.*s%s matches no allowed source of registry %s v%" PRId64,
		       utf8_prefix(src, SOURCE_IN_MESSAGE), src, strlen(src) > SOURCE_IN_MESSAGE ? "..." : "",
		       reg->registry_id, reg->version);
	/* The source as the import gave it may carry credentials. */
	size_t pre = strlen("source "), end = pre + (size_t)utf8_prefix(src, SOURCE_IN_MESSAGE);
	if (end > strlen(s->msg))
		end = strlen(s->msg);
	cr_scan_mask_userinfo(s->msg + pre, end - pre);
	cr_scan_mask_secrets(s, s->msg, pre, end);
	cr_scan_emit(s, CR_STAGE_INTERNAL_SOURCES_ONLY, "builtin:source-not-allowed", CR_SEV_BLOCKER, s->msg,
		     NULL, NULL);
}

static void check_path(cr_scanner *s)
{
	const char *path = s->a->path;
	size_t len = strlen(path);

	for (size_t i = 0; i < s->r->npath && !s->stop; i++) {
		const cr_crule *c = &s->r->path[i];
		int rc = cr_scan_match(s, c, (const unsigned char *)path, len, 0);
		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
		if (rc < 0) {
			cr_scan_rule_failed(s, c, rc);
			continue;
		}
		cr_text_printf(s->msg, sizeof(s->msg), "path matches rule %s: %s", c->rule->id,
			       c->rule->description ? c->rule->description : "");
		cr_scan_emit(s, c->rule->stage, c->rule->id, c->rule->severity, s->msg, NULL, NULL);
	}
}

static void artifact_missing(cr_scanner *s)
{
	cr_text_printf(s->msg, sizeof(s->msg), "%s", cr_error_last()->message);
	cr_error_clear();
	s->out->read_ok = false;
	cr_scan_emit(s, CR_STAGE_MANIFEST_CONSISTENCY, "builtin:artifact-missing", CR_SEV_BLOCKER, s->msg, NULL,
		     NULL);
}

int cr_engine_check(cr_scanner *s, int root_fd, const cr_artifact *a, cr_finding_fn fn, void *ctx,
		    cr_outcome *out)
{
	const cr_rules *r = s->r;
	uint64_t size = 0, max = r->policy->limits.max_artifact_bytes;
	bool scan = r->ncontent > 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	s->a = a;
	s->fn = fn;
	s->ctx = ctx;
	s->out = out;
	s->stop = 0;
	if (!a || !a->path)
		return cr_error_set(CR_EINVALID_ARGUMENT, "no artifact");

	check_source(s);
	if (!s->stop)
		check_path(s);
	if (s->stop)
		return s->stop;

	fd = cr_fs_open_beneath_size(root_fd, a->path, &size);
	if (fd < 0) {
		/* Checked and missing: the content stages have nothing to read. */
		artifact_missing(s);
		return s->stop;
	}
	if (scan && max && size > max) {
		scan = false;
		for (int st = 0; st < CR_STAGE__COUNT; st++)
			if (r->has_content_stage[st])
				cr_scan_stage_error(s, (cr_stage)st,
						    "artifact %s is %" PRIu64 " bytes, over max_artifact_bytes %" PRIu64,
						    a->path, size, max);
	}
	rc = cr_scan_file(s, fd, size, scan);
	close(fd);
	if (s->stop)
		return s->stop;
	if (rc == CR_EINVALID_INPUT) {
		artifact_missing(s); /* unreadable */
		return s->stop;
	}
	if (rc < 0)
		return rc;
	out->read_ok = true;
	if (out->size != a->size) {
		cr_text_printf(s->msg, sizeof(s->msg), "size is %" PRIu64 " bytes; the manifest records %" PRIu64,
			       out->size, a->size);
		cr_scan_emit(s, CR_STAGE_MANIFEST_CONSISTENCY, "builtin:size-mismatch", CR_SEV_BLOCKER, s->msg,
			     NULL, NULL);
	}
	if (!s->stop && strcmp(out->sha256, a->sha256) != 0) {
		cr_text_printf(s->msg, sizeof(s->msg), "sha256 is %s; the manifest records %s", out->sha256,
			       a->sha256);
		cr_scan_emit(s, CR_STAGE_MANIFEST_CONSISTENCY, "builtin:sha256-mismatch", CR_SEV_BLOCKER, s->msg,
			     NULL, NULL);
	}
	return s->stop;
}
