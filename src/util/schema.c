/*
 * JSON Schema 2020-12, the subset our schemas use. A schema document is
 * compiled once into a graph of nodes (one per schema object reachable from
 * the root, $refs resolved to nodes, patterns compiled with PCRE2), so that
 * validation (schema_validate.c) never looks a keyword up by name and never
 * compiles a regex.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "util/embedded.h"
#include "util/error.h"
#include "util/json.h"
#include "util/schema_internal.h"

const struct cr_schema_type_name cr_schema_type_names[7] = {
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
		for (i = 0; i < sizeof(cr_schema_type_names) / sizeof(cr_schema_type_names[0]); i++)
			if (!strcmp(one->valuestring, cr_schema_type_names[i].name))
				break;
		if (i == sizeof(cr_schema_type_names) / sizeof(cr_schema_type_names[0]))
			return bad_schema(where, "unknown type \"%.*s\"", QUOTE_MAX, one->valuestring);
		n->types |= cr_schema_type_names[i].bit;
		if (n->types_text[0])
			cr_schema_append(n->types_text, sizeof(n->types_text), " or ");
		cr_schema_append(n->types_text, sizeof(n->types_text), cr_schema_type_names[i].name);
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
