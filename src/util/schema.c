/*
 * JSON Schema 2020-12, the subset our schemas use. A schema document is
 * compiled once into a graph of nodes (one per schema object reachable from
 * the root, $refs resolved to nodes, patterns compiled with PCRE2), so that
 * validation never looks a keyword up by name and never compiles a regex.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/embedded.h"
#include "util/error.h"
#include "util/json.h"
#include "util/schema.h"

/* Nested schema evaluations before we call the schema cyclic. */
#define MAX_EVAL_DEPTH 1024
/* Patterns and values quoted in messages are cut to about this many bytes. */
#define QUOTE_MAX 60
#define REF_TOKEN_MAX 256

enum {
	T_NULL = 1u << 0,
	T_BOOLEAN = 1u << 1,
	T_OBJECT = 1u << 2,
	T_ARRAY = 1u << 3,
	T_NUMBER = 1u << 4,
	T_STRING = 1u << 5,
	T_INTEGER = 1u << 6,
};

static const struct {
	const char *name;
	unsigned bit;
} type_names[] = {
	{"null", T_NULL},     {"boolean", T_BOOLEAN}, {"object", T_OBJECT}, {"array", T_ARRAY},
	{"number", T_NUMBER}, {"string", T_STRING},   {"integer", T_INTEGER},
};

/* Keywords that would change the outcome and that we do not implement: a
 * schema using one is refused at load rather than half-checked. */
static const char *const unsupported[] = {
	"patternProperties", "propertyNames", "contains", "minContains", "maxContains",
	"dependentRequired", "dependentSchemas", "unevaluatedProperties", "unevaluatedItems",
	"additionalItems", "dependencies", "$dynamicRef", "$recursiveRef",
};

enum { N_MIN = 1, N_MAX = 2, N_XMIN = 4, N_XMAX = 8, N_MULT = 16 };

struct node;

struct prop {
	const char *name;
	struct node *schema;
};

struct list {
	struct node **v;
	size_t n;
};

struct node {
	int is_bool, bool_value; /* a boolean schema: true or false */
	unsigned types;          /* T_* bits; 0: any type */
	char types_text[80];     /* "string or null", in the schema's order */
	const cJSON *konst;      /* "const" value, or NULL */
	const cJSON *enums;      /* "enum" array, or NULL */
	/* objects */
	struct prop *props;
	size_t nprops;
	struct node *addl;
	const cJSON *required;
	long long min_props, max_props; /* -1: absent */
	/* arrays */
	struct list prefix;
	struct node *items;
	long long min_items, max_items;
	int unique;
	/* strings */
	long long min_len, max_len;
	pcre2_code *re;
	const char *pattern;
	/* numbers */
	unsigned num;
	double minimum, maximum, xmin, xmax, mult;
	/* applicators */
	struct node *ref;
	struct list all_of, any_of, one_of;
	struct node *not_, *if_, *then_, *else_;
};

/* Open-addressing map from a schema's cJSON object to its compiled node. */
struct map_entry {
	const cJSON *key;
	struct node *node;
};

struct cr_schema {
	cJSON *doc;
	struct node *root;
	struct map_entry *map;
	size_t map_cap, map_len;
};

static size_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static struct node *map_get(const cr_schema *s, const cJSON *key)
{
	if (!s->map_cap)
		return NULL;
	for (size_t i = ptr_hash(key) & (s->map_cap - 1);; i = (i + 1) & (s->map_cap - 1)) {
		if (!s->map[i].key)
			return NULL;
		if (s->map[i].key == key)
			return s->map[i].node;
	}
}

static int map_put(cr_schema *s, const cJSON *key, struct node *node)
{
	if ((s->map_len + 1) * 2 > s->map_cap) {
		size_t ncap = s->map_cap ? s->map_cap * 2 : 64;
		struct map_entry *nm = calloc(ncap, sizeof(*nm));
		if (!nm)
			return -1;
		for (size_t i = 0; i < s->map_cap; i++) {
			if (!s->map[i].key)
				continue;
			size_t j = ptr_hash(s->map[i].key) & (ncap - 1);
			while (nm[j].key)
				j = (j + 1) & (ncap - 1);
			nm[j] = s->map[i];
		}
		free(s->map);
		s->map = nm;
		s->map_cap = ncap;
	}
	size_t i = ptr_hash(key) & (s->map_cap - 1);
	while (s->map[i].key)
		i = (i + 1) & (s->map_cap - 1);
	s->map[i].key = key;
	s->map[i].node = node;
	s->map_len++;
	return 0;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	free(n->props);
	free(n->prefix.v);
	free(n->all_of.v);
	free(n->any_of.v);
	free(n->one_of.v);
	pcre2_code_free(n->re);
	free(n);
}

void cr_schema_free(cr_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->map_cap; i++)
		if (s->map[i].key)
			node_free(s->map[i].node);
	free(s->map);
	cJSON_Delete(s->doc);
	free(s);
}

/* Resolve a JSON pointer ("#/$defs/Name", "/components/schemas/X", "#")
 * against ROOT; NULL when it leads nowhere. */
static const cJSON *resolve_pointer(const cJSON *root, const char *ptr)
{
	const cJSON *cur = root;
	if (*ptr == '#')
		ptr++;
	while (*ptr) {
		char tok[REF_TOKEN_MAX];
		size_t n = 0;
		if (*ptr != '/')
			return NULL;
		for (ptr++; *ptr && *ptr != '/'; ptr++) {
			char c = *ptr;
			if (c == '~') {
				if (ptr[1] != '0' && ptr[1] != '1')
					return NULL;
				c = ptr[1] == '0' ? '~' : '/';
				ptr++;
			}
			if (n + 1 >= sizeof(tok))
				return NULL;
			tok[n++] = c;
		}
		tok[n] = '\0';
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		} else if (cJSON_IsArray(cur)) {
			char *end;
			unsigned long idx = strtoul(tok, &end, 10);
			if (!n || *end || (n > 1 && tok[0] == '0') || idx > INT32_MAX)
				return NULL;
			cur = cJSON_GetArrayItem(cur, (int)idx);
		} else {
			return NULL;
		}
		if (!cur)
			return NULL;
	}
	return cur;
}

/* Append S to the NUL-terminated BUF of CAP bytes, cutting it if needed. */
static void append(char *buf, size_t cap, const char *s)
{
	size_t len = strlen(buf), n = strlen(s);
	if (len + 1 >= cap)
		return;
	if (n > cap - len - 1)
		n = cap - len - 1;
	memcpy(buf + len, s, n);
	buf[len + n] = '\0';
}

/* ---- compiling ---------------------------------------------------------- */

static int bad_schema(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_schema(const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cr_error_set(CR_EINVALID_INPUT, "schema %s: %s", where, msg);
}

static int compile(cr_schema *s, const cJSON *src, const char *where, struct node **out);

static int sub_compile(cr_schema *s, const cJSON *src, const char *where, const char *kw,
		       const char *key, struct node **out)
{
	char sub[512];
	if (key)
		snprintf(sub, sizeof(sub), "%s/%s/%s", where, kw, key);
	else
		snprintf(sub, sizeof(sub), "%s/%s", where, kw);
	return compile(s, src, sub, out);
}

static int compile_list(cr_schema *s, const cJSON *arr, const char *where, const char *kw,
			struct list *out)
{
	char idx[32];
	int n = cJSON_GetArraySize(arr);
	if (!cJSON_IsArray(arr) || n == 0)
		return bad_schema(where, "\"%s\" must be a non-empty array of schemas", kw);
	out->v = calloc((size_t)n, sizeof(*out->v));
	if (!out->v)
		return cr_error_set(CR_EINTERNAL, "out of memory compiling a schema");
	for (const cJSON *c = arr->child; c; c = c->next) {
		snprintf(idx, sizeof(idx), "%zu", out->n);
		int rc = sub_compile(s, c, where, kw, idx, &out->v[out->n]);
		if (rc)
			return rc;
		out->n++;
	}
	return 0;
}

static int get_count(const cJSON *v, const char *where, const char *kw, long long *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
	    floor(v->valuedouble) != v->valuedouble || v->valuedouble > 9007199254740992.0)
		return bad_schema(where, "\"%s\" must be a non-negative integer", kw);
	*out = (long long)v->valuedouble;
	return 0;
}

static int get_number(const cJSON *v, const char *where, const char *kw, double *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return bad_schema(where, "\"%s\" must be a number", kw);
	*out = v->valuedouble;
	return 0;
}

static int compile_type(struct node *n, const cJSON *v, const char *where)
{
	const cJSON *one = v;
	if (cJSON_IsArray(v)) {
		one = v->child;
		if (!one)
			return bad_schema(where, "\"type\" must not be empty");
	}
	for (; one; one = cJSON_IsArray(v) ? one->next : NULL) {
		size_t i;
		if (!cJSON_IsString(one))
			return bad_schema(where, "\"type\" must be a string or an array of strings");
		for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
			if (!strcmp(one->valuestring, type_names[i].name))
				break;
		if (i == sizeof(type_names) / sizeof(type_names[0]))
			return bad_schema(where, "unknown type \"%.*s\"", QUOTE_MAX, one->valuestring);
		n->types |= type_names[i].bit;
		if (n->types_text[0])
			append(n->types_text, sizeof(n->types_text), " or ");
		append(n->types_text, sizeof(n->types_text), type_names[i].name);
	}
	return 0;
}

static int compile_pattern(struct node *n, const cJSON *v, const char *where)
{
	int err;
	PCRE2_SIZE off;
	if (!cJSON_IsString(v))
		return bad_schema(where, "\"pattern\" must be a string");
	/* ECMA-262 flavour: `$` only at the very end, \xhh and \uhhhh escapes,
	 * [] never matches and [^] matches anything. */
	n->re = pcre2_compile((PCRE2_SPTR)v->valuestring, PCRE2_ZERO_TERMINATED,
			      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX |
				      PCRE2_ALLOW_EMPTY_CLASS,
			      &err, &off, NULL);
	if (!n->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof(msg));
		return bad_schema(where, "pattern does not compile at offset %zu: %s", (size_t)off,
				  (const char *)msg);
	}
	pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE); /* optional: interpreted otherwise */
	n->pattern = v->valuestring;
	return 0;
}

static int compile_object(cr_schema *s, struct node *n, const cJSON *src, const char *where)
{
	int rc = 0;
	for (const cJSON *kw = src->child; kw && !rc; kw = kw->next) {
		const char *k = kw->string;
		if (!strcmp(k, "type")) {
			rc = compile_type(n, kw, where);
		} else if (!strcmp(k, "const")) {
			n->konst = kw;
		} else if (!strcmp(k, "enum")) {
			if (!cJSON_IsArray(kw))
				rc = bad_schema(where, "\"enum\" must be an array");
			n->enums = kw;
		} else if (!strcmp(k, "properties")) {
			size_t cnt = 0;
			if (!cJSON_IsObject(kw))
				return bad_schema(where, "\"properties\" must be an object");
			for (const cJSON *p = kw->child; p; p = p->next)
				cnt++;
			n->props = calloc(cnt ? cnt : 1, sizeof(*n->props));
			if (!n->props)
				return cr_error_set(CR_EINTERNAL, "out of memory compiling a schema");
			for (const cJSON *p = kw->child; p && !rc; p = p->next) {
				n->props[n->nprops].name = p->string;
				rc = sub_compile(s, p, where, k, p->string, &n->props[n->nprops].schema);
				n->nprops++;
			}
		} else if (!strcmp(k, "additionalProperties")) {
			rc = sub_compile(s, kw, where, k, NULL, &n->addl);
		} else if (!strcmp(k, "required")) {
			if (!cJSON_IsArray(kw))
				return bad_schema(where, "\"required\" must be an array of strings");
			for (const cJSON *r = kw->child; r; r = r->next)
				if (!cJSON_IsString(r))
					return bad_schema(where, "\"required\" must be an array of strings");
			n->required = kw;
		} else if (!strcmp(k, "maxProperties")) {
			rc = get_count(kw, where, k, &n->max_props);
		} else if (!strcmp(k, "minProperties")) {
			rc = get_count(kw, where, k, &n->min_props);
		} else if (!strcmp(k, "items")) {
			rc = sub_compile(s, kw, where, k, NULL, &n->items);
		} else if (!strcmp(k, "prefixItems")) {
			rc = compile_list(s, kw, where, k, &n->prefix);
		} else if (!strcmp(k, "minItems")) {
			rc = get_count(kw, where, k, &n->min_items);
		} else if (!strcmp(k, "maxItems")) {
			rc = get_count(kw, where, k, &n->max_items);
		} else if (!strcmp(k, "uniqueItems")) {
			if (!cJSON_IsBool(kw))
				rc = bad_schema(where, "\"uniqueItems\" must be a boolean");
			n->unique = cJSON_IsTrue(kw);
		} else if (!strcmp(k, "minLength")) {
			rc = get_count(kw, where, k, &n->min_len);
		} else if (!strcmp(k, "maxLength")) {
			rc = get_count(kw, where, k, &n->max_len);
		} else if (!strcmp(k, "pattern")) {
			rc = compile_pattern(n, kw, where);
		} else if (!strcmp(k, "minimum")) {
			rc = get_number(kw, where, k, &n->minimum);
			n->num |= N_MIN;
		} else if (!strcmp(k, "maximum")) {
			rc = get_number(kw, where, k, &n->maximum);
			n->num |= N_MAX;
		} else if (!strcmp(k, "exclusiveMinimum")) {
			rc = get_number(kw, where, k, &n->xmin);
			n->num |= N_XMIN;
		} else if (!strcmp(k, "exclusiveMaximum")) {
			rc = get_number(kw, where, k, &n->xmax);
			n->num |= N_XMAX;
		} else if (!strcmp(k, "multipleOf")) {
			rc = get_number(kw, where, k, &n->mult);
			if (!rc && n->mult <= 0)
				rc = bad_schema(where, "\"multipleOf\" must be positive");
			n->num |= N_MULT;
		} else if (!strcmp(k, "$ref")) {
			const cJSON *target;
			if (!cJSON_IsString(kw))
				return bad_schema(where, "\"$ref\" must be a string");
			target = kw->valuestring[0] == '#' ? resolve_pointer(s->doc, kw->valuestring)
							   : NULL;
			if (!target)
				return bad_schema(where, "cannot resolve $ref \"%.*s\"", 2 * QUOTE_MAX,
						  kw->valuestring);
			rc = compile(s, target, kw->valuestring, &n->ref);
		} else if (!strcmp(k, "allOf")) {
			rc = compile_list(s, kw, where, k, &n->all_of);
		} else if (!strcmp(k, "anyOf")) {
			rc = compile_list(s, kw, where, k, &n->any_of);
		} else if (!strcmp(k, "oneOf")) {
			rc = compile_list(s, kw, where, k, &n->one_of);
		} else if (!strcmp(k, "not")) {
			rc = sub_compile(s, kw, where, k, NULL, &n->not_);
		} else if (!strcmp(k, "if")) {
			rc = sub_compile(s, kw, where, k, NULL, &n->if_);
		} else if (!strcmp(k, "then")) {
			rc = sub_compile(s, kw, where, k, NULL, &n->then_);
		} else if (!strcmp(k, "else")) {
			rc = sub_compile(s, kw, where, k, NULL, &n->else_);
		} else if (!strcmp(k, "$defs") || !strcmp(k, "definitions")) {
			/* Compiled so that a broken definition fails at load, used or not. */
			if (!cJSON_IsObject(kw))
				return bad_schema(where, "\"%s\" must be an object", k);
			for (const cJSON *d = kw->child; d && !rc; d = d->next) {
				struct node *unused;
				rc = sub_compile(s, d, where, k, d->string, &unused);
			}
		} else {
			for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
				if (!strcmp(k, unsupported[i]))
					return bad_schema(where, "keyword \"%s\" is not supported", k);
			/* Anything else is an annotation: description, format, examples... */
		}
	}
	return rc;
}

static int compile(cr_schema *s, const cJSON *src, const char *where, struct node **out)
{
	struct node *n = map_get(s, src);
	if (n) {
		*out = n; /* already compiled, or being compiled higher up a $ref cycle */
		return 0;
	}
	if (!cJSON_IsObject(src) && !cJSON_IsBool(src))
		return bad_schema(where, "a schema must be an object or a boolean");
	n = calloc(1, sizeof(*n));
	if (!n || map_put(s, src, n)) {
		free(n);
		return cr_error_set(CR_EINTERNAL, "out of memory compiling a schema");
	}
	n->min_props = n->max_props = n->min_items = n->max_items = -1;
	n->min_len = n->max_len = -1;
	*out = n;
	if (cJSON_IsBool(src)) {
		n->is_bool = 1;
		n->bool_value = cJSON_IsTrue(src);
		return 0;
	}
	return compile_object(s, n, src, where);
}

int cr_schema_from_json(cr_schema **out, cJSON *doc, const char *root_path)
{
	cr_schema *s = NULL;
	const cJSON *root;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		cJSON_Delete(doc);
		return cr_error_set(CR_EINTERNAL, "out of memory loading a schema");
	}
	s->doc = doc;
	if (!doc) {
		rc = cr_error_set(CR_EINVALID_ARGUMENT, "schema: no document");
		goto cleanup;
	}
	root = root_path && *root_path ? resolve_pointer(doc, root_path) : doc;
	if (!root) {
		rc = cr_error_set(CR_EINVALID_INPUT, "schema: no schema at \"%s\"", root_path);
		goto cleanup;
	}
	rc = compile(s, root, root_path && *root_path ? root_path : "#", &s->root);
	if (rc)
		goto cleanup;
	*out = s;
	s = NULL;
cleanup:
	cr_schema_free(s);
	return rc;
}

int cr_schema_load(cr_schema **out, const char *name)
{
	const struct cr_embedded_file *f = cr_embedded_find(name);
	cJSON *doc;
	int rc;

	*out = NULL;
	if (!f)
		return cr_error_set(CR_EINTERNAL, "schema %s is not built in", name);
	rc = cr_json_parse(&doc, f->data, f->size, name);
	if (rc)
		return rc;
	return cr_schema_from_json(out, doc, "");
}

/* ---- validating --------------------------------------------------------- */

/* Where we are in the instance: a chain of frames on the C stack. */
struct path {
	const struct path *up;
	const char *key; /* member name, or NULL for an array index */
	size_t index;
};

struct verr {
	int set;
	int is_type;        /* a type mismatch: anyOf may merge these */
	unsigned depth;     /* of the location: the deeper, the more specific */
	unsigned long progress; /* subschemas passed before failing: how far it got */
	char loc[256];
	char msg[512];
	char expected[96];  /* for type mismatches */
	const char *got;
};

struct vctx {
	pcre2_match_data *md;
	int quiet; /* > 0: inside if/not or a trial of anyOf/oneOf: no messages */
	unsigned depth;
	unsigned long progress; /* subschemas passed so far */
	struct verr err;
};

static unsigned path_depth(const struct path *p)
{
	unsigned d = 0;
	for (; p; p = p->up)
		d++;
	return d;
}

static int plain_key(const char *k)
{
	if (!*k)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_' || *k == '-' || *k == '$' || *k == '@'))
			return 0;
	return 1;
}

static void format_loc(char *out, size_t cap, const struct path *p)
{
	const struct path *seg[64];
	size_t n = 0, len = 0;
	int cut = 0;
	if (!p) {
		snprintf(out, cap, "(document)");
		return;
	}
	for (; p; p = p->up) {
		if (n == sizeof(seg) / sizeof(seg[0])) {
			cut = 1; /* keep the innermost segments */
			memmove(seg, seg + 1, (n - 1) * sizeof(*seg));
			n--;
		}
		seg[n++] = p;
	}
	out[0] = '\0';
	if (cut)
		len = (size_t)snprintf(out, cap, "...");
	while (n-- > 0 && len < cap) {
		const struct path *s = seg[n];
		int w;
		if (!s->key)
			w = snprintf(out + len, cap - len, "[%zu]", s->index);
		else if (plain_key(s->key))
			w = snprintf(out + len, cap - len, "%s%s", len ? "." : "", s->key);
		else
			w = snprintf(out + len, cap - len, "[\"%.*s\"]", QUOTE_MAX, s->key);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static int fail(struct vctx *c, const struct path *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct vctx *c, const struct path *p, const char *fmt, ...)
{
	va_list ap;
	if (c->quiet)
		return 1;
	c->err.set = 1;
	c->err.is_type = 0;
	c->err.depth = path_depth(p);
	c->err.progress = c->progress;
	format_loc(c->err.loc, sizeof(c->err.loc), p);
	va_start(ap, fmt);
	vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
	va_end(ap);
	return 1;
}

static int fail_type(struct vctx *c, const struct path *p, const char *expected, const char *got)
{
	if (c->quiet)
		return 1;
	fail(c, p, "expected %s, got %s", expected, got);
	c->err.is_type = 1;
	snprintf(c->err.expected, sizeof(c->err.expected), "%s", expected);
	c->err.got = got;
	return 1;
}

static unsigned type_of(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return T_NULL;
	if (cJSON_IsBool(v))
		return T_BOOLEAN;
	if (cJSON_IsObject(v))
		return T_OBJECT;
	if (cJSON_IsArray(v))
		return T_ARRAY;
	if (cJSON_IsString(v))
		return T_STRING;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		return T_NUMBER | (isfinite(d) && floor(d) == d ? T_INTEGER : 0);
	}
	return 0;
}

static const char *type_name(unsigned t)
{
	if (t & T_NUMBER)
		return "number";
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (t & type_names[i].bit)
			return type_names[i].name;
	return "invalid value";
}

static void num_text(char *out, size_t cap, double d)
{
	if (floor(d) == d && fabs(d) <= 9007199254740992.0)
		snprintf(out, cap, "%lld", (long long)d);
	else
		snprintf(out, cap, "%.17g", d);
}

/* S cut to about MAX bytes on a UTF-8 boundary, "..." marking the cut. */
static void quote_text(char *out, size_t cap, const char *s, size_t max)
{
	size_t n = strlen(s);
	const char *more = "";
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		more = "...";
	}
	snprintf(out, cap, "%.*s%s", (int)n, s, more);
}

/* The canonical JSON of V, cut the same way. */
static void value_text(char *out, size_t cap, const cJSON *v, size_t max)
{
	char *s = cr_json_canonical(v, NULL);
	quote_text(out, cap, s ? s : "?", max);
	free(s);
}

static size_t utf8_length(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int validate(struct vctx *c, const struct node *n, const cJSON *v, const struct path *p);

static int check_string(struct vctx *c, const struct node *n, const cJSON *v,
			const struct path *p)
{
	const char *s = v->valuestring;
	if (n->min_len >= 0 || n->max_len >= 0) {
		size_t len = utf8_length(s);
		if (n->min_len >= 0 && len < (unsigned long long)n->min_len)
			return fail(c, p, "must be at least %lld character%s long (is %zu)",
				    n->min_len, n->min_len == 1 ? "" : "s", len);
		if (n->max_len >= 0 && len > (unsigned long long)n->max_len)
			return fail(c, p, "must be at most %lld character%s long (is %zu)",
				    n->max_len, n->max_len == 1 ? "" : "s", len);
	}
	if (n->re) {
		int rc = pcre2_match(n->re, (PCRE2_SPTR)s, strlen(s), 0, 0, c->md, NULL);
		if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
			rc = pcre2_match(n->re, (PCRE2_SPTR)s, strlen(s), 0, PCRE2_NO_JIT, c->md, NULL);
		if (rc < 0) {
			char pat[QUOTE_MAX * 2];
			quote_text(pat, sizeof(pat), n->pattern, QUOTE_MAX);
			if (rc == PCRE2_ERROR_NOMATCH)
				return fail(c, p, "does not match pattern %s", pat);
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(rc, msg, sizeof(msg));
			return fail(c, p, "cannot be matched against pattern %s: %s", pat,
				    (const char *)msg);
		}
	}
	return 0;
}

static int check_number(struct vctx *c, const struct node *n, const cJSON *v,
			const struct path *p)
{
	double d = v->valuedouble;
	char lim[40];
	if ((n->num & N_MIN) && !(d >= n->minimum)) {
		num_text(lim, sizeof(lim), n->minimum);
		return fail(c, p, "must be >= %s", lim);
	}
	if ((n->num & N_MAX) && !(d <= n->maximum)) {
		num_text(lim, sizeof(lim), n->maximum);
		return fail(c, p, "must be <= %s", lim);
	}
	if ((n->num & N_XMIN) && !(d > n->xmin)) {
		num_text(lim, sizeof(lim), n->xmin);
		return fail(c, p, "must be > %s", lim);
	}
	if ((n->num & N_XMAX) && !(d < n->xmax)) {
		num_text(lim, sizeof(lim), n->xmax);
		return fail(c, p, "must be < %s", lim);
	}
	if (n->num & N_MULT) {
		double q = d / n->mult;
		if (!isfinite(q) || floor(q) != q) {
			num_text(lim, sizeof(lim), n->mult);
			return fail(c, p, "must be a multiple of %s", lim);
		}
	}
	return 0;
}

static int check_object(struct vctx *c, const struct node *n, const cJSON *v,
			const struct path *p)
{
	size_t count = 0;
	for (const cJSON *m = v->child; m; m = m->next) {
		const struct node *sub = NULL;
		count++;
		for (size_t i = 0; i < n->nprops; i++)
			if (!strcmp(n->props[i].name, m->string)) {
				sub = n->props[i].schema;
				break;
			}
		if (!sub) {
			sub = n->addl;
			if (!sub)
				continue;
			if (sub->is_bool && !sub->bool_value)
				return fail(c, p, "unknown field \"%.*s\"", QUOTE_MAX, m->string);
		}
		struct path mp = {p, m->string, 0};
		if (validate(c, sub, m, &mp))
			return 1;
	}
	if (n->required)
		for (const cJSON *r = n->required->child; r; r = r->next)
			if (!cJSON_GetObjectItemCaseSensitive(v, r->valuestring))
				return fail(c, p, "missing required field \"%.*s\"", QUOTE_MAX,
					    r->valuestring);
	if (n->max_props >= 0 && count > (unsigned long long)n->max_props)
		return fail(c, p, "must have at most %lld field%s", n->max_props,
			    n->max_props == 1 ? "" : "s");
	if (n->min_props >= 0 && count < (unsigned long long)n->min_props)
		return fail(c, p, "must have at least %lld field%s", n->min_props,
			    n->min_props == 1 ? "" : "s");
	return 0;
}

struct keyed {
	const char *s;
	size_t i;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int r = strcmp(x->s, y->s);
	return r ? r : (x->i > y->i) - (x->i < y->i);
}

/* uniqueItems: sort when every item is a string, else compare pairs. */
static int check_unique(struct vctx *c, const cJSON *v, size_t count, const struct path *p)
{
	int all_strings = 1;
	for (const cJSON *a = v->child; a && all_strings; a = a->next)
		all_strings = cJSON_IsString(a);
	if (all_strings && count > 1) {
		struct keyed *k = malloc(count * sizeof(*k));
		size_t i = 0;
		int rc = 0;
		if (!k)
			return fail(c, p, "out of memory checking uniqueItems");
		for (const cJSON *a = v->child; a; a = a->next, i++)
			k[i] = (struct keyed){a->valuestring, i};
		qsort(k, count, sizeof(*k), keyed_cmp);
		for (i = 1; i < count && !rc; i++)
			if (!strcmp(k[i - 1].s, k[i].s))
				rc = fail(c, p, "items %zu and %zu are equal", k[i - 1].i, k[i].i);
		free(k);
		return rc;
	}
	size_t i = 0;
	for (const cJSON *a = v->child; a; a = a->next, i++) {
		size_t j = i + 1;
		for (const cJSON *b = a->next; b; b = b->next, j++)
			if (cJSON_Compare(a, b, 1))
				return fail(c, p, "items %zu and %zu are equal", i, j);
	}
	return 0;
}

static int check_array(struct vctx *c, const struct node *n, const cJSON *v,
		       const struct path *p)
{
	size_t count = 0;
	for (const cJSON *a = v->child; a; a = a->next)
		count++;
	if (n->min_items >= 0 && count < (unsigned long long)n->min_items)
		return fail(c, p, "must have at least %lld item%s", n->min_items,
			    n->min_items == 1 ? "" : "s");
	if (n->max_items >= 0 && count > (unsigned long long)n->max_items)
		return fail(c, p, "must have at most %lld item%s (has %zu)", n->max_items,
			    n->max_items == 1 ? "" : "s", count);
	if (n->unique && check_unique(c, v, count, p))
		return 1;
	size_t i = 0;
	for (const cJSON *a = v->child; a; a = a->next, i++) {
		const struct node *sub = i < n->prefix.n ? n->prefix.v[i] : n->items;
		struct path ip = {p, NULL, i};
		if (!sub)
			continue;
		if (sub->is_bool && !sub->bool_value)
			return fail(c, &ip, "unexpected item (at most %zu allowed)", i);
		if (validate(c, sub, a, &ip))
			return 1;
	}
	return 0;
}

/* anyOf (ONE = 0) or oneOf (ONE = 1). Branches are tried quietly; only when
 * all fail are they replayed for messages, and the most specific one kept:
 * the deepest location, then the branch that got furthest (passed the most
 * subschemas), or one merged type error ("expected string or null"). */
static int check_alternatives(struct vctx *c, const struct list *alts, const cJSON *v,
			      const struct path *p, int one)
{
	size_t passed = 0, first = 0, second = 0;
	c->quiet++;
	for (size_t i = 0; i < alts->n && passed < (one ? 2u : 1u); i++)
		if (!validate(c, alts->v[i], v, p)) {
			if (passed++ == 0)
				first = i;
			else
				second = i;
		}
	c->quiet--;
	if (one ? passed == 1 : passed > 0)
		return 0;
	if (c->quiet)
		return 1;
	if (passed > 1)
		return fail(c, p, "matches more than one alternative of oneOf (#%zu and #%zu)",
			    first + 1, second + 1);

	struct verr best = {0};
	char expected[sizeof(best.expected)] = "";
	unsigned here = path_depth(p);
	int all_types = 1;
	unsigned long start = c->progress;
	for (size_t i = 0; i < alts->n; i++) {
		c->err.set = 0;
		c->progress = start;
		validate(c, alts->v[i], v, p);
		if (!c->err.set)
			continue;
		if (c->err.is_type && c->err.depth == here) {
			if (expected[0])
				append(expected, sizeof(expected), " or ");
			append(expected, sizeof(expected), c->err.expected);
		} else {
			all_types = 0;
		}
		if (!best.set || c->err.depth > best.depth ||
		    (c->err.depth == best.depth && c->err.progress > best.progress))
			best = c->err;
	}
	if (best.set && all_types && alts->n > 1)
		return fail_type(c, p, expected, best.got);
	if (best.set) {
		c->err = best;
		return 1;
	}
	return fail(c, p, "matches none of the alternatives of %s", one ? "oneOf" : "anyOf");
}

static int validate_node(struct vctx *c, const struct node *n, const cJSON *v,
			 const struct path *p)
{
	unsigned t = type_of(v);
	if (n->types && !(n->types & t))
		return fail_type(c, p, n->types_text, type_name(t));
	if (n->konst && !cJSON_Compare(n->konst, v, 1)) {
		char want[QUOTE_MAX * 2];
		value_text(want, sizeof(want), n->konst, QUOTE_MAX);
		return fail(c, p, "must be %s", want);
	}
	if (n->enums) {
		const cJSON *e;
		for (e = n->enums->child; e; e = e->next)
			if (cJSON_Compare(e, v, 1))
				break;
		if (!e) {
			char want[QUOTE_MAX * 4];
			value_text(want, sizeof(want), n->enums, QUOTE_MAX * 2);
			return fail(c, p, "must be one of %s", want);
		}
	}
	if ((t & T_STRING) && check_string(c, n, v, p))
		return 1;
	if ((t & T_NUMBER) && n->num && check_number(c, n, v, p))
		return 1;
	if ((t & T_OBJECT) && check_object(c, n, v, p))
		return 1;
	if ((t & T_ARRAY) && check_array(c, n, v, p))
		return 1;
	if (n->ref && validate(c, n->ref, v, p))
		return 1;
	for (size_t i = 0; i < n->all_of.n; i++)
		if (validate(c, n->all_of.v[i], v, p))
			return 1;
	if (n->any_of.n && check_alternatives(c, &n->any_of, v, p, 0))
		return 1;
	if (n->one_of.n && check_alternatives(c, &n->one_of, v, p, 1))
		return 1;
	if (n->not_) {
		c->quiet++;
		int r = validate(c, n->not_, v, p);
		c->quiet--;
		if (!r)
			return fail(c, p, "must not match the schema of \"not\"");
	}
	if (n->if_) {
		c->quiet++;
		int r = validate(c, n->if_, v, p);
		c->quiet--;
		const struct node *branch = r ? n->else_ : n->then_;
		if (branch && validate(c, branch, v, p))
			return 1;
	}
	return 0;
}

static int validate(struct vctx *c, const struct node *n, const cJSON *v, const struct path *p)
{
	if (n->is_bool)
		return n->bool_value ? 0 : fail(c, p, "not allowed here");
	if (c->depth >= MAX_EVAL_DEPTH)
		return fail(c, p, "schema nests deeper than %d levels (a $ref cycle?)",
			    MAX_EVAL_DEPTH);
	c->depth++;
	int r = validate_node(c, n, v, p);
	c->depth--;
	if (!r)
		c->progress++;
	return r;
}

int cr_schema_validate(const cr_schema *s, const cJSON *doc, const char *what)
{
	struct vctx c = {0};
	int rc = 0;

	if (!s || !doc)
		return cr_error_set(CR_EINVALID_ARGUMENT, "%s: nothing to validate",
				    what ? what : "schema");
	c.md = pcre2_match_data_create(1, NULL);
	if (!c.md)
		return cr_error_set(CR_EINTERNAL, "out of memory validating %s",
				    what ? what : "a document");
	if (validate(&c, s->root, doc, NULL)) {
		if (!c.err.set)
			snprintf(c.err.loc, sizeof(c.err.loc), "(document)");
		rc = cr_error_set(CR_EINVALID_INPUT, "%s%s%s: %s", what ? what : "",
				  what ? ": " : "", c.err.loc,
				  c.err.set ? c.err.msg : "does not match the schema");
	}
	pcre2_match_data_free(c.md);
	return rc;
}
