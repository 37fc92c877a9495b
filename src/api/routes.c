/* The order of checks of every request (the contract's "Requests"): token
 * (401), role (403), size (413), JSON syntax and parameters (400), body
 * schema (422); the handler's facade call does the rest (404, 409). */
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"
#include "domain/ids.h"
#include "util/error.h"
#include "util/json.h"
#include "util/mem.h"

/* Match URL (below the base) against PATTERN; the {} segments go into
 * R->params, raw. */
static bool match(const char *pattern, const char *url, cr_api_req *r, bool *bad_param)
{
	unsigned np = 0;

	while (*pattern || *url) {
		if (*pattern != '/' || *url != '/')
			return false;
		pattern++;
		url++;
		const char *pe = strchrnul(pattern, '/'), *ue = strchrnul(url, '/');
		if (pe - pattern == 2 && !strncmp(pattern, "{}", 2)) {
			if (ue == url)
				return false;
			if (np >= CR_API_PARAMS_MAX)
				return false;
			if (!cr_api_unescape(url, (size_t)(ue - url), r->params[np], sizeof(r->params[np])))
				*bad_param = true;
			np++;
		} else if (pe - pattern != ue - url || strncmp(pattern, url, (size_t)(pe - pattern))) {
			return false;
		}
		pattern = pe;
		url = ue;
	}
	return true;
}

/* The route for METHOD and URL; *PATH_KNOWN when some route has the path. */
static const cr_api_route *find_route(cr_api_req *r, const char *url, bool *bad_param)
{
	const cr_api_route *found = NULL;

	for (const cr_api_route *rt = cr_api_routes; rt->pattern && !found; rt++) {
		bool bad = false;

		if (rt->method && strcmp(rt->method, r->method))
			continue;
		memset(r->params, 0, sizeof(r->params));
		if (match(rt->pattern, url, r, &bad)) {
			found = rt;
			*bad_param = bad;
		}
	}
	return found;
}

/* Who the request is: 0, or it is answered (401/403). */
static int authenticate(cr_api_req *r, cr_api_role need)
{
	cr_api_srv *s = r->srv;
	const char *h;

	if (!s->auth) {
		/* Without tokens: loopback only, and no browser. */
		if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN)) {
			cr_api_reply_error(r, CR_EFORBIDDEN,
					   "a request with an Origin header is refused by a server without tokens", false);
			return -1;
		}
		r->actor = s->actor;
		return 0;
	}
	if (need == CR_ROLE_NONE)
		return 0;
	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		cr_api_reply_error(r, CR_EUNAUTHENTICATED, "no bearer token: send Authorization: Bearer <token>", false);
		return -1;
	}
	const cr_api_token *t = cr_api_tokens_find(&s->tokens, h + 7, strlen(h + 7));
	if (!t) {
		cr_api_reply_error(r, CR_EUNAUTHENTICATED, "unknown bearer token", false);
		return -1;
	}
	r->actor = t->actor;
	if (t->role < need) {
		char msg[300];
		snprintf(msg, sizeof(msg), "role %s may not do this: it needs %s", cr_api_role_name(t->role),
			 cr_api_role_name(need));
		cr_api_reply_error(r, CR_EFORBIDDEN, msg, false);
		return -1;
	}
	return 0;
}

/* The first call: headers only. */
static enum MHD_Result begin(cr_api_req *r, const char *url)
{
	size_t base = strlen(CR_API_BASE);
	bool bad_param = false;
	const char *cl;

	r->route = NULL;
	if (!strncmp(url, CR_API_BASE, base) && (url[base] == '/' || url[base] == '\0'))
		r->route = find_route(r, url + base, &bad_param);
	if (r->route && r->route->role == CR_ROLE_NONE && !r->route->fn)
		return cr_api_reply_error(r, CR_ELEGACY_ENDPOINT_REMOVED,
					  "the /checks routes are removed: start a run with POST "
					  "/candidates/{candidate_id}/compliance-runs",
					  false);
	if (authenticate(r, r->route ? r->route->role : CR_ROLE_VIEWER) < 0)
		return MHD_YES;
	if (!r->route)
		return cr_api_reply_error(r, CR_ENOT_FOUND, "no such route (or not with this method)", false);
	if (bad_param)
		return cr_api_reply_error(r, CR_EINVALID_ARGUMENT, "invalid path parameter: a bad %-escape or a "
					  "control character", false);
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);
		if (*end == '\0' && n > CR_API_BODY_MAX) {
			r->too_large = true;
			return cr_api_reply_error(r, CR_EPAYLOAD_TOO_LARGE, "request body over 10 MiB (10485760 bytes)",
						  false);
		}
	}
	return MHD_YES;
}

/* Every query parameter is one the route takes, given once. */
struct qcheck {
	const cr_api_route *rt;
	const char *bad;
	const char *seen[8];
	unsigned n;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct qcheck *q = cls;
	bool known = false;

	(void)kind;
	(void)value;
	for (const char *const *k = q->rt->query; k && *k; k++)
		known |= !strcmp(*k, key);
	for (unsigned i = 0; i < q->n; i++)
		if (!strcmp(q->seen[i], key))
			known = false;
	if (!known || q->n >= 8) {
		q->bad = key;
		return MHD_NO;
	}
	q->seen[q->n++] = key;
	return MHD_YES;
}

/* The path parameters have the forms of their ids. */
static const char *param_invalid(const char *pattern, const cr_api_req *r)
{
	unsigned i = 0;
	uint64_t n;

	for (const char *p = strstr(pattern, "{}"); p; p = strstr(p + 2, "{}"), i++) {
		const char *v = r->params[i];
		const char *why = NULL;

		if (!strncmp(pattern, "/candidates/", 12))
			why = cr_candidate_id_invalid(v);
		else if (!strncmp(pattern, "/manifests/", 11))
			why = cr_id_parse(v, CR_ID_MANIFEST, &n) ? NULL : "not a manifest id (man-NNN)";
		else if (!strncmp(pattern, "/compliance-runs/", 17))
			why = cr_id_parse(v, CR_ID_RUN, &n) ? NULL : "not a run id (run-NNN)";
		else if (!strncmp(pattern, "/tasks/", 7))
			why = cr_task_id_invalid(v);
		if (why)
			return why;
	}
	return NULL;
}

/* The answer's key: the path and the query as sent. */
struct keyb {
	char *p;
	size_t n, cap;
};

static enum MHD_Result key_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct keyb *b = cls;
	int k = snprintf(b->p + b->n, b->cap - b->n, "%c%s=%s", b->n && strchr(b->p, '?') ? '&' : '?', key,
			 value ? value : "");

	(void)kind;
	if (k < 0 || (size_t)k >= b->cap - b->n) {
		b->n = b->cap; /* too long: not kept */
		return MHD_NO;
	}
	b->n += (size_t)k;
	return MHD_YES;
}

static void make_key(cr_api_req *r)
{
	struct keyb b = {r->key, 0, sizeof(r->key)};
	int k = snprintf(r->key, sizeof(r->key), "%s", r->path);

	b.n = k > 0 && (size_t)k < sizeof(r->key) ? (size_t)k : sizeof(r->key);
	if (b.n < b.cap)
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, key_iter, &b);
	if (b.n >= b.cap)
		r->key[0] = '\0';
}

/* The last call: the whole request is in. */
static enum MHD_Result finish(cr_api_req *r)
{
	const cr_api_route *rt = r->route;
	struct qcheck q = {rt, NULL, {0}, 0};
	const char *why;
	cr_facade *f;
	char msg[400];
	int rc;

	if (r->too_large)
		return cr_api_reply_error(r, CR_EPAYLOAD_TOO_LARGE, "request body over 10 MiB (10485760 bytes)", false);
	if ((why = param_invalid(rt->pattern, r))) {
		snprintf(msg, sizeof(msg), "invalid path parameter: %s", why);
		return cr_api_reply_error(r, CR_EINVALID_ARGUMENT, msg, false);
	}
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_iter, &q);
	if (q.bad) {
		snprintf(msg, sizeof(msg), "unknown or repeated query parameter %.80s", q.bad);
		return cr_api_reply_error(r, CR_EINVALID_ARGUMENT, msg, false);
	}
	if (rt->body != CR_BODY_NONE) {
		if (r->blen == 0 && rt->body == CR_BODY_MANIFEST) {
			r->json = cJSON_CreateObject();
		} else if ((rc = cr_json_parse(&r->json, r->body ? r->body : "", r->blen, "request body")) < 0) {
			return cr_api_reply_error(r, CR_EINVALID_ARGUMENT, cr_error_last()->message, false);
		}
		if (!r->json)
			return cr_api_reply_error(r, CR_EINTERNAL, "out of memory", false);
		if ((rc = cr_schema_validate(r->srv->body_schema[rt->body], r->json, "request body")) < 0)
			return cr_api_reply_error(r, CR_EINVALID_INPUT, cr_error_last()->message, false);
		if (!r->actor || !r->actor[0])
			return cr_api_reply_error(r, CR_EFORBIDDEN,
						  "this server has no actor to write as: start it with --actor A, set "
						  "git config user.email, or use --tokens",
						  false);
	}
	cr_api_thread *th = cr_api_thread_get(r->srv);
	if (!th)
		return cr_api_reply_last(r);
	f = th->f;
	cr_error_clear();
	if (rt->cache) {
		const char *body;
		size_t len;

		if (cr_facade_ledger_tip(f, r->tip) < 0)
			return cr_api_reply_last(r);
		make_key(r);
		if (cr_api_cache_get(th->cache, r->tip, r->key, &body, &len))
			return cr_api_reply_bytes(r, 200, body, len);
		r->cache = th->cache;
		r->f = f;
	}
	return rt->fn(r, f);
}

enum MHD_Result cr_api_dispatch(cr_api_req *r, const char *url, const char *upload, size_t *upload_len)
{
	if (!r->t0_us) {
		r->t0_us = cr_api_now_us();
		return begin(r, url);
	}
	if (r->answered) {
		*upload_len = 0; /* the rest of a body already refused */
		return MHD_YES;
	}
	if (*upload_len) {
		size_t n = *upload_len;

		*upload_len = 0;
		if (r->srv->o.timeout_s && cr_api_now_us() - r->t0_us > (uint64_t)r->srv->o.timeout_s * 1000000u)
			return MHD_NO; /* a body trickling in slower than the timeout */
		if (r->too_large || r->route->body == CR_BODY_NONE)
			return MHD_YES;
		if (r->blen + n > CR_API_BODY_MAX) {
			r->too_large = true;
			free(r->body);
			r->body = NULL;
			r->blen = 0;
			return MHD_YES;
		}
		if (cr_grow((void **)&r->body, &r->bcap, r->blen + n + 1, 1) < 0)
			return MHD_NO;
		memcpy(r->body + r->blen, upload, n);
		r->blen += n;
		return MHD_YES;
	}
	return finish(r);
}
