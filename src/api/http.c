/* One request's answers and parameters (api/internal.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api/internal.h"
#include "facade/dto.h"
#include "util/error.h"
#include "util/json.h"

uint64_t cr_api_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static enum MHD_Result queue(cr_api_req *r, unsigned status, char *body, size_t len, const char *location,
			     bool legacy)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (legacy) {
		MHD_add_response_header(resp, "Deprecation", "true");
		MHD_add_response_header(resp, "Link",
					"<" CR_API_BASE "/candidates/{candidate_id}/compliance-runs>; rel=\"successor-version\"");
	}
	/* A request answered before its body was read closes the connection:
	 * what is left of the body cannot be told from the next request. */
	if (!r->route || r->too_large)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	r->status = status;
	r->bytes = len;
	return ok;
}

enum MHD_Result cr_api_reply_json(cr_api_req *r, unsigned status, cJSON *doc, const char *location)
{
	size_t len = 0;
	char *s;

	if (!doc)
		return cr_api_reply_last(r);
	s = cr_json_canonical(doc, &len);
	cJSON_Delete(doc);
	if (!s)
		return cr_api_reply_error(r, CR_EINTERNAL, "out of memory encoding the answer", false);
	s[len++] = '\n'; /* the canonical text's NUL, as the CLI ends its line */
	/* Kept only if the tip did not move while it was made (then it is
	 * the answer at that tip). */
	if (r->cache && r->cacheable && status == 200 && r->key[0]) {
		char now[48];
		if (cr_facade_ledger_tip(r->f, now) == 0 && !strcmp(now, r->tip))
			cr_api_cache_put(r->cache, r->tip, r->key, s, len);
	}
	return queue(r, status, s, len, location, false);
}

enum MHD_Result cr_api_reply_bytes(cr_api_req *r, unsigned status, const char *body, size_t len)
{
	char *s = malloc(len ? len : 1);

	if (!s)
		return cr_api_reply_error(r, CR_EINTERNAL, "out of memory", false);
	memcpy(s, body, len);
	return queue(r, status, s, len, NULL, false);
}

enum MHD_Result cr_api_reply_error(cr_api_req *r, int code, const char *message, bool details)
{
	const cr_error *e = cr_error_last();
	cJSON *doc;

	/* Through the error table's cleaning: a message quoting the request
	 * (a path, a parameter's name) reaches no terminal raw. */
	if (!details)
		cr_error_set(code, "%s", message);
	doc = cr_error_to_json(code, e->message, details ? e->status : NULL, details ? e->allowed : NULL);
	unsigned status = (unsigned)cr_error_http(code);
	char *s;
	size_t len = 0;

	if (!doc || !(s = cr_json_canonical(doc, &len))) {
		static const char oom[] = "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}}\n";
		cJSON_Delete(doc);
		if (!(s = strdup(oom)))
			return MHD_NO;
		len = strlen(oom);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	} else {
		cJSON_Delete(doc);
		s[len++] = '\n';
	}
	return queue(r, status, s, len, NULL, code == CR_ELEGACY_ENDPOINT_REMOVED);
}

enum MHD_Result cr_api_reply_last(cr_api_req *r)
{
	const cr_error *e = cr_error_last();
	int code = e->code ? e->code : CR_EINTERNAL;

	/* The route's parameters were checked before the call: an invalid
	 * argument the facade finds is in the body, which the contract
	 * answers 422. */
	if (code == CR_EINVALID_ARGUMENT && r->route && r->route->body != CR_BODY_NONE)
		code = CR_EINVALID_INPUT;
	return cr_api_reply_error(r, code, e->message[0] ? e->message : "internal error", true);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool cr_api_unescape(const char *s, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || k + 1 >= outlen)
			return false;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return true;
}

int cr_api_query(cr_api_req *r, const char *name, char *out, size_t len)
{
	const char *raw = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);

	if (!raw)
		return 0;
	return cr_api_unescape(raw, strlen(raw), out, len) ? 1 : -1;
}
