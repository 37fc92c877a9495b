/* JSON Schema validation against a compiled schema (schema.c): one walk of
 * the instance along the graph of nodes, the most specific error kept. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "util/error.h"
#include "util/json.h"
#include "util/schema_internal.h"

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
	for (size_t i = 0; i < sizeof(cr_schema_type_names) / sizeof(cr_schema_type_names[0]); i++)
		if (t & cr_schema_type_names[i].bit)
			return cr_schema_type_names[i].name;
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
				cr_schema_append(expected, sizeof(expected), " or ");
			cr_schema_append(expected, sizeof(expected), c->err.expected);
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
