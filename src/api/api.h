#ifndef CR_API_API_H
#define CR_API_API_H
/*
 * The REST front end: `clean-release serve` answers
 * schemas/clean-release-api.openapi.yaml over HTTP (libmicrohttpd, its
 * thread pool on epoll), every operation one call of the facade. Each
 * server thread has a facade handle of its own (the facade's threading
 * contract); runs are started detached, so their runners are processes of
 * their own, never forks of this threaded one.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CR_API_BASE "/api/clean-release"
#define CR_API_BODY_MAX ((size_t)10 * 1024 * 1024)

typedef struct cr_api_opts {
	bool demo;
	const char *repo;          /* the repository (NULL: the environment's) */
	const char *listen;        /* "ADDR:PORT", "[V6]:PORT"; NULL: 127.0.0.1:8080; port 0: any free one */
	const char *tokens_path;   /* NULL: no tokens, loopback only, role approver */
	const char *actor;         /* the actor without tokens (NULL: git config user.email) */
	const char *const *roots;  /* --artifact-root, NROOTS of them (none: the work tree) */
	size_t nroots;
	unsigned threads;          /* 0: online CPUs */
	unsigned timeout_s;        /* a connection idle or a request slower than this is closed */
	unsigned max_connections;
	unsigned reap_s;           /* how often orphaned runs are recorded */
	const char *version;       /* for GET /healthz */
	FILE *log;                 /* start-up line and access log */
} cr_api_opts;

/* Serve until SIGTERM or SIGINT: stop accepting, finish the requests in
 * flight, return 0. A negative CR_E* code (error set) when it cannot start:
 * a bad --listen, a non-loopback address without tokens, a tokens file
 * that is readable by others or has a malformed line, a port in use. */
int cr_api_serve(const cr_api_opts *o);

/* A fresh bearer token for ACTOR with ROLE: TOKEN gets 64 hex characters
 * (256 random bits, getrandom), LINE the line of the tokens file that
 * grants it ("<sha256 of the token> <actor> <role>"). */
int cr_api_token_new(const char *actor, const char *role, char token[65], char *line, size_t linelen);

#endif
