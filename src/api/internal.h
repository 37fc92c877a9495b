#ifndef CR_API_INTERNAL_H
#define CR_API_INTERNAL_H
/*
 * What the files of the REST front end share: the server (server.c), the
 * tokens (tokens.c), the request and its answers (http.c), the route table
 * and the order of checks (routes.c), and the handlers (handlers_*.c).
 *
 * A request is read in MHD's access callback: the first call (headers only)
 * finds the route and checks the token, the role and the declared size
 * (answering 401/403/413 before any of the body is read); the next calls
 * gather the body (at most CR_API_BODY_MAX); the last one checks the
 * parameters and the body and calls the handler, which makes one facade
 * call and answers its DTO or its error.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "api/api.h"
#include "facade/facade.h"
#include "util/schema.h"

typedef enum cr_api_role {
	CR_ROLE_NONE = 0, /* no token needed (healthz, the legacy routes) */
	CR_ROLE_VIEWER,
	CR_ROLE_RELEASER,
	CR_ROLE_APPROVER,
} cr_api_role;

const char *cr_api_role_name(cr_api_role r);
/* The role named NAME, or CR_ROLE_NONE. */
cr_api_role cr_api_role_parse(const char *name);

/* ---- tokens.c ------------------------------------------------------- */

typedef struct cr_api_token {
	char digest[65]; /* sha256 hex of the token */
	char actor[1100];
	cr_api_role role;
} cr_api_token;

typedef struct cr_api_tokens {
	cr_api_token *v;
	size_t n;
} cr_api_tokens;

/* Load PATH: refused when group- or world-readable, or for a malformed
 * line (named). */
int cr_api_tokens_load(cr_api_tokens *out, const char *path);
void cr_api_tokens_free(cr_api_tokens *t);
/* The entry whose digest is the token's (constant time per entry), or NULL. */
const cr_api_token *cr_api_tokens_find(const cr_api_tokens *t, const char *token, size_t len);

/* ---- the request schemas -------------------------------------------- */

enum cr_api_body {
	CR_BODY_NONE = 0,
	CR_BODY_REGISTER,
	CR_BODY_ARTIFACTS,
	CR_BODY_MANIFEST,
	CR_BODY_START_RUN,
	CR_BODY_DECISION,
	CR_BODY_PUBLISH,
	CR_BODY_REVOKE,
	CR_BODY__COUNT
};

/* ---- cache.c: answers kept by each thread, keyed by the ledger tip ---- */

typedef struct cr_api_cache cr_api_cache;
cr_api_cache *cr_api_cache_new(void);
void cr_api_cache_free(cr_api_cache *c);
/* The answer kept for KEY at TIP (a tip other than the kept one drops
 * everything): true with BODY and LEN (borrowed until the next call). */
bool cr_api_cache_get(cr_api_cache *c, const char *tip, const char *key, const char **body, size_t *len);
/* Keep a copy of BODY as the answer for KEY, if TIP is still the kept one. */
void cr_api_cache_put(cr_api_cache *c, const char *tip, const char *key, const char *body, size_t len);

/* ---- server.c -------------------------------------------------------- */

typedef struct cr_api_srv {
	cr_api_opts o;
	cr_facade_opts fo;       /* how each thread opens its facade */
	char repo[4096];         /* absolute */
	char work_tree[4096];    /* "" when bare */
	char program[4096];      /* this executable, for the runners */
	char **roots;            /* realpath of each artifact root */
	size_t nroots;
	cr_api_tokens tokens;
	bool auth;               /* tokens given */
	char actor[1100];        /* without tokens: who writes ("" if none) */
	cr_schema *body_schema[CR_BODY__COUNT];
	pthread_key_t thread_key;
	_Atomic long inflight;   /* requests between their first call and their end */
	struct MHD_Daemon *d;
} cr_api_srv;

/* What each server thread has of its own: a facade handle (opened on
 * first use) and the answers it keeps. */
typedef struct cr_api_thread {
	cr_facade *f;
	cr_api_cache *cache;
} cr_api_thread;

/* This thread's state, or NULL with the error set. */
cr_api_thread *cr_api_thread_get(cr_api_srv *s);

/* ---- http.c: one request and its answer ------------------------------ */

#define CR_API_PARAMS_MAX 2

typedef struct cr_api_route cr_api_route;

typedef struct cr_api_req {
	cr_api_srv *srv;
	struct MHD_Connection *conn;
	const char *method;
	const cr_api_route *route;
	char params[CR_API_PARAMS_MAX][160]; /* path parameters, percent-decoded */
	char path[512];                      /* for the log (cleaned, cut) */
	char *body;
	size_t blen, bcap;
	bool too_large;      /* more than CR_API_BODY_MAX arrived */
	bool answered;       /* a response is queued */
	uint64_t t0_us;
	const char *actor;   /* who the request acts as (the token's) */
	cr_api_cache *cache; /* this thread's, for a GET of a route that keeps answers */
	cr_facade *f;        /* this thread's */
	char tip[48];        /* the ledger tip the answer is made at */
	char key[640];       /* path and query, the answer's key */
	bool cacheable;      /* set by the handler: the answer is a function of the tip */
	unsigned status;     /* for the log */
	size_t bytes;
	cJSON *json;         /* the parsed body */
} cr_api_req;

uint64_t cr_api_now_us(void);
/* Answer STATUS with DOC (taken; canonical JSON as the CLI prints it) and
 * LOCATION (may be NULL). MHD_YES or MHD_NO. */
enum MHD_Result cr_api_reply_json(cr_api_req *r, unsigned status, cJSON *doc, const char *location);
/* Answer STATUS with a copy of BODY (JSON already encoded). */
enum MHD_Result cr_api_reply_bytes(cr_api_req *r, unsigned status, const char *body, size_t len);
/* Answer the error CODE with MESSAGE (and the gate details of the thread's
 * error when DETAILS). */
enum MHD_Result cr_api_reply_error(cr_api_req *r, int code, const char *message, bool details);
/* Answer the thread's last error (a facade call failed). */
enum MHD_Result cr_api_reply_last(cr_api_req *r);
/* Decode %XX in [S, S+N) into OUT; false for a bad escape, a NUL, a
 * control character or when it does not fit. */
bool cr_api_unescape(const char *s, size_t n, char *out, size_t outlen);
/* The query parameter NAME (decoded into OUT), 1; 0 absent; -1 invalid. */
int cr_api_query(cr_api_req *r, const char *name, char *out, size_t len);

/* ---- routes.c -------------------------------------------------------- */

typedef enum MHD_Result (*cr_api_handler)(cr_api_req *r, cr_facade *f);

struct cr_api_route {
	const char *method;          /* NULL: every method (the legacy routes) */
	const char *pattern;         /* "/candidates/{}/approve": {} is one parameter */
	cr_api_role role;
	enum cr_api_body body;
	const char *const *query;    /* the query parameters it takes, NULL-terminated; NULL: none */
	cr_api_handler fn;
	bool cache;                  /* a GET whose answer may be kept (the handler says when) */
};

/* The access callback's work for one call (see the top of this file). */
enum MHD_Result cr_api_dispatch(cr_api_req *r, const char *url, const char *upload, size_t *upload_len);

/* ---- handlers -------------------------------------------------------- */

extern const cr_api_route cr_api_routes[];

#endif
