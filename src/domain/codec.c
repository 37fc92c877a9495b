#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
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

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_SAFE_INT 9007199254740991.0 /* 2^53 - 1: the schemas' maximum */

/* ---- building ------------------------------------------------------- */

/* A failed cJSON_Add* returns NULL; building keeps going and the caller
 * checks once, through done(). A NULL enum name fails the same way. */
static bool put_str(cJSON *o, const char *key, const char *v)
{
	return v && cJSON_AddStringToObject(o, key, v) != NULL;
}

static bool put_nullable(cJSON *o, const char *key, const char *v)
{
	return cr_json_add_str(o, key, v) != NULL;
}

/* "" in a fixed id/timestamp field means "none": null. */
static bool put_id_or_null(cJSON *o, const char *key, const char *v)
{
	return cr_json_add_str(o, key, v && *v ? v : NULL) != NULL;
}

static bool put_u64(cJSON *o, const char *key, uint64_t v)
{
	return cr_json_add_int(o, key, (int64_t)v) != NULL;
}

static bool put_i64(cJSON *o, const char *key, int64_t v)
{
	return cr_json_add_int(o, key, v) != NULL;
}

static bool put_item(cJSON *o, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

static cJSON *done(cJSON *o, bool ok, const char *what)
{
	if (o && ok)
		return o;
	cJSON_Delete(o);
	cr_error_set(CR_EINTERNAL, "%s: cannot build JSON (out of memory or a field out of range)", what);
	return NULL;
}

/* ---- reading -------------------------------------------------------- */

static int bad(const char *what, const char *key, const char *problem)
{
	return cr_error_set(CR_EINVALID_INPUT, "%s: field \"%s\" %s", what, key, problem);
}

static int need_object(const cJSON *j, const char *what)
{
	if (!cJSON_IsObject(j))
		return cr_error_set(CR_EINVALID_INPUT, "%s: not a JSON object", what);
	return 0;
}

/* *OUT is NULL for an absent key (an error when REQUIRED) and for null (an
 * error unless NULLABLE). */
static int get_str(const cJSON *j, const char *what, const char *key, bool required,
		   bool nullable, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	*out = NULL;
	if (!v)
		return required ? bad(what, key, "is missing") : 0;
	if (cJSON_IsNull(v)) {
		if (!nullable)
			return bad(what, key, "must not be null");
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return bad(what, key, "is not a string");
	*out = v->valuestring;
	return 0;
}

/* A string into a fixed buffer; absent or null leaves "". */
static int get_fixed(const cJSON *j, const char *what, const char *key, bool required,
		     bool nullable, char *dst, size_t size)
{
	const char *s;
	size_t len;
	int rc = get_str(j, what, key, required, nullable, &s);

	dst[0] = '\0';
	if (rc < 0 || !s)
		return rc;
	len = strlen(s);
	if (len >= size)
		return bad(what, key, "is too long");
	memcpy(dst, s, len + 1);
	return 0;
}

/* A string into a heap copy; absent or null leaves NULL. */
static int get_dup(const cJSON *j, const char *what, const char *key, bool required,
		   bool nullable, char **dst)
{
	const char *s;
	int rc = get_str(j, what, key, required, nullable, &s);

	*dst = NULL;
	if (rc < 0 || !s)
		return rc;
	*dst = strdup(s);
	if (!*dst)
		return cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
	return 0;
}

/* An integer in [MIN, 2^53-1] (JSON numbers are doubles: larger ones are
 * not exact). *PRESENT (may be NULL) says whether the key was there. */
static int get_int(const cJSON *j, const char *what, const char *key, bool required,
		   double min, double max, int64_t *out, bool *present)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	double d;

	if (present)
		*present = v != NULL;
	if (!v)
		return required ? bad(what, key, "is missing") : 0;
	if (!cJSON_IsNumber(v))
		return bad(what, key, "is not a number");
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return bad(what, key, "is not an integer");
	if (d < min || d > max)
		return bad(what, key, "is out of range");
	*out = (int64_t)d;
	return 0;
}

static int get_u64(const cJSON *j, const char *what, const char *key, uint64_t *out)
{
	int64_t v = 0;
	int rc = get_int(j, what, key, true, 0, MAX_SAFE_INT, &v, NULL);

	if (rc == 0)
		*out = (uint64_t)v;
	return rc;
}

static int get_obj(const cJSON *j, const char *what, const char *key, bool required,
		   const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	*out = NULL;
	if (!v)
		return required ? bad(what, key, "is missing") : 0;
	if (!cJSON_IsObject(v))
		return bad(what, key, "is not an object");
	*out = v;
	return 0;
}

static int get_array(const cJSON *j, const char *what, const char *key, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	*out = NULL;
	if (!v)
		return bad(what, key, "is missing");
	if (!cJSON_IsArray(v))
		return bad(what, key, "is not an array");
	*out = v;
	return 0;
}

/* An enum by name through one of the entities' parse functions. */
#define GET_ENUM(j, what, key, parse, out)                                      \
	do {                                                                    \
		const char *s_;                                                 \
		rc = get_str((j), (what), (key), true, false, &s_);             \
		if (rc < 0)                                                     \
			goto cleanup;                                           \
		if (parse(s_, (out)) < 0) {                                     \
			rc = bad((what), (key), "has an unknown value");        \
			goto cleanup;                                           \
		}                                                               \
	} while (0)

#define TRY(expr)                   \
	do {                        \
		rc = (expr);        \
		if (rc < 0)         \
			goto cleanup; \
	} while (0)

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

cJSON *cr_candidate_view_to_json(const cr_candidate_view *v)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && put_candidate_fields(o, &v->c);

	if (o) {
		ok &= put_str(o, "status", cr_status_name(v->status));
		ok &= put_id_or_null(o, "latest_import_id", v->latest_import_id);
		ok &= put_id_or_null(o, "latest_manifest_id", v->latest_manifest_id);
		ok &= put_id_or_null(o, "latest_run_id", v->latest_run_id);
		ok &= put_id_or_null(o, "latest_report_id", v->latest_report_id);
	}
	return done(o, ok, "candidate view");
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
		cJSON *item = cr_artifact_to_json(&a[i]);
		ok = item && cJSON_AddItemToArray(arr, item);
		if (item && !ok)
			cJSON_Delete(item);
	}
	return done(arr, ok, "artifacts");
}

/* An unsigned count as the cJSON path stores it (through int64 and double),
 * so that both writers print the same bytes. */
static void sb_u64(cr_sbuf *b, uint64_t v)
{
	cr_sb_json_num(b, (double)(int64_t)v);
}

static void sb_key(cr_sbuf *b, const char *lead, const char *key)
{
	cr_sb_puts(b, lead);
	cr_sb_json_str(b, key);
	cr_sb_put(b, ":", 1);
}

/* Literal JSON text; keys need no escaping. */
#define SB_LIT(b, lit) cr_sb_put((b), (lit), sizeof(lit) - 1)

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

cJSON *cr_manifest_summary_to_json(const cr_manifest *m)
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

/*
 * The packed manifest: the parsed form of one stored manifest, for a local
 * cache (a run reads it instead of parsing the JSON). Native byte order:
 * the cache never leaves the machine.
 *   "CRMANv1\n", u64 artifact_count, i64 version, u64 total_size,
 *   str manifest_id, candidate_id, import_id, source_commit, created_by,
 *       created_at, manifest_digest,
 *   per artifact: u64 size, str path, sha256, source, kind, media_type,
 *   64 hex of the SHA-256 of all that.
 * str: u32 length (PACK_NULL: absent), then the bytes.
 */
#define PACK_MAGIC "CRMANv1\n"
#define PACK_MAGIC_LEN 8
#define PACK_NULL UINT32_MAX

static void pk_u64(cr_sbuf *b, uint64_t v) { cr_sb_put(b, (const char *)&v, 8); }

static void pk_str(cr_sbuf *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : PACK_NULL;

	cr_sb_put(b, (const char *)&n, 4);
	if (s)
		cr_sb_put(b, s, n);
}

int cr_manifest_pack(const cr_manifest *m, cr_sbuf *b)
{
	char sum[CR_SHA_MAX];

	cr_sb_put(b, PACK_MAGIC, PACK_MAGIC_LEN);
	pk_u64(b, m->artifact_count);
	pk_u64(b, (uint64_t)m->version);
	pk_u64(b, m->total_size);
	pk_str(b, m->manifest_id);
	pk_str(b, m->candidate_id);
	pk_str(b, m->import_id);
	pk_str(b, m->source_commit);
	pk_str(b, m->created_by);
	pk_str(b, m->created_at);
	pk_str(b, m->manifest_digest);
	for (size_t i = 0; i < m->artifact_count; i++) {
		const cr_artifact *a = &m->artifacts[i];
		pk_u64(b, a->size);
		pk_str(b, a->path);
		pk_str(b, a->sha256);
		pk_str(b, a->source);
		pk_str(b, a->kind);
		pk_str(b, a->media_type);
	}
	if (b->oom)
		return cr_error_set(CR_EINTERNAL, "out of memory packing a manifest");
	cr_sha256_hex(b->p, b->len, sum);
	cr_sb_put(b, sum, 64);
	return b->oom ? cr_error_set(CR_EINTERNAL, "out of memory packing a manifest") : 0;
}

typedef struct unpacker {
	const char *p;
	size_t left;
	char *out; /* next free byte of the strings block */
	bool bad;
} unpacker;

static uint64_t up_u64(unpacker *u)
{
	uint64_t v = 0;

	if (u->left < 8) {
		u->bad = true;
		return 0;
	}
	memcpy(&v, u->p, 8);
	u->p += 8;
	u->left -= 8;
	return v;
}

/* The next string, copied NUL-terminated into the strings block; NULL when
 * absent (or bad). */
static char *up_str(unpacker *u)
{
	uint32_t n;
	char *s;

	if (u->bad || u->left < 4) {
		u->bad = true;
		return NULL;
	}
	memcpy(&n, u->p, 4);
	u->p += 4;
	u->left -= 4;
	if (n == PACK_NULL)
		return NULL;
	if (n > u->left || memchr(u->p, '\0', n)) {
		u->bad = true;
		return NULL;
	}
	s = u->out;
	memcpy(s, u->p, n);
	s[n] = '\0';
	u->out += (size_t)n + 1;
	u->p += n;
	u->left -= n;
	return s;
}

/* Copy a string into a fixed field; false if absent or too long. */
static bool up_fixed(unpacker *u, char *dst, size_t len)
{
	const char *s = up_str(u);

	if (!s || strlen(s) >= len) {
		u->bad = true;
		return false;
	}
	memcpy(dst, s, strlen(s) + 1);
	return true;
}

int cr_manifest_unpack(const char *buf, size_t len, cr_manifest *m)
{
	unpacker u;
	char sum[CR_SHA_MAX];
	uint64_t n;
	char *created_by;

	memset(m, 0, sizeof(*m));
	if (len < PACK_MAGIC_LEN + 24 + 64 || memcmp(buf, PACK_MAGIC, PACK_MAGIC_LEN))
		return cr_error_set(CR_EINVALID_INPUT, "not a packed manifest");
	cr_sha256_hex(buf, len - 64, sum);
	if (memcmp(sum, buf + len - 64, 64))
		return cr_error_set(CR_EINVALID_INPUT, "packed manifest: checksum mismatch");
	u.p = buf + PACK_MAGIC_LEN;
	u.left = len - 64 - PACK_MAGIC_LEN;
	u.bad = false;
	n = up_u64(&u);
	/* Every artifact takes at least 8 + 5 * 4 bytes. */
	if (n > u.left / 28 || !(m->strings = malloc(len)) || (n && !(m->artifacts = calloc((size_t)n, sizeof(*m->artifacts))))) {
		free(m->strings);
		m->strings = NULL;
		return cr_error_set(n > u.left / 28 ? CR_EINVALID_INPUT : CR_EINTERNAL, "packed manifest: %s",
				    n > u.left / 28 ? "bad artifact count" : "out of memory");
	}
	u.out = m->strings;
	m->artifact_count = (size_t)n;
	m->version = (int64_t)up_u64(&u);
	m->total_size = up_u64(&u);
	up_fixed(&u, m->manifest_id, sizeof(m->manifest_id));
	up_fixed(&u, m->candidate_id, sizeof(m->candidate_id));
	up_fixed(&u, m->import_id, sizeof(m->import_id));
	up_fixed(&u, m->source_commit, sizeof(m->source_commit));
	created_by = up_str(&u);
	up_fixed(&u, m->created_at, sizeof(m->created_at));
	up_fixed(&u, m->manifest_digest, sizeof(m->manifest_digest));
	if (!u.bad && created_by && !(m->created_by = strdup(created_by)))
		u.bad = true;
	for (size_t i = 0; i < m->artifact_count && !u.bad; i++) {
		cr_artifact *a = &m->artifacts[i];
		a->size = up_u64(&u);
		a->path = up_str(&u);
		if (!up_fixed(&u, a->sha256, sizeof(a->sha256)))
			break;
		a->source = up_str(&u);
		a->kind = up_str(&u);
		a->media_type = up_str(&u);
		if (!a->path)
			u.bad = true;
	}
	if (u.bad || u.left || !m->created_by) {
		cr_manifest_clear(m);
		return cr_error_set(CR_EINVALID_INPUT, "packed manifest: malformed");
	}
	return 0;
}

/* ---- policy / registry snapshots ------------------------------------ */

static const char *const snapshot_keys[2][3] = {
	{"policy_id", "policy_version", "policy_digest"},
	{"registry_id", "registry_version", "registry_digest"},
};

cJSON *cr_snapshot_to_json(const cr_snapshot *s, bool registry)
{
	const char *const *k = snapshot_keys[registry ? 1 : 0];
	cJSON *o = cJSON_CreateObject();
	cJSON *from = cJSON_CreateObject();
	bool ok = o && from;

	if (ok) {
		ok &= put_str(o, k[0], s->id);
		ok &= put_i64(o, k[1], s->version);
		ok &= put_str(o, k[2], s->digest);
		ok &= put_str(from, "ref", s->ref);
		ok &= put_str(from, "commit", s->commit);
		ok &= put_item(o, "resolved_from", from);
	} else {
		cJSON_Delete(from);
	}
	return done(o, ok, registry ? "registry snapshot" : "policy snapshot");
}

int cr_snapshot_from_json(const cJSON *j, bool registry, cr_snapshot *s)
{
	const char *const *k = snapshot_keys[registry ? 1 : 0];
	const char *what = registry ? "registry_snapshot" : "policy_snapshot";
	const cJSON *from;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, k[0], true, false, s->id, sizeof(s->id)));
	TRY(get_int(j, what, k[1], true, 1, MAX_SAFE_INT, &s->version, NULL));
	TRY(get_fixed(j, what, k[2], true, false, s->digest, sizeof(s->digest)));
	TRY(get_obj(j, what, "resolved_from", true, &from));
	TRY(get_fixed(from, what, "ref", true, false, s->ref, sizeof(s->ref)));
	TRY(get_fixed(from, what, "commit", true, false, s->commit, sizeof(s->commit)));
	return 0;
cleanup:
	memset(s, 0, sizeof(*s));
	return rc;
}

/* ---- stage results -------------------------------------------------- */

static bool put_stage_common(cJSON *o, const cr_stage_result *s, bool full)
{
	bool ok = true;

	if (full)
		ok &= put_str(o, "run_id", s->run_id);
	ok &= put_str(o, "stage", cr_stage_name(s->stage));
	ok &= put_str(o, "status", cr_stage_status_name(s->status));
	if (full) {
		ok &= put_str(o, "started_at", s->started_at);
		ok &= put_str(o, "finished_at", s->finished_at);
	}
	ok &= put_u64(o, "duration_ms", s->duration_ms);
	ok &= put_u64(o, "artifacts_checked", s->artifacts_checked);
	ok &= put_u64(o, "violation_count", s->violation_count);
	if (s->error)
		ok &= put_str(o, "error", s->error);
	return ok;
}

cJSON *cr_stage_result_to_json(const cr_stage_result *s)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && put_stage_common(o, s, true);

	return done(o, ok, "stage result");
}

cJSON *cr_stage_summary_to_json(const cr_stage_result *s)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && put_stage_common(o, s, false);

	return done(o, ok, "stage summary");
}

/* FULL: a stage result (with run_id and times); else a report's summary. */
static int stage_from_json(const cJSON *j, const char *what, bool full, cr_stage_result *s)
{
	int rc;

	TRY(need_object(j, what));
	if (full)
		TRY(get_fixed(j, what, "run_id", true, false, s->run_id, sizeof(s->run_id)));
	GET_ENUM(j, what, "stage", cr_stage_parse, &s->stage);
	GET_ENUM(j, what, "status", cr_stage_status_parse, &s->status);
	if (full) {
		TRY(get_fixed(j, what, "started_at", true, false, s->started_at, sizeof(s->started_at)));
		TRY(get_fixed(j, what, "finished_at", true, false, s->finished_at, sizeof(s->finished_at)));
	}
	TRY(get_u64(j, what, "duration_ms", &s->duration_ms));
	TRY(get_u64(j, what, "artifacts_checked", &s->artifacts_checked));
	TRY(get_u64(j, what, "violation_count", &s->violation_count));
	TRY(get_dup(j, what, "error", false, false, &s->error));
	return 0;
cleanup:
	cr_stage_result_clear(s);
	return rc;
}

int cr_stage_result_from_json(const cJSON *j, cr_stage_result *s)
{
	return stage_from_json(j, "stage result", true, s);
}

/* ---- run events and the run view ------------------------------------ */

static cJSON *event_head(const char *event, const char *run_id, const char *at, bool *ok)
{
	cJSON *o = cJSON_CreateObject();

	*ok = o != NULL;
	if (o) {
		*ok &= put_str(o, "event", event);
		*ok &= put_str(o, "run_id", run_id);
		*ok &= put_str(o, "at", at);
	}
	return o;
}

cJSON *cr_run_requested_to_json(const cr_run *r)
{
	bool ok;
	cJSON *o = event_head("requested", r->run_id, r->requested_at, &ok);

	if (o) {
		ok &= put_str(o, "candidate_id", r->candidate_id);
		ok &= put_str(o, "manifest_id", r->manifest_id);
		ok &= put_str(o, "manifest_digest", r->manifest_digest);
		ok &= put_item(o, "policy_snapshot", cr_snapshot_to_json(&r->policy, false));
		ok &= put_item(o, "registry_snapshot", cr_snapshot_to_json(&r->registry, true));
		ok &= put_str(o, "task_id", r->task_id);
		ok &= put_str(o, "requested_by", r->requested_by);
	}
	return done(o, ok, "requested event");
}

/* jobs is optional in the schema (minimum 1): 0 means "not recorded". */
cJSON *cr_run_started_to_json(const char *run_id, const char *at, uint64_t artifacts_total, int64_t jobs)
{
	bool ok;
	cJSON *o = event_head("started", run_id, at, &ok);

	if (o) {
		ok &= put_u64(o, "artifacts_total", artifacts_total);
		if (jobs > 0)
			ok &= put_i64(o, "jobs", jobs);
	}
	return done(o, ok, "started event");
}

cJSON *cr_run_stage_completed_to_json(const cr_stage_result *s, const char *at)
{
	bool ok;
	cJSON *o = event_head("stage_completed", s->run_id, at, &ok);

	if (o)
		ok &= put_item(o, "stage_result", cr_stage_result_to_json(s));
	return done(o, ok, "stage_completed event");
}

/* The schema requires a reason when the run FAILED and allows one when it
 * SUCCEEDED with an ERROR verdict; a FAILED run is always ERROR. */
cJSON *cr_run_finished_to_json(const cr_run *r)
{
	bool ok;
	cJSON *o;

	if (r->status != CR_RUN_SUCCEEDED && r->status != CR_RUN_FAILED) {
		cr_error_set(CR_EINTERNAL, "finished event of %s: status is not SUCCEEDED or FAILED", r->run_id);
		return NULL;
	}
	if (r->status == CR_RUN_FAILED && (r->final_status != CR_FINAL_ERROR || !r->reason || !*r->reason)) {
		cr_error_set(CR_EINTERNAL, "finished event of %s: a FAILED run needs final_status ERROR and a reason",
			     r->run_id);
		return NULL;
	}
	o = event_head("finished", r->run_id, r->finished_at, &ok);
	if (o) {
		ok &= put_str(o, "status", cr_run_status_name(r->status));
		ok &= put_str(o, "final_status", cr_final_name(r->final_status));
		ok &= put_str(o, "report_id", r->report_id);
		if (r->reason && *r->reason)
			ok &= put_str(o, "reason", r->reason);
	}
	return done(o, ok, "finished event");
}

/* Events after "requested" must name the run they were folded into. */
static int same_run(const cJSON *ev, const cr_run *r, const char *what, char *run_id, size_t size)
{
	int rc = get_fixed(ev, what, "run_id", true, false, run_id, size);

	if (rc < 0)
		return rc;
	if (r->run_id[0] && strcmp(run_id, r->run_id) != 0)
		return cr_error_set(CR_EINVALID_INPUT, "%s: event of run %s folded into run %s", what, run_id,
				    r->run_id);
	return 0;
}

static int apply_requested(const cJSON *ev, cr_run *r)
{
	static const char what[] = "requested event";
	cr_run n = {0};
	const cJSON *snap;
	int rc;

	TRY(get_fixed(ev, what, "run_id", true, false, n.run_id, sizeof(n.run_id)));
	TRY(get_fixed(ev, what, "at", true, false, n.requested_at, sizeof(n.requested_at)));
	TRY(get_fixed(ev, what, "candidate_id", true, false, n.candidate_id, sizeof(n.candidate_id)));
	TRY(get_fixed(ev, what, "manifest_id", true, false, n.manifest_id, sizeof(n.manifest_id)));
	TRY(get_fixed(ev, what, "manifest_digest", true, false, n.manifest_digest, sizeof(n.manifest_digest)));
	TRY(get_obj(ev, what, "policy_snapshot", true, &snap));
	TRY(cr_snapshot_from_json(snap, false, &n.policy));
	TRY(get_obj(ev, what, "registry_snapshot", true, &snap));
	TRY(cr_snapshot_from_json(snap, true, &n.registry));
	TRY(get_fixed(ev, what, "task_id", true, false, n.task_id, sizeof(n.task_id)));
	TRY(get_dup(ev, what, "requested_by", true, false, &n.requested_by));
	/* The run starts here: whatever R held is replaced. */
	cr_run_clear(r);
	*r = n;
	r->status = CR_RUN_PENDING;
	r->final_status = CR_FINAL_NONE;
	return 0;
cleanup:
	cr_run_clear(&n);
	return rc;
}

static int apply_started(const cJSON *ev, cr_run *r)
{
	static const char what[] = "started event";
	char run_id[CR_SHORT_ID_MAX], at[CR_TS_MAX];
	uint64_t total = 0;
	int64_t jobs = 0;
	int rc;

	TRY(same_run(ev, r, what, run_id, sizeof(run_id)));
	TRY(get_fixed(ev, what, "at", true, false, at, sizeof(at)));
	TRY(get_u64(ev, what, "artifacts_total", &total));
	TRY(get_int(ev, what, "jobs", false, 1, 4096, &jobs, NULL));
	memcpy(r->run_id, run_id, sizeof(run_id));
	memcpy(r->started_at, at, sizeof(at));
	r->status = CR_RUN_RUNNING;
	r->progress.total = total;
	r->jobs = jobs;
	return 0;
cleanup:
	return rc;
}

static int apply_stage_completed(const cJSON *ev, cr_run *r)
{
	static const char what[] = "stage_completed event";
	char run_id[CR_SHORT_ID_MAX], at[CR_TS_MAX];
	cr_stage_result s = {0};
	const cJSON *sj;
	int rc;

	TRY(same_run(ev, r, what, run_id, sizeof(run_id)));
	TRY(get_fixed(ev, what, "at", true, false, at, sizeof(at)));
	TRY(get_obj(ev, what, "stage_result", true, &sj));
	TRY(stage_from_json(sj, "stage_result", true, &s));
	if (strcmp(s.run_id, run_id) != 0) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: stage_result of run %s in an event of run %s", what,
				  s.run_id, run_id);
		goto cleanup;
	}
	/* Stages complete in the fixed order, exactly once each. */
	if (r->stage_count >= CR_STAGE__COUNT || (size_t)s.stage != r->stage_count) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: stage %s out of order (%zu stages already completed)",
				  what, cr_stage_name(s.stage), r->stage_count);
		goto cleanup;
	}
	memcpy(r->run_id, run_id, sizeof(run_id));
	cr_stage_result_clear(&r->stages[r->stage_count]);
	r->stages[r->stage_count++] = s;
	return 0;
cleanup:
	cr_stage_result_clear(&s);
	return rc;
}

static int apply_finished(const cJSON *ev, cr_run *r)
{
	static const char what[] = "finished event";
	char run_id[CR_SHORT_ID_MAX], at[CR_TS_MAX], report_id[CR_SHORT_ID_MAX];
	cr_run_status status = CR_RUN_PENDING;
	cr_final final = CR_FINAL_NONE;
	char *reason = NULL;
	int rc;

	TRY(same_run(ev, r, what, run_id, sizeof(run_id)));
	TRY(get_fixed(ev, what, "at", true, false, at, sizeof(at)));
	GET_ENUM(ev, what, "status", cr_run_status_parse, &status);
	if (status != CR_RUN_SUCCEEDED && status != CR_RUN_FAILED) {
		rc = bad(what, "status", "is not SUCCEEDED or FAILED");
		goto cleanup;
	}
	GET_ENUM(ev, what, "final_status", cr_final_parse, &final);
	TRY(get_fixed(ev, what, "report_id", true, false, report_id, sizeof(report_id)));
	TRY(get_dup(ev, what, "reason", false, false, &reason));
	if (status == CR_RUN_FAILED && (final != CR_FINAL_ERROR || !reason)) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: a FAILED run needs final_status ERROR and a reason", what);
		goto cleanup;
	}
	memcpy(r->run_id, run_id, sizeof(run_id));
	memcpy(r->finished_at, at, sizeof(at));
	memcpy(r->report_id, report_id, sizeof(report_id));
	r->status = status;
	r->final_status = final;
	free(r->reason);
	r->reason = reason;
	return 0;
cleanup:
	free(reason);
	return rc;
}

int cr_run_apply_event(const cJSON *event, cr_run *r)
{
	const char *name;
	int rc;

	TRY(need_object(event, "run event"));
	TRY(get_str(event, "run event", "event", true, false, &name));
	if (!strcmp(name, "requested"))
		return apply_requested(event, r);
	if (!strcmp(name, "started"))
		return apply_started(event, r);
	if (!strcmp(name, "stage_completed"))
		return apply_stage_completed(event, r);
	if (!strcmp(name, "finished"))
		return apply_finished(event, r);
	rc = bad("run event", "event", "has an unknown value");
cleanup:
	return rc;
}

/* OpenAPI ComplianceRun: the stored identity plus the live state; the
 * stage results are served by their own endpoint, not in this view. */
cJSON *cr_run_to_json(const cr_run *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *progress = cJSON_CreateObject();
	bool ok = o && progress;

	if (!ok) {
		cJSON_Delete(progress);
		return done(o, false, "run");
	}
	ok &= put_str(o, "run_id", r->run_id);
	ok &= put_str(o, "candidate_id", r->candidate_id);
	ok &= put_str(o, "manifest_id", r->manifest_id);
	ok &= put_str(o, "manifest_digest", r->manifest_digest);
	ok &= put_item(o, "policy_snapshot", cr_snapshot_to_json(&r->policy, false));
	ok &= put_item(o, "registry_snapshot", cr_snapshot_to_json(&r->registry, true));
	ok &= put_str(o, "task_id", r->task_id);
	ok &= put_str(o, "requested_by", r->requested_by);
	ok &= put_str(o, "requested_at", r->requested_at);
	ok &= put_id_or_null(o, "started_at", r->started_at);
	ok &= put_id_or_null(o, "finished_at", r->finished_at);
	ok &= put_str(o, "status", cr_run_status_name(r->status));
	ok &= put_nullable(o, "final_status", cr_final_name(r->final_status));
	ok &= put_u64(progress, "artifacts_done", r->progress.done);
	ok &= put_u64(progress, "artifacts_total", r->progress.total);
	ok &= put_item(o, "progress", progress);
	ok &= put_id_or_null(o, "report_id", r->report_id);
	ok &= put_nullable(o, "reason", r->reason);
	return done(o, ok, "run");
}

/* ---- violations ----------------------------------------------------- */

cJSON *cr_violation_to_json(const cr_violation *v)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "violation_id", v->violation_id);
		ok &= put_str(o, "run_id", v->run_id);
		ok &= put_str(o, "stage", cr_stage_name(v->stage));
		ok &= put_str(o, "rule_id", v->rule_id);
		ok &= put_str(o, "severity", cr_severity_name(v->severity));
		ok &= put_nullable(o, "artifact_path", v->artifact_path);
		ok &= put_str(o, "message", v->message);
		if (v->has_location) {
			cJSON *loc = cJSON_CreateObject();
			bool lok = loc != NULL;
			if (loc) {
				lok &= put_u64(loc, "line", v->location.line);
				lok &= put_u64(loc, "column", v->location.column);
				lok &= put_u64(loc, "offset", v->location.offset);
			}
			if (!lok) {
				cJSON_Delete(loc);
				loc = NULL;
			}
			ok &= put_item(o, "location", loc);
		}
		if (v->excerpt)
			ok &= put_str(o, "excerpt", v->excerpt);
	}
	return done(o, ok, "violation");
}

void cr_violation_canonical(cr_sbuf *b, const cr_violation *v)
{
	/* Keys in bytewise order, as cr_json_canonical sorts them. */
	cr_sb_puts(b, "{\"artifact_path\":");
	if (v->artifact_path)
		cr_sb_json_str(b, v->artifact_path);
	else
		cr_sb_puts(b, "null");
	if (v->excerpt) {
		sb_key(b, ",", "excerpt");
		cr_sb_json_str(b, v->excerpt);
	}
	if (v->has_location) {
		cr_sb_puts(b, ",\"location\":{\"column\":");
		sb_u64(b, v->location.column);
		cr_sb_puts(b, ",\"line\":");
		sb_u64(b, v->location.line);
		cr_sb_puts(b, ",\"offset\":");
		sb_u64(b, v->location.offset);
		cr_sb_put(b, "}", 1);
	}
	sb_key(b, ",", "message");
	cr_sb_json_str(b, v->message);
	sb_key(b, ",", "rule_id");
	cr_sb_json_str(b, v->rule_id);
	sb_key(b, ",", "run_id");
	cr_sb_json_str(b, v->run_id);
	sb_key(b, ",", "severity");
	cr_sb_json_str(b, cr_severity_name(v->severity));
	sb_key(b, ",", "stage");
	cr_sb_json_str(b, cr_stage_name(v->stage));
	sb_key(b, ",", "violation_id");
	cr_sb_json_str(b, v->violation_id);
	cr_sb_put(b, "}", 1);
}

void cr_violation_chunk_canonical(cr_sbuf *b, const char *run_id, uint64_t chunk, const cr_violation *v, size_t n)
{
	cr_sb_puts(b, "{\"chunk\":");
	sb_u64(b, chunk);
	sb_key(b, ",", "run_id");
	cr_sb_json_str(b, run_id);
	cr_sb_puts(b, ",\"violations\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			cr_sb_put(b, ",", 1);
		cr_violation_canonical(b, &v[i]);
	}
	cr_sb_puts(b, "]}");
}

int cr_violation_from_json(const cJSON *j, cr_violation *v)
{
	static const char what[] = "violation";
	const cJSON *loc;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "violation_id", true, false, v->violation_id, sizeof(v->violation_id)));
	TRY(get_fixed(j, what, "run_id", true, false, v->run_id, sizeof(v->run_id)));
	GET_ENUM(j, what, "stage", cr_stage_parse, &v->stage);
	TRY(get_fixed(j, what, "rule_id", true, false, v->rule_id, sizeof(v->rule_id)));
	GET_ENUM(j, what, "severity", cr_severity_parse, &v->severity);
	/* Required key, null for a manifest-wide finding. */
	TRY(get_dup(j, what, "artifact_path", true, true, &v->artifact_path));
	TRY(get_dup(j, what, "message", true, false, &v->message));
	TRY(get_obj(j, what, "location", false, &loc));
	if (loc) {
		int64_t line = 0, column = 0, offset = 0;
		TRY(get_int(loc, "violation location", "line", true, 1, MAX_SAFE_INT, &line, NULL));
		TRY(get_int(loc, "violation location", "column", true, 1, MAX_SAFE_INT, &column, NULL));
		TRY(get_int(loc, "violation location", "offset", true, 0, MAX_SAFE_INT, &offset, NULL));
		v->has_location = true;
		v->location.line = (uint64_t)line;
		v->location.column = (uint64_t)column;
		v->location.offset = (uint64_t)offset;
	}
	TRY(get_dup(j, what, "excerpt", false, false, &v->excerpt));
	return 0;
cleanup:
	cr_violation_clear(v);
	return rc;
}

/* ---- report --------------------------------------------------------- */

cJSON *cr_report_to_json(const cr_report *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *stages = cJSON_CreateArray();
	cJSON *counts = cJSON_CreateObject();
	cJSON *by_stage = cJSON_CreateObject();
	bool ok = o && stages && counts && by_stage;

	if (!ok) {
		cJSON_Delete(stages);
		cJSON_Delete(counts);
		cJSON_Delete(by_stage);
		return done(o, false, "report");
	}
	ok &= put_str(o, "report_id", r->report_id);
	ok &= put_str(o, "run_id", r->run_id);
	ok &= put_str(o, "candidate_id", r->candidate_id);
	ok &= put_str(o, "manifest_id", r->manifest_id);
	ok &= put_str(o, "manifest_digest", r->manifest_digest);
	ok &= put_str(o, "policy_digest", r->policy_digest);
	ok &= put_str(o, "registry_digest", r->registry_digest);
	ok &= put_str(o, "final_status", cr_final_name(r->final_status));
	for (size_t i = 0; i < CR_STAGE__COUNT; i++) {
		cJSON *s = cr_stage_summary_to_json(&r->stages[i]);
		bool sok = s && cJSON_AddItemToArray(stages, s);
		if (s && !sok)
			cJSON_Delete(s);
		ok &= sok;
	}
	ok &= put_item(o, "stages", stages);
	ok &= put_u64(counts, "total", r->total);
	ok &= put_u64(counts, "blocker", r->blocker);
	ok &= put_u64(counts, "warning", r->warning);
	for (size_t i = 0; i < CR_STAGE__COUNT; i++)
		ok &= put_u64(by_stage, cr_stage_name((cr_stage)i), r->by_stage[i]);
	ok &= put_item(counts, "by_stage", by_stage);
	ok &= put_item(o, "violation_counts", counts);
	ok &= put_str(o, "generated_at", r->generated_at);
	ok &= put_str(o, "report_digest", r->report_digest);
	return done(o, ok, "report");
}

int cr_report_from_json(const cJSON *j, cr_report *r)
{
	static const char what[] = "report";
	const cJSON *stages, *item, *counts, *by_stage;
	size_t i = 0;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "report_id", true, false, r->report_id, sizeof(r->report_id)));
	TRY(get_fixed(j, what, "run_id", true, false, r->run_id, sizeof(r->run_id)));
	TRY(get_fixed(j, what, "candidate_id", true, false, r->candidate_id, sizeof(r->candidate_id)));
	TRY(get_fixed(j, what, "manifest_id", true, false, r->manifest_id, sizeof(r->manifest_id)));
	TRY(get_fixed(j, what, "manifest_digest", true, false, r->manifest_digest, sizeof(r->manifest_digest)));
	TRY(get_fixed(j, what, "policy_digest", true, false, r->policy_digest, sizeof(r->policy_digest)));
	TRY(get_fixed(j, what, "registry_digest", true, false, r->registry_digest, sizeof(r->registry_digest)));
	GET_ENUM(j, what, "final_status", cr_final_parse, &r->final_status);
	TRY(get_array(j, what, "stages", &stages));
	if (cJSON_GetArraySize(stages) != CR_STAGE__COUNT) {
		rc = bad(what, "stages", "does not hold the four stages");
		goto cleanup;
	}
	cJSON_ArrayForEach(item, stages) {
		TRY(stage_from_json(item, "report stage", false, &r->stages[i]));
		if ((size_t)r->stages[i].stage != i) {
			rc = bad(what, "stages", "is not in the fixed stage order");
			goto cleanup;
		}
		i++;
	}
	TRY(get_obj(j, what, "violation_counts", true, &counts));
	TRY(get_u64(counts, "violation_counts", "total", &r->total));
	TRY(get_u64(counts, "violation_counts", "blocker", &r->blocker));
	TRY(get_u64(counts, "violation_counts", "warning", &r->warning));
	TRY(get_obj(counts, "violation_counts", "by_stage", true, &by_stage));
	for (i = 0; i < CR_STAGE__COUNT; i++)
		TRY(get_u64(by_stage, "violation_counts.by_stage", cr_stage_name((cr_stage)i), &r->by_stage[i]));
	TRY(get_fixed(j, what, "generated_at", true, false, r->generated_at, sizeof(r->generated_at)));
	TRY(get_fixed(j, what, "report_digest", true, false, r->report_digest, sizeof(r->report_digest)));
	return 0;
cleanup:
	cr_report_clear(r);
	return rc;
}

int cr_report_digest(const cr_report *r, char out[CR_SHA_MAX])
{
	cJSON *o = cr_report_to_json(r);
	int rc;

	if (!o)
		return cr_error_last()->code ? cr_error_last()->code : CR_EINTERNAL;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "report_digest");
	rc = cr_json_digest(o, out);
	cJSON_Delete(o);
	return rc;
}

/* ---- approval, publication ------------------------------------------ */

cJSON *cr_approval_to_json(const cr_approval *a)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "approval_id", a->approval_id);
		ok &= put_str(o, "candidate_id", a->candidate_id);
		ok &= put_str(o, "report_id", a->report_id);
		ok &= put_str(o, "decision", a->approved ? "APPROVED" : "REJECTED");
		ok &= put_str(o, "actor", a->actor);
		ok &= put_str(o, "at", a->at);
		ok &= put_nullable(o, "comment", a->comment);
	}
	return done(o, ok, "approval");
}

int cr_approval_from_json(const cJSON *j, cr_approval *a)
{
	static const char what[] = "approval";
	const char *decision;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "approval_id", true, false, a->approval_id, sizeof(a->approval_id)));
	TRY(get_fixed(j, what, "candidate_id", true, false, a->candidate_id, sizeof(a->candidate_id)));
	TRY(get_fixed(j, what, "report_id", true, false, a->report_id, sizeof(a->report_id)));
	TRY(get_str(j, what, "decision", true, false, &decision));
	if (strcmp(decision, "APPROVED") != 0 && strcmp(decision, "REJECTED") != 0) {
		rc = bad(what, "decision", "is not APPROVED or REJECTED");
		goto cleanup;
	}
	a->approved = !strcmp(decision, "APPROVED");
	TRY(get_dup(j, what, "actor", true, false, &a->actor));
	TRY(get_fixed(j, what, "at", true, false, a->at, sizeof(a->at)));
	TRY(get_dup(j, what, "comment", true, true, &a->comment));
	return 0;
cleanup:
	cr_approval_clear(a);
	return rc;
}

cJSON *cr_publication_to_json(const cr_publication *p)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "publication_id", p->publication_id);
		ok &= put_str(o, "candidate_id", p->candidate_id);
		ok &= put_str(o, "report_id", p->report_id);
		ok &= put_str(o, "channel", p->channel);
		ok &= put_str(o, "actor", p->actor);
		ok &= put_str(o, "at", p->at);
		if (p->tag[0])
			ok &= put_str(o, "tag", p->tag);
		/* A revocation has both; half of one is a bug, not a record. */
		if (p->revoked_by || p->reason) {
			ok &= put_str(o, "revoked_by", p->revoked_by);
			ok &= put_str(o, "reason", p->reason);
		}
	}
	return done(o, ok, "publication");
}

int cr_publication_from_json(const cJSON *j, cr_publication *p)
{
	static const char what[] = "publication";
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "publication_id", true, false, p->publication_id, sizeof(p->publication_id)));
	TRY(get_fixed(j, what, "candidate_id", true, false, p->candidate_id, sizeof(p->candidate_id)));
	TRY(get_fixed(j, what, "report_id", true, false, p->report_id, sizeof(p->report_id)));
	TRY(get_fixed(j, what, "channel", true, false, p->channel, sizeof(p->channel)));
	TRY(get_dup(j, what, "actor", true, false, &p->actor));
	TRY(get_fixed(j, what, "at", true, false, p->at, sizeof(p->at)));
	TRY(get_fixed(j, what, "tag", false, false, p->tag, sizeof(p->tag)));
	TRY(get_dup(j, what, "revoked_by", false, false, &p->revoked_by));
	TRY(get_dup(j, what, "reason", false, false, &p->reason));
	if (!p->revoked_by != !p->reason) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: a revocation needs both revoked_by and reason", what);
		goto cleanup;
	}
	return 0;
cleanup:
	cr_publication_clear(p);
	return rc;
}

/* ---- audit events --------------------------------------------------- */

cJSON *cr_audit_event_to_json(const cr_audit_event *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *details = cJSON_CreateObject();
	bool ok = o && details;

	if (!ok) {
		cJSON_Delete(details);
		return done(o, false, "audit event");
	}
	ok &= put_str(o, "event_id", e->event_id);
	ok &= put_str(o, "type", e->type);
	ok &= put_id_or_null(o, "candidate_id", e->candidate_id);
	ok &= put_str(o, "actor", e->actor);
	ok &= put_str(o, "at", e->at);
	ok &= put_str(o, "outcome", e->accepted ? "ACCEPTED" : "REFUSED");
	for (size_t i = 0; i < e->ndetails && i < NELEM(e->details); i++)
		ok &= put_str(details, e->details[i].key, e->details[i].value);
	if (e->error_code != 0) {
		cJSON *err = cJSON_CreateObject();
		bool eok = err != NULL;
		if (err) {
			eok &= put_str(err, "code", cr_error_name(e->error_code));
			eok &= put_str(err, "message", e->error_message && *e->error_message
							       ? e->error_message
							       : cr_error_name(e->error_code));
		}
		if (!eok) {
			cJSON_Delete(err);
			err = NULL;
		}
		ok &= put_item(details, "error", err);
	}
	ok &= put_item(o, "details", details);
	return done(o, ok, "audit event");
}

int cr_audit_event_from_json(const cJSON *j, cr_audit_event *e)
{
	static const char what[] = "audit event";
	const cJSON *details, *item;
	const char *outcome;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "event_id", true, false, e->event_id, sizeof(e->event_id)));
	TRY(get_fixed(j, what, "type", true, false, e->type, sizeof(e->type)));
	/* Required key, null only for policy.publish. */
	TRY(get_fixed(j, what, "candidate_id", true, true, e->candidate_id, sizeof(e->candidate_id)));
	TRY(get_dup(j, what, "actor", true, false, &e->actor));
	TRY(get_fixed(j, what, "at", true, false, e->at, sizeof(e->at)));
	TRY(get_str(j, what, "outcome", true, false, &outcome));
	if (strcmp(outcome, "ACCEPTED") != 0 && strcmp(outcome, "REFUSED") != 0) {
		rc = bad(what, "outcome", "is not ACCEPTED or REFUSED");
		goto cleanup;
	}
	e->accepted = !strcmp(outcome, "ACCEPTED");
	TRY(get_obj(j, what, "details", true, &details));
	cJSON_ArrayForEach(item, details) {
		if (!strcmp(item->string, "error")) {
			const char *code;
			if (!cJSON_IsObject(item)) {
				rc = bad(what, "details.error", "is not an object");
				goto cleanup;
			}
			TRY(get_str(item, "audit event details.error", "code", true, false, &code));
			e->error_code = cr_error_from_name(code);
			if (e->error_code == 0) {
				rc = bad(what, "details.error.code", "has an unknown value");
				goto cleanup;
			}
			TRY(get_dup(item, "audit event details.error", "message", true, false, &e->error_message));
			continue;
		}
		/* The struct holds string details only (ids, statuses): another
		 * type could not be written back as it was. */
		if (!cJSON_IsString(item)) {
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: detail \"%.40s\" is not a string", what, item->string);
			goto cleanup;
		}
		rc = cr_audit_detail_set(e, item->string, item->valuestring);
		if (rc < 0) {
			rc = cr_error_set(rc == CR_EINTERNAL ? CR_EINTERNAL : CR_EINVALID_INPUT, "%s: details: %s",
					  what, cr_error_last()->message);
			goto cleanup;
		}
	}
	if (!e->accepted && e->error_code == 0) {
		rc = bad(what, "details.error", "is missing from a refusal");
		goto cleanup;
	}
	return 0;
cleanup:
	cr_audit_event_clear(e);
	return rc;
}

/* ---- task ----------------------------------------------------------- */

cJSON *cr_task_to_json(const cr_task *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *progress = cJSON_CreateObject();
	bool ok = o && progress;

	if (!ok) {
		cJSON_Delete(progress);
		return done(o, false, "task");
	}
	ok &= put_str(o, "task_id", t->task_id);
	ok &= put_str(o, "type", "compliance_run");
	ok &= put_str(o, "status", cr_task_status_name((int)t->status));
	ok &= put_str(o, "run_id", t->run_id);
	if (t->pid > 0)
		ok &= put_i64(o, "pid", t->pid);
	else
		ok &= cJSON_AddNullToObject(o, "pid") != NULL;
	ok &= put_u64(progress, "artifacts_done", t->progress.done);
	ok &= put_u64(progress, "artifacts_total", t->progress.total);
	ok &= put_item(o, "progress", progress);
	ok &= put_str(o, "created_at", t->created_at);
	ok &= put_str(o, "updated_at", t->updated_at);
	ok &= put_nullable(o, "error", t->error);
	return done(o, ok, "task");
}

int cr_task_from_json(const cJSON *j, cr_task *t)
{
	static const char what[] = "task";
	const cJSON *progress, *pid;
	const char *type;
	int status = 0;
	int64_t pidv = 0;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "task_id", true, false, t->task_id, sizeof(t->task_id)));
	TRY(get_str(j, what, "type", true, false, &type));
	if (strcmp(type, "compliance_run") != 0) {
		rc = bad(what, "type", "is not compliance_run");
		goto cleanup;
	}
	GET_ENUM(j, what, "status", cr_task_status_parse, &status);
	t->status = status;
	TRY(get_fixed(j, what, "run_id", true, false, t->run_id, sizeof(t->run_id)));
	pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	if (!pid) {
		rc = bad(what, "pid", "is missing");
		goto cleanup;
	}
	if (!cJSON_IsNull(pid)) {
		TRY(get_int(j, what, "pid", true, 1, 2147483647.0, &pidv, NULL));
		t->pid = (long)pidv;
	}
	TRY(get_obj(j, what, "progress", true, &progress));
	TRY(get_u64(progress, "task progress", "artifacts_done", &t->progress.done));
	TRY(get_u64(progress, "task progress", "artifacts_total", &t->progress.total));
	TRY(get_fixed(j, what, "created_at", true, false, t->created_at, sizeof(t->created_at)));
	TRY(get_fixed(j, what, "updated_at", true, false, t->updated_at, sizeof(t->updated_at)));
	TRY(get_dup(j, what, "error", true, true, &t->error));
	return 0;
cleanup:
	cr_task_clear(t);
	return rc;
}

/* ---- policy, registry ----------------------------------------------- */

static int rule_from_json(const cJSON *j, const char *what, cr_rule *r)
{
	static const char *const matchers[] = {
		[CR_MATCH_PATH] = "path_pattern",
		[CR_MATCH_CONTENT] = "content_pattern",
		[CR_MATCH_ENDPOINT] = "endpoint_pattern",
	};
	const cJSON *secret;
	int found = 0, rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "id", true, false, r->id, sizeof(r->id)));
	GET_ENUM(j, what, "stage", cr_stage_parse, &r->stage);
	if (r->stage != CR_STAGE_DATA_PURITY && r->stage != CR_STAGE_NO_EXTERNAL_ENDPOINTS) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: rule %s: stage %s has no policy rules", what, r->id,
				  cr_stage_name(r->stage));
		goto cleanup;
	}
	GET_ENUM(j, what, "severity", cr_severity_parse, &r->severity);
	TRY(get_dup(j, what, "description", true, false, &r->description));
	for (size_t m = 0; m < NELEM(matchers); m++) {
		char *pat = NULL;
		TRY(get_dup(j, what, matchers[m], false, false, &pat));
		if (!pat)
			continue;
		if (found++) {
			free(pat);
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: rule %s has more than one matcher", what, r->id);
			goto cleanup;
		}
		r->matcher = (cr_matcher)m;
		r->pattern = pat;
	}
	if (!found) {
		rc = cr_error_set(CR_EINVALID_INPUT,
				  "%s: rule %s needs one of path_pattern, content_pattern, endpoint_pattern", what, r->id);
		goto cleanup;
	}
	if (r->matcher == CR_MATCH_ENDPOINT && r->stage != CR_STAGE_NO_EXTERNAL_ENDPOINTS) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: rule %s: endpoint_pattern belongs to NO_EXTERNAL_ENDPOINTS",
				  what, r->id);
		goto cleanup;
	}
	/* Content matches may be secrets unless the rule says otherwise: the
	 * safe default masks them. */
	r->secret = r->matcher == CR_MATCH_CONTENT;
	secret = cJSON_GetObjectItemCaseSensitive(j, "secret");
	if (secret) {
		if (!cJSON_IsBool(secret)) {
			rc = bad(what, "secret", "is not a boolean");
			goto cleanup;
		}
		r->secret = cJSON_IsTrue(secret);
	}
	return 0;
cleanup:
	free(r->description);
	free(r->pattern);
	memset(r, 0, sizeof(*r));
	return rc;
}

int cr_policy_from_json(const cJSON *j, cr_policy *p)
{
	static const char what[] = "policy";
	const cJSON *rules, *item, *limits;
	int64_t v;
	bool present;
	size_t n;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "policy_id", true, false, p->policy_id, sizeof(p->policy_id)));
	TRY(get_int(j, what, "version", true, 1, MAX_SAFE_INT, &p->version, NULL));
	TRY(get_dup(j, what, "release_tag_pattern", true, false, &p->release_tag_pattern));
	TRY(get_array(j, what, "rules", &rules));
	n = (size_t)cJSON_GetArraySize(rules);
	if (n > 0) {
		p->rules = calloc(n, sizeof(*p->rules));
		if (!p->rules) {
			rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
			goto cleanup;
		}
	}
	cJSON_ArrayForEach(item, rules) {
		cr_rule *r = &p->rules[p->rule_count];
		TRY(rule_from_json(item, what, r));
		p->rule_count++;
		/* Violations name their rule: two rules with one id would make
		 * a finding ambiguous. */
		for (size_t k = 0; k + 1 < p->rule_count; k++) {
			if (!strcmp(p->rules[k].id, r->id)) {
				rc = cr_error_set(CR_EINVALID_INPUT, "%s: rule id %s is used twice", what, r->id);
				goto cleanup;
			}
		}
	}
	p->limits.per_artifact_timeout_ms = 60000;
	TRY(get_obj(j, what, "limits", false, &limits));
	if (limits) {
		v = 0;
		TRY(get_int(limits, "policy limits", "match_limit", false, 1, 4294967295.0, &v, &present));
		if (present)
			p->limits.match_limit = (uint32_t)v;
		TRY(get_int(limits, "policy limits", "depth_limit", false, 1, 4294967295.0, &v, &present));
		if (present)
			p->limits.depth_limit = (uint32_t)v;
		TRY(get_int(limits, "policy limits", "per_artifact_timeout_ms", false, 1, 86400000.0, &v, &present));
		if (present)
			p->limits.per_artifact_timeout_ms = (uint64_t)v;
		TRY(get_int(limits, "policy limits", "max_artifact_bytes", false, 1, MAX_SAFE_INT, &v, &present));
		if (present)
			p->limits.max_artifact_bytes = (uint64_t)v;
	}
	return 0;
cleanup:
	cr_policy_clear(p);
	return rc;
}

int cr_registry_from_json(const cJSON *j, cr_registry *r)
{
	static const char what[] = "registry";
	const cJSON *arr, *item;
	size_t n;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "registry_id", true, false, r->registry_id, sizeof(r->registry_id)));
	TRY(get_int(j, what, "version", true, 1, MAX_SAFE_INT, &r->version, NULL));
	TRY(get_array(j, what, "allowed_sources", &arr));
	n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		rc = bad(what, "allowed_sources", "is empty");
		goto cleanup;
	}
	r->sources = calloc(n, sizeof(*r->sources));
	if (!r->sources) {
		rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
		goto cleanup;
	}
	cJSON_ArrayForEach(item, arr) {
		cr_allowed_source *s = &r->sources[r->source_count];
		TRY(need_object(item, "registry allowed source"));
		TRY(get_fixed(item, "registry allowed source", "id", true, false, s->id, sizeof(s->id)));
		TRY(get_dup(item, "registry allowed source", "prefix", true, false, &s->prefix));
		r->source_count++;
		for (size_t k = 0; k + 1 < r->source_count; k++) {
			if (!strcmp(r->sources[k].id, s->id)) {
				rc = cr_error_set(CR_EINVALID_INPUT, "%s: allowed source id %s is used twice", what,
						  s->id);
				goto cleanup;
			}
		}
	}
	TRY(get_array(j, what, "allowed_hosts", &arr));
	n = (size_t)cJSON_GetArraySize(arr);
	if (n > 0) {
		r->hosts = calloc(n, sizeof(*r->hosts));
		if (!r->hosts) {
			rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
			goto cleanup;
		}
	}
	cJSON_ArrayForEach(item, arr) {
		if (!cJSON_IsString(item) || !item->valuestring) {
			rc = bad(what, "allowed_hosts", "holds a non-string");
			goto cleanup;
		}
		r->hosts[r->host_count] = strdup(item->valuestring);
		if (!r->hosts[r->host_count]) {
			rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
			goto cleanup;
		}
		r->host_count++;
	}
	return 0;
cleanup:
	cr_registry_clear(r);
	return rc;
}

/* ---- errors --------------------------------------------------------- */

/* ALLOWED_CSV is cr_lifecycle_allowed()'s output: ", "-separated names, or
 * "none" for an empty list. */
static bool put_allowed(cJSON *details, const char *csv)
{
	cJSON *arr = cJSON_CreateArray();
	bool ok = arr != NULL;
	const char *p = csv ? csv : "";

	if (!arr)
		return false;
	if (!strcmp(p, "none"))
		p = "";
	while (ok && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && p[len - 1] == ' ')
			len--;
		if (len) {
			cJSON *s;
			char *name = strndup(p, len);
			s = name ? cJSON_CreateString(name) : NULL;
			free(name);
			ok = s && cJSON_AddItemToArray(arr, s);
			if (s && !ok)
				cJSON_Delete(s);
		}
		if (!end)
			break;
		p = end + 1;
		while (*p == ' ')
			p++;
	}
	if (!ok) {
		cJSON_Delete(arr);
		return false;
	}
	return put_item(details, "allowed", arr);
}

cJSON *cr_error_to_json(int code, const char *message, const char *status, const char *allowed_csv)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *err = cJSON_CreateObject();
	bool ok = o && err;

	if (!ok) {
		cJSON_Delete(err);
		return done(o, false, "error");
	}
	ok &= put_str(err, "code", cr_error_name(code));
	/* message is minLength 1: an empty one still says what failed. */
	ok &= put_str(err, "message", message && *message ? message : cr_error_name(code));
	if (status && *status) {
		cJSON *details = cJSON_CreateObject();
		bool dok = details != NULL;
		if (details) {
			dok &= put_str(details, "status", status);
			dok &= put_allowed(details, allowed_csv);
		}
		if (!dok) {
			cJSON_Delete(details);
			details = NULL;
		}
		ok &= put_item(err, "details", details);
	}
	ok &= put_item(o, "error", err);
	return done(o, ok, "error");
}
