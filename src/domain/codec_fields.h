#ifndef CR_DOMAIN_CODEC_FIELDS_H
#define CR_DOMAIN_CODEC_FIELDS_H
/*
 * The field helpers every JSON codec shares (the stored-evidence codecs of
 * src/domain, the DTO encoders of src/facade, the task file of
 * src/adapters/tasks): building an object key by key with one check at the
 * end, and reading typed, length-checked fields with errors that name the
 * field. Header-only (static inline), so each codec keeps them private.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "util/error.h"
#include "util/json.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_SAFE_INT 9007199254740991.0 /* 2^53 - 1: the schemas' maximum */

/* ---- building ------------------------------------------------------- */

/* A failed cJSON_Add* returns NULL; building keeps going and the caller
 * checks once, through done(). A NULL enum name fails the same way. */
static inline bool put_str(cJSON *o, const char *key, const char *v)
{
	return v && cJSON_AddStringToObject(o, key, v) != NULL;
}

static inline bool put_nullable(cJSON *o, const char *key, const char *v)
{
	return cr_json_add_str(o, key, v) != NULL;
}

/* "" in a fixed id/timestamp field means "none": null. */
static inline bool put_id_or_null(cJSON *o, const char *key, const char *v)
{
	return cr_json_add_str(o, key, v && *v ? v : NULL) != NULL;
}

static inline bool put_u64(cJSON *o, const char *key, uint64_t v)
{
	return cr_json_add_int(o, key, (int64_t)v) != NULL;
}

static inline bool put_i64(cJSON *o, const char *key, int64_t v)
{
	return cr_json_add_int(o, key, v) != NULL;
}

static inline bool put_item(cJSON *o, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* Append ITEM (NULL: a failed encoder) to the array ARR; false, ITEM freed, on failure. */
static inline bool put_elem(cJSON *arr, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

static inline cJSON *done(cJSON *o, bool ok, const char *what)
{
	if (o && ok)
		return o;
	cJSON_Delete(o);
	cr_error_set(CR_EINTERNAL, "%s: cannot build JSON (out of memory or a field out of range)", what);
	return NULL;
}

/* ---- reading -------------------------------------------------------- */

static inline int bad(const char *what, const char *key, const char *problem)
{
	return cr_error_set(CR_EINVALID_INPUT, "%s: field \"%s\" %s", what, key, problem);
}

static inline int need_object(const cJSON *j, const char *what)
{
	if (!cJSON_IsObject(j))
		return cr_error_set(CR_EINVALID_INPUT, "%s: not a JSON object", what);
	return 0;
}

/* *OUT is NULL for an absent key (an error when REQUIRED) and for null (an
 * error unless NULLABLE). */
static inline int get_str(const cJSON *j, const char *what, const char *key, bool required,
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
static inline int get_fixed(const cJSON *j, const char *what, const char *key, bool required,
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
static inline int get_dup(const cJSON *j, const char *what, const char *key, bool required,
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
static inline int get_int(const cJSON *j, const char *what, const char *key, bool required,
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

static inline int get_u64(const cJSON *j, const char *what, const char *key, uint64_t *out)
{
	int64_t v = 0;
	int rc = get_int(j, what, key, true, 0, MAX_SAFE_INT, &v, NULL);

	if (rc == 0)
		*out = (uint64_t)v;
	return rc;
}

static inline int get_obj(const cJSON *j, const char *what, const char *key, bool required,
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

static inline int get_array(const cJSON *j, const char *what, const char *key, const cJSON **out)
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

/* ---- direct canonical writing --------------------------------------- */

/* An unsigned count as the cJSON path stores it (through int64 and double),
 * so that both writers print the same bytes. */
static inline void sb_u64(cr_sbuf *b, uint64_t v)
{
	cr_sb_json_num(b, (double)(int64_t)v);
}

static inline void sb_key(cr_sbuf *b, const char *lead, const char *key)
{
	cr_sb_puts(b, lead);
	cr_sb_json_str(b, key);
	cr_sb_put(b, ":", 1);
}

/* Literal JSON text; keys need no escaping. */
#define SB_LIT(b, lit) cr_sb_put((b), (lit), sizeof(lit) - 1)

#endif
