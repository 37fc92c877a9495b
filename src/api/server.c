/* `clean-release serve`: the daemon, its threads' facades, the access log,
 * the periodic reap of orphaned runs, and a stop that finishes what is in
 * flight (api/api.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "api/internal.h"
#include "util/embedded.h"
#include "util/error.h"
#include "util/json.h"

#define OPENAPI_JSON "clean-release-api.openapi.json"
#define DRAIN_MS 30000 /* at most this long for the requests in flight at a stop */

static const char *const body_components[CR_BODY__COUNT] = {
	[CR_BODY_REGISTER] = "RegisterCandidateRequest",
	[CR_BODY_ARTIFACTS] = "ArtifactsInput",
	[CR_BODY_MANIFEST] = "BuildManifestRequest",
	[CR_BODY_START_RUN] = "StartRunRequest",
	[CR_BODY_DECISION] = "DecisionRequest",
	[CR_BODY_PUBLISH] = "PublishRequest",
	[CR_BODY_REVOKE] = "RevokeRequest",
};

/* ---- the facade of each thread ---------------------------------------- */

static void thread_free(void *p)
{
	cr_api_thread *t = p;

	cr_facade_close(t->f);
	cr_api_cache_free(t->cache);
	free(t);
}

cr_api_thread *cr_api_thread_get(cr_api_srv *s)
{
	cr_api_thread *t = pthread_getspecific(s->thread_key);

	if (t)
		return t;
	if (!(t = calloc(1, sizeof(*t))) || !(t->cache = cr_api_cache_new())) {
		free(t);
		cr_error_set(CR_EINTERNAL, "out of memory");
		return NULL;
	}
	if (cr_facade_open(&t->f, &s->fo) < 0) {
		thread_free(t);
		return NULL;
	}
	if (pthread_setspecific(s->thread_key, t) != 0) {
		thread_free(t);
		cr_error_set(CR_EINTERNAL, "cannot keep this thread's repository handle");
		return NULL;
	}
	return t;
}

/* ---- start-up --------------------------------------------------------- */

/* ADDR:PORT or [V6]:PORT into SA; *LOOPBACK says whether it is one. */
static int parse_listen(const char *spec, struct sockaddr_storage *sa, bool *v6, bool *loopback)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port_s;
	char *end;
	long port;
	size_t hl;

	memset(sa, 0, sizeof(*sa));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':')
			goto bad;
		hl = (size_t)(close - spec - 1);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, hl);
		port_s = close + 2;
		*v6 = true;
	} else {
		if (!(colon = strrchr(spec, ':')))
			goto bad;
		hl = (size_t)(colon - spec);
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
		port_s = colon + 1;
		*v6 = false;
	}
	host[hl] = '\0';
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (!*port_s || *end || errno || port < 0 || port > 65535)
		goto bad;
	if (*v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		*loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)sa;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		*loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	return 0;
bad:
	return cr_error_set(CR_EINVALID_ARGUMENT, "invalid --listen %s: want ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
			    spec);
}

static int load_body_schemas(cr_api_srv *s)
{
	const struct cr_embedded_file *e = cr_embedded_find(OPENAPI_JSON);
	char root[160];
	int rc;

	if (!e)
		return cr_error_set(CR_EINTERNAL, "the OpenAPI document is not built in");
	for (int b = 1; b < CR_BODY__COUNT; b++) {
		cJSON *doc = NULL;
		if ((rc = cr_json_parse(&doc, e->data, e->size, OPENAPI_JSON)) < 0)
			return rc;
		snprintf(root, sizeof(root), "#/components/schemas/%s", body_components[b]);
		if ((rc = cr_schema_from_json(&s->body_schema[b], doc, root)) < 0)
			return rc;
	}
	return 0;
}

static int resolve_roots(cr_api_srv *s)
{
	const char *const *given = s->o.roots;
	size_t n = s->o.nroots;
	const char *wt = s->work_tree;

	if (n == 0 && !wt[0])
		return 0; /* bare, no roots: every import is refused, naming why */
	if (!(s->roots = calloc(n ? n : 1, sizeof(*s->roots))))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *p = n ? given[i] : wt;
		char *real = realpath(p, NULL);
		if (!real)
			return cr_error_set(CR_EINVALID_ARGUMENT, "--artifact-root %s: %s", p, strerror(errno));
		s->roots[s->nroots++] = real;
	}
	return 0;
}

/* ---- MHD callbacks ---------------------------------------------------- */

/* The raw path and query: the routes decode what they take themselves, so
 * that %00 or %2f in an id is seen, not silently turned into a byte. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
	cr_api_srv *s = cls;
	cr_api_req *r = *con_cls;
	size_t k = 0;

	(void)version;
	if (!r) {
		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		r->srv = s;
		r->conn = conn;
		r->method = method;
		/* For the log: printable bytes only, cut. */
		for (const char *p = url; *p && k + 1 < sizeof(r->path); p++)
			r->path[k++] = (*p > 0x20 && *p < 0x7f) ? *p : '?';
		r->path[k] = '\0';
		atomic_fetch_add(&s->inflight, 1);
		*con_cls = r;
	}
	return cr_api_dispatch(r, url, upload, upload_len);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode why)
{
	cr_api_srv *s = cls;
	cr_api_req *r = *con_cls;

	(void)conn;
	if (!r)
		return;
	uint64_t us = cr_api_now_us() - r->t0_us;
	/* One line per request, one write: method, path, status, bytes, ms, actor. */
	fprintf(s->o.log, "%s %s %u %zu %.1f %s%s\n", r->method, r->path, r->answered ? r->status : 0, r->bytes,
		(double)us / 1000.0, r->actor && r->actor[0] ? r->actor : "-",
		why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed)");
	cJSON_Delete(r->json);
	free(r->body);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	cr_api_srv *s = cls;
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	fprintf(s->o.log, "clean-release serve: %s\n", line);
}

/* ---- the loop --------------------------------------------------------- */

static void reap(cr_api_srv *s)
{
	cr_reap_result rr = {0};
	cr_facade *f = NULL;

	/* A handle of its own each time: what the reap read (every
	 * candidate's view, its objects in libgit2's cache) goes with it. */
	if (cr_facade_open(&f, &s->fo) < 0 || cr_facade_task_reap(f, s->actor[0] ? s->actor : NULL, &rr) < 0)
		fprintf(s->o.log, "clean-release serve: task reap: %s\n", cr_error_last()->message);
	for (size_t i = 0; i < rr.n; i++)
		fprintf(s->o.log, "clean-release serve: recorded the end of orphaned run %s\n", rr.run_ids[i]);
	cr_reap_result_clear(&rr);
	cr_facade_close(f);
	/* The reap holds every candidate's view for a moment: give what it
	 * freed back to the system, or a long-lived server keeps its peak. */
	malloc_trim(0);
}

static void srv_free(cr_api_srv *s)
{
	for (int b = 0; b < CR_BODY__COUNT; b++)
		cr_schema_free(s->body_schema[b]);
	for (size_t i = 0; i < s->nroots; i++)
		free(s->roots[i]);
	free(s->roots);
	cr_api_tokens_free(&s->tokens);
}

int cr_api_serve(const cr_api_opts *o)
{
	cr_api_srv *s = calloc(1, sizeof(*s));
	struct sockaddr_storage sa;
	bool v6 = false, loopback = false;
	cr_facade *f = NULL;
	sigset_t stop, old;
	long n;
	int rc, sig;

	if (!s)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	s->o = *o;
	if (!s->o.log)
		s->o.log = stderr;
	if ((rc = parse_listen(o->listen ? o->listen : "127.0.0.1:8080", &sa, &v6, &loopback)) < 0)
		goto done;
	if (!o->tokens_path && !loopback) {
		rc = cr_error_set(CR_EINVALID_ARGUMENT, "--listen %s is not a loopback address: give --tokens FILE to "
				  "serve beyond this machine", o->listen);
		goto done;
	}
	if (o->tokens_path && (rc = cr_api_tokens_load(&s->tokens, o->tokens_path)) < 0)
		goto done;
	s->auth = o->tokens_path != NULL;

	/* The main thread's facade: it resolves the repository for the
	 * others. */
	s->fo.demo = o->demo;
	s->fo.repo = o->repo;
	if ((rc = cr_facade_open(&f, &s->fo)) < 0)
		goto done;
	snprintf(s->repo, sizeof(s->repo), "%s", cr_facade_repo_path(f));
	snprintf(s->work_tree, sizeof(s->work_tree), "%s", cr_facade_work_tree(f) ? cr_facade_work_tree(f) : "");
	if ((n = readlink("/proc/self/exe", s->program, sizeof(s->program) - 1)) <= 0) {
		rc = cr_error_set(CR_EINTERNAL, "cannot find this program (/proc/self/exe): %s", strerror(errno));
		goto done;
	}
	s->program[n] = '\0';
	s->fo.repo = s->repo;
	s->fo.program = s->program;
	s->fo.delegated = true; /* the actor of a write is its token's */
	if (!s->auth && cr_facade_actor(f, o->actor, s->actor, sizeof(s->actor)) < 0) {
		if (o->actor) {
			rc = cr_error_last()->code;
			goto done;
		}
		s->actor[0] = '\0'; /* reads only, said at start */
	}
	if ((rc = load_body_schemas(s)) < 0 || (rc = resolve_roots(s)) < 0)
		goto done;
	if ((rc = pthread_key_create(&s->thread_key, thread_free)) != 0) {
		rc = cr_error_set(CR_EINTERNAL, "pthread_key_create: %s", strerror(rc));
		goto done;
	}

	/* SIGTERM and SIGINT are taken by this thread alone (the daemon's
	 * threads inherit the mask); a broken pipe is an error of one
	 * connection, not of the server. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	signal(SIGPIPE, SIG_IGN);

	unsigned threads = o->threads ? o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
					(v6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_THREAD_POOL_SIZE, threads ? threads : 1u, MHD_OPTION_CONNECTION_TIMEOUT,
				o->timeout_s ? o->timeout_s : 30u, MHD_OPTION_CONNECTION_LIMIT,
				o->max_connections ? o->max_connections : 256u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, s,
				MHD_OPTION_END);
	if (!s->d) {
		rc = cr_error_set(CR_EINVALID_ARGUMENT, "cannot listen on %s: %s", o->listen ? o->listen : "127.0.0.1:8080",
				  errno ? strerror(errno) : "the server could not start");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto done;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET6_ADDRSTRLEN];
	if (v6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof(host));
	fprintf(s->o.log, "clean-release serve: http://%s%s%s:%u" CR_API_BASE " namespace %s, %u threads; ", v6 ? "[" : "",
		host, v6 ? "]" : "", info ? info->port : 0, cr_facade_namespace(f), threads);
	if (s->auth)
		fprintf(s->o.log, "tokens from %s (%zu)\n", o->tokens_path, s->tokens.n);
	else if (s->actor[0])
		fprintf(s->o.log, "no tokens: loopback only, every request acts as %s with role approver\n", s->actor);
	else
		fprintf(s->o.log, "no tokens: loopback only; no actor (--actor or git config user.email), so reads only\n");
	fflush(s->o.log);

	/* Until a stop: reap orphaned runs every reap_s seconds. */
	for (;;) {
		struct timespec ts = {o->reap_s ? (time_t)o->reap_s : 5, 0};
		if ((sig = sigtimedwait(&stop, NULL, &ts)) > 0)
			break;
		if (errno == EAGAIN)
			reap(s);
	}
	fprintf(s->o.log, "clean-release serve: SIG%s: no new connections; finishing %ld request%s in flight\n",
		sigabbrev_np(sig), atomic_load(&s->inflight), atomic_load(&s->inflight) == 1 ? "" : "s");
	MHD_quiesce_daemon(s->d);
	for (int waited = 0; atomic_load(&s->inflight) > 0 && waited < DRAIN_MS; waited += 20) {
		struct timespec t = {0, 20 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
	MHD_stop_daemon(s->d);
	pthread_key_delete(s->thread_key);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	fprintf(s->o.log, "clean-release serve: stopped\n");
	rc = 0;
done:
	cr_facade_close(f);
	srv_free(s);
	free(s);
	return rc;
}
