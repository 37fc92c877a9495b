#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/codec_fields.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"

/*
 * One pair of functions per stored object. The field names are those of
 * the schemas/ files (additionalProperties:false), so *_to_json emits exactly the
 * schema's keys and *_from_json reads them back: to_json(from_json(x)) is x.
 * from_json trusts the schema for patterns but still checks every type and
 * every length that must fit a fixed buffer, and clears its struct on failure.
 */

/* ---- candidate ------------------------------------------------------ */

static bool put_candidate_fields(cJSON *o, const cr_candidate *c)
{
	bool ok = true;
	ok &= put_str(o, "candidate_id", c->candidate_id);
	ok &= put_str(o, "version", c->version);
	ok &= put_str(o, "source_snapshot", c->source_snapshot);
	ok &= put_str(o, "source_commit", c->source_commit);
	ok &= put_str(o, "created_by", c->created_by);
	ok &= put_str(o, "created_at", c->created_at);
	return ok;
}

cJSON *cr_candidate_to_json(const cr_candidate *c)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && put_candidate_fields(o, c);

	return done(o, ok, "candidate");
}

int cr_candidate_from_json(const cJSON *j, cr_candidate *c)
{
	static const char what[] = "candidate";
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "candidate_id", true, false, c->candidate_id, sizeof(c->candidate_id)));
	TRY(get_fixed(j, what, "version", true, false, c->version, sizeof(c->version)));
	TRY(get_fixed(j, what, "source_snapshot", true, false, c->source_snapshot, sizeof(c->source_snapshot)));
	TRY(get_fixed(j, what, "source_commit", true, false, c->source_commit, sizeof(c->source_commit)));
	TRY(get_dup(j, what, "created_by", true, false, &c->created_by));
	TRY(get_fixed(j, what, "created_at", true, false, c->created_at, sizeof(c->created_at)));
	return 0;
cleanup:
	cr_candidate_clear(c);
	return rc;
}

/* ---- artifacts, import, manifest ------------------------------------ */

cJSON *cr_artifact_to_json(const cr_artifact *a)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "path", a->path);
		ok &= put_str(o, "sha256", a->sha256);
		ok &= put_u64(o, "size", a->size);
		if (a->source)
			ok &= put_str(o, "source", a->source);
		if (a->kind)
			ok &= put_str(o, "kind", a->kind);
		if (a->media_type)
			ok &= put_str(o, "media_type", a->media_type);
	}
	return done(o, ok, "artifact");
}

int cr_artifact_from_json(const cJSON *j, cr_artifact *a)
{
	static const char what[] = "artifact";
	int rc;

	TRY(need_object(j, what));
	TRY(get_dup(j, what, "path", true, false, &a->path));
	TRY(get_fixed(j, what, "sha256", true, false, a->sha256, sizeof(a->sha256)));
	TRY(get_u64(j, what, "size", &a->size));
	TRY(get_dup(j, what, "source", false, false, &a->source));
	TRY(get_dup(j, what, "kind", false, false, &a->kind));
	TRY(get_dup(j, what, "media_type", false, false, &a->media_type));
	return 0;
cleanup:
	cr_artifact_clear(a);
	return rc;
}

cJSON *cr_artifacts_to_json(const cr_artifact *a, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	bool ok = arr != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		ok = put_elem(arr, cr_artifact_to_json(&a[i]));
	}
	return done(arr, ok, "artifacts");
}

/* One artifact of the array, keys in bytewise order: kind, media_type,
 * path, sha256, size, source. */
static void artifact_canonical(cr_sbuf *b, const cr_artifact *a)
{
	bool first = true;

	SB_LIT(b, "{");
	if (a->kind) {
		SB_LIT(b, "\"kind\":");
		cr_sb_json_str(b, a->kind);
		first = false;
	}
	if (a->media_type) {
		if (!first)
			SB_LIT(b, ",");
		SB_LIT(b, "\"media_type\":");
		cr_sb_json_str(b, a->media_type);
		first = false;
	}
	if (!first)
		SB_LIT(b, ",");
	SB_LIT(b, "\"path\":");
	cr_sb_json_str(b, a->path);
	SB_LIT(b, ",\"sha256\":");
	cr_sb_json_str(b, a->sha256);
	SB_LIT(b, ",\"size\":");
	sb_u64(b, a->size);
	if (a->source) {
		SB_LIT(b, ",\"source\":");
		cr_sb_json_str(b, a->source);
	}
	SB_LIT(b, "}");
}

void cr_artifacts_canonical(cr_sbuf *b, const cr_artifact *a, size_t n)
{
	cr_sb_reserve(b, n * 192 + 2);
	SB_LIT(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			SB_LIT(b, ",");
		artifact_canonical(b, &a[i]);
	}
	SB_LIT(b, "]");
}

/* Hashed as it is written, 64 KiB at a time: the 2.7 MB of a big manifest
 * never sit in memory at once. */
int cr_artifacts_digest(const cr_artifact *a, size_t n, char out[CR_SHA_MAX])
{
	enum { FEED = 64 * 1024 };
	cr_sha256 *h = cr_sha256_new();
	cr_sbuf b = {0};

	out[0] = '\0';
	if (!h)
		return cr_error_set(CR_EINTERNAL, "out of memory hashing the artifact list");
	cr_sb_reserve(&b, FEED + 8192);
	SB_LIT(&b, "[");
	for (size_t i = 0; i < n && !b.oom; i++) {
		if (i)
			SB_LIT(&b, ",");
		artifact_canonical(&b, &a[i]);
		if (b.len >= FEED) {
			cr_sha256_update(h, b.p, b.len);
			b.len = 0;
		}
	}
	SB_LIT(&b, "]");
	if (b.oom) {
		cr_sha256_free(h);
		cr_sb_free(&b);
		return cr_error_set(CR_EINTERNAL, "out of memory serializing the artifact list");
	}
	cr_sha256_update(h, b.p, b.len);
	cr_sha256_final_hex(h, out);
	cr_sha256_free(h);
	cr_sb_free(&b);
	return 0;
}

/* The "artifacts" array of an import or manifest into a new array. */
static int artifacts_from_json(const cJSON *j, const char *what, cr_artifact **out, size_t *count)
{
	const cJSON *arr, *item;
	cr_artifact *a = NULL;
	size_t n, i = 0;
	int rc;

	*out = NULL;
	*count = 0;
	TRY(get_array(j, what, "artifacts", &arr));
	n = (size_t)cJSON_GetArraySize(arr);
	if (n > 0) {
		a = calloc(n, sizeof(*a));
		if (!a)
			return cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
	}
	cJSON_ArrayForEach(item, arr) {
		rc = cr_artifact_from_json(item, &a[i]);
		if (rc < 0) {
			cr_error_set(rc, "%s: artifacts[%zu]: %s", what, i, cr_error_last()->message);
			goto cleanup;
		}
		i++;
	}
	*out = a;
	*count = i;
	return 0;
cleanup:
	for (size_t k = 0; k < i; k++)
		cr_artifact_clear(&a[k]);
	free(a);
	return rc;
}

cJSON *cr_import_to_json(const cr_import *im)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "import_id", im->import_id);
		ok &= put_str(o, "candidate_id", im->candidate_id);
		ok &= put_str(o, "imported_by", im->imported_by);
		ok &= put_str(o, "imported_at", im->imported_at);
		ok &= put_str(o, "artifact_root", im->artifact_root);
		ok &= put_item(o, "artifacts", cr_artifacts_to_json(im->artifacts, im->artifact_count));
		ok &= put_u64(o, "artifact_count", im->artifact_count);
		ok &= put_u64(o, "total_size", im->total_size);
	}
	return done(o, ok, "import");
}

/* artifact_count is stored, but it is the length of the array: a stored
 * count that disagrees is a corrupt object, not something to carry. */
static int check_count(const cJSON *j, const char *what, size_t n)
{
	uint64_t count = 0;
	int rc = get_u64(j, what, "artifact_count", &count);

	if (rc < 0)
		return rc;
	if (count != n)
		return bad(what, "artifact_count", "differs from the number of artifacts");
	return 0;
}

int cr_import_from_json(const cJSON *j, cr_import *im)
{
	static const char what[] = "import";
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "import_id", true, false, im->import_id, sizeof(im->import_id)));
	TRY(get_fixed(j, what, "candidate_id", true, false, im->candidate_id, sizeof(im->candidate_id)));
	TRY(get_dup(j, what, "imported_by", true, false, &im->imported_by));
	TRY(get_fixed(j, what, "imported_at", true, false, im->imported_at, sizeof(im->imported_at)));
	TRY(get_dup(j, what, "artifact_root", true, false, &im->artifact_root));
	TRY(artifacts_from_json(j, what, &im->artifacts, &im->artifact_count));
	TRY(check_count(j, what, im->artifact_count));
	TRY(get_u64(j, what, "total_size", &im->total_size));
	return 0;
cleanup:
	cr_import_clear(im);
	return rc;
}

static bool put_manifest_head(cJSON *o, const cr_manifest *m)
{
	bool ok = true;
	ok &= put_str(o, "manifest_id", m->manifest_id);
	ok &= put_str(o, "candidate_id", m->candidate_id);
	ok &= put_i64(o, "version", m->version);
	ok &= put_str(o, "import_id", m->import_id);
	ok &= put_str(o, "source_commit", m->source_commit);
	ok &= put_str(o, "created_by", m->created_by);
	ok &= put_str(o, "created_at", m->created_at);
	ok &= put_u64(o, "artifact_count", m->artifact_count);
	ok &= put_u64(o, "total_size", m->total_size);
	ok &= put_str(o, "manifest_digest", m->manifest_digest);
	return ok;
}

/* artifact_root is the engine's, from the import: not part of the stored
 * manifest (additionalProperties:false). */
cJSON *cr_manifest_to_json(const cr_manifest *m)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && put_manifest_head(o, m);

	if (o)
		ok &= put_item(o, "artifacts", cr_artifacts_to_json(m->artifacts, m->artifact_count));
	return done(o, ok, "manifest");
}

cJSON *cr_manifest_head_to_json(const cr_manifest *m)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && put_manifest_head(o, m);

	return done(o, ok, "manifest summary");
}

int cr_manifest_from_json(const cJSON *j, cr_manifest *m)
{
	static const char what[] = "manifest";
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "manifest_id", true, false, m->manifest_id, sizeof(m->manifest_id)));
	TRY(get_fixed(j, what, "candidate_id", true, false, m->candidate_id, sizeof(m->candidate_id)));
	TRY(get_int(j, what, "version", true, 1, MAX_SAFE_INT, &m->version, NULL));
	TRY(get_fixed(j, what, "import_id", true, false, m->import_id, sizeof(m->import_id)));
	TRY(get_fixed(j, what, "source_commit", true, false, m->source_commit, sizeof(m->source_commit)));
	TRY(get_dup(j, what, "created_by", true, false, &m->created_by));
	TRY(get_fixed(j, what, "created_at", true, false, m->created_at, sizeof(m->created_at)));
	TRY(artifacts_from_json(j, what, &m->artifacts, &m->artifact_count));
	TRY(check_count(j, what, m->artifact_count));
	TRY(get_u64(j, what, "total_size", &m->total_size));
	TRY(get_fixed(j, what, "manifest_digest", true, false, m->manifest_digest, sizeof(m->manifest_digest)));
	return 0;
cleanup:
	cr_manifest_clear(m);
	return rc;
}
