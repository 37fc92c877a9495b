/* The worker side of the forked pool (pool_internal.h): what a forked
 * worker runs, and the records it writes. */
#include <inttypes.h>
#include "adapters/tasks/pool_internal.h"

uint64_t cr_pool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cr_pool_msgf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= len) {
		size_t end = len - 1;

		while (end > 0 && ((unsigned char)buf[end] & 0xC0) == 0x80)
			end--;
		buf[end] = '\0';
	}
}

/* ---- worker side --------------------------------------------------------- */

/* A finding held by a worker: strings as offsets into the batch's arena
 * (which moves as it grows). */
typedef struct wfind {
	uint32_t index;
	uint8_t stage, severity;
	bool has_location;
	cr_location location;
	uint32_t rule_id, message, excerpt; /* arena offsets; NO_STR: NULL */
	uint64_t left_out; /* 0, or a summary standing for this many findings */
} wfind;

/* Findings of one rule in the artifact being checked. */
typedef struct rulecount {
	const char *rule_id;
	uint64_t n, dropped;
	uint8_t stage, severity;
} rulecount;

#define NO_STR UINT32_MAX

typedef struct wbatch {
	wfind *f;
	size_t n, cap;
	char *arena;
	size_t alen, acap;
	cr_pool_finding *out; /* at seal time */
	uint64_t since;       /* ms: when its first finding came */
	uint32_t current;     /* findings of the artifact being checked */
} wbatch;

typedef struct wout {
	int fd;
	size_t len;
	uint32_t index;
	bool flushed_early;   /* records of the current artifact went out */
	unsigned dones;       /* DONEs in the buffer */
	uint64_t last_flush;  /* ms */
	const pool *p;
	wbatch batch;
	rulecount *rc; /* per rule, for the artifact being checked */
	size_t nrc, arc;
	/* Findings of the artifact being checked that the run's cap counted. */
	uint64_t left[CR_STAGE__COUNT], left_blockers[CR_STAGE__COUNT];
	char buf[WORKER_WBUF];
} wout;

static void w_flush(wout *o)
{
	if (o->len && cr_fs_write_full(o->fd, o->buf, o->len) < 0)
		_exit(WEXIT_PIPE); /* the parent is gone */
	o->len = 0;
	o->dones = 0;
	o->last_flush = cr_pool_now_ms();
}

static void w_put(wout *o, const void *p, size_t n)
{
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void w_u8(wout *o, uint8_t v) { w_put(o, &v, 1); }
static void w_u32(wout *o, uint32_t v) { w_put(o, &v, 4); }
static void w_u64(wout *o, uint64_t v) { w_put(o, &v, 8); }

/* Capped length of S, not cutting a UTF-8 sequence. */
static int32_t str_len(const char *s)
{
	size_t n;

	if (!s)
		return -1;
	n = strlen(s);
	if (n > REC_STR_MAX) {
		n = REC_STR_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return (int32_t)n;
}

static size_t str_bytes(int32_t n) { return 4 + (n < 0 ? 0 : (size_t)n + 1); }

static void w_str(wout *o, const char *s, int32_t n)
{
	w_put(o, &n, 4);
	if (n >= 0) {
		w_put(o, s, (size_t)n);
		w_u8(o, 0);
	}
}

/* Make room for a record of PAYLOAD bytes and write its header. */
static void w_begin(wout *o, uint8_t type, size_t payload)
{
	if (o->len + REC_HEADER + payload > sizeof(o->buf)) {
		w_flush(o);
		o->flushed_early = true;
	}
	w_u32(o, (uint32_t)payload);
	w_u8(o, type);
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return p;
	while (ncap < need)
		ncap *= 2;
	if (!(np = realloc(p, ncap * size)))
		_exit(WEXIT_NOMEM); /* the parent checks the artifacts again */
	*cap = ncap;
	return np;
}

static uint32_t b_str(wbatch *b, const char *s)
{
	int32_t n = str_len(s);
	uint32_t at;

	if (n < 0)
		return NO_STR;
	b->arena = grow(b->arena, &b->acap, b->alen + (size_t)n + 1, 1);
	at = (uint32_t)b->alen;
	memcpy(b->arena + b->alen, s, (size_t)n);
	b->arena[b->alen + (size_t)n] = '\0';
	b->alen += (size_t)n + 1;
	return at;
}

static const char *b_get(const wbatch *b, uint32_t at) { return at == NO_STR ? NULL : b->arena + at; }

/* Seal what the worker holds: take numbers, let the job store the findings,
 * tell the parent. */
static void w_seal(wout *o)
{
	const cr_pool_job *job = o->p->job;
	wbatch *b = &o->batch;
	cr_pool_batch sealed;
	uint64_t old;
	int32_t lr;
	int rc;

	if (b->n == 0)
		return;
	memset(&sealed, 0, sizeof(sealed));
	old = atomic_fetch_add_explicit(o->p->seq, (UINT64_C(1) << SEQ_FINDING_BITS) + b->n, memory_order_relaxed);
	sealed.chunk = (old >> SEQ_FINDING_BITS) + 1;
	sealed.first = (old & SEQ_FINDING_MASK) + 1;
	sealed.count = b->n;
	if (!(b->out = calloc(b->n, sizeof(*b->out))))
		_exit(WEXIT_NOMEM);
	for (size_t i = 0; i < b->n; i++) {
		const wfind *w = &b->f[i];
		cr_pool_finding *f = &b->out[i];

		memset(f, 0, sizeof(*f));
		f->index = w->index;
		f->f.stage = (cr_stage)w->stage;
		f->f.severity = (cr_severity)w->severity;
		f->f.has_location = w->has_location;
		f->f.location = w->location;
		f->f.rule_id = b_get(b, w->rule_id);
		f->f.message = b_get(b, w->message);
		f->f.excerpt = b_get(b, w->excerpt);
		f->left_out = w->left_out;
		sealed.by_stage[w->stage] += w->left_out ? w->left_out : 1;
		if (w->severity == CR_SEV_BLOCKER)
			sealed.blockers[w->stage] += w->left_out ? w->left_out : 1;
	}
	cr_error_clear();
	rc = job->seal(b->out, b->n, &sealed, o->p->ctx);
	free(b->out);
	b->out = NULL;
	if (rc < 0) {
		const char *msg = cr_error_last()->message;
		int32_t lm = str_len(msg[0] ? msg : "cannot store a batch of findings");

		w_begin(o, REC_FAIL, 4 + str_bytes(lm));
		w_put(o, &(int32_t){rc}, 4);
		w_str(o, msg[0] ? msg : "cannot store a batch of findings", lm);
		w_flush(o);
		_exit(WEXIT_SEAL);
	}
	sealed.ref[sizeof(sealed.ref) - 1] = '\0';
	lr = str_len(sealed.ref);
	w_begin(o, REC_BATCH, 8 * 3 + 16 * CR_STAGE__COUNT + 1 + str_bytes(lr));
	w_u64(o, sealed.chunk);
	w_u64(o, sealed.first);
	w_u64(o, sealed.count);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		w_u64(o, sealed.by_stage[s]);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		w_u64(o, sealed.blockers[s]);
	w_u8(o, b->current > 0);
	w_str(o, sealed.ref, lr);
	w_flush(o); /* the parent settles the artifacts it waits for */
	b->n = 0;
	b->alen = 0;
	b->current = 0;
}

/* Hold finding F (its strings copied), or a summary of LEFT_OUT findings. */
static void w_hold(wout *o, const cr_finding *f, uint64_t left_out);

static int w_on_finding(const cr_finding *f, void *ctx)
{
	wout *o = ctx;
	uint64_t cap = o->p->job->max_per_rule_artifact;
	rulecount *r = NULL;

	/* Past the cap of its rule in this artifact a finding is counted, not
	 * held: the artifact's end holds one summary for them. */
	for (size_t i = 0; cap && f->rule_id && i < o->nrc && !r; i++)
		if (!strcmp(o->rc[i].rule_id, f->rule_id))
			r = &o->rc[i];
	if (cap && f->rule_id && !r) {
		o->rc = grow(o->rc, &o->arc, o->nrc + 1, sizeof(*o->rc));
		r = &o->rc[o->nrc++];
		*r = (rulecount){.rule_id = f->rule_id, .stage = (uint8_t)f->stage, .severity = (uint8_t)f->severity};
	}
	if (r && ++r->n > cap) {
		r->dropped++;
		return 0;
	}
	w_hold(o, f, 0);
	return 0;
}

/* One summary finding per rule over its cap in the artifact just checked. */
static void w_summaries(wout *o)
{
	char msg[512];

	for (size_t i = 0; i < o->nrc; i++) {
		const rulecount *r = &o->rc[i];
		if (!r->dropped)
			continue;
		snprintf(msg, sizeof(msg),
			 "%" PRIu64 " more violations of rule %s in this artifact are not recorded "
			 "(limits.max_violations_per_rule_artifact: %" PRIu64 "); the totals count them",
			 r->dropped, r->rule_id, o->p->job->max_per_rule_artifact);
		cr_finding f = {.stage = (cr_stage)r->stage, .severity = (cr_severity)r->severity,
				.rule_id = r->rule_id, .message = msg};
		w_hold(o, &f, r->dropped);
	}
	o->nrc = 0;
}

static void w_hold(wout *o, const cr_finding *f, uint64_t left_out)
{
	wbatch *b = &o->batch;
	uint64_t cap = o->p->job->max_per_run;
	wfind *w;

	/* Past the run's cap, counted for the artifact's outcome instead (the
	 * load first: once full, the shared line is only read). */
	if (cap && (atomic_load_explicit(o->p->held, memory_order_relaxed) >= cap ||
		    atomic_fetch_add_explicit(o->p->held, 1, memory_order_relaxed) >= cap)) {
		o->left[f->stage] += left_out ? left_out : 1;
		if (f->severity == CR_SEV_BLOCKER)
			o->left_blockers[f->stage] += left_out ? left_out : 1;
		return;
	}

	b->f = grow(b->f, &b->cap, b->n + 1, sizeof(*b->f));
	w = &b->f[b->n];
	if (b->n == 0)
		b->since = cr_pool_now_ms();
	w->index = o->index;
	w->stage = (uint8_t)f->stage;
	w->severity = (uint8_t)f->severity;
	w->has_location = f->has_location;
	if (f->has_location)
		w->location = f->location;
	else
		memset(&w->location, 0, sizeof(w->location));
	w->rule_id = b_str(b, f->rule_id);
	w->message = b_str(b, f->message);
	w->excerpt = b_str(b, f->excerpt);
	w->left_out = left_out;
	b->n++;
	b->current++;
	if (b->n >= o->p->job->batch_max)
		w_seal(o);
}

static void w_done(wout *o, const cr_outcome *out)
{
	uint8_t bits = 0;
	int32_t ls, le;
	size_t payload;

	for (int s = 0; s < CR_STAGE__COUNT; s++)
		if (out->stage_error[s])
			bits |= (uint8_t)(1u << s);
	ls = (int32_t)strnlen(out->sha256, sizeof(out->sha256) - 1);
	le = (int32_t)strnlen(out->error, sizeof(out->error) - 1);
	payload = 4 + 1 + 8 + 1 + 4 + 16 * CR_STAGE__COUNT + str_bytes(ls) + str_bytes(le);
	w_begin(o, REC_DONE, payload);
	w_u32(o, o->index);
	w_u8(o, out->read_ok ? 1 : 0);
	w_u64(o, out->size);
	w_u8(o, bits);
	w_u32(o, o->batch.current);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		w_u64(o, o->left[s]);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		w_u64(o, o->left_blockers[s]);
	w_str(o, out->sha256, ls);
	w_str(o, out->error, le);
	o->batch.current = 0;
	o->dones++;
}

void cr_pool_content_errors(cr_outcome *o)
{
	for (size_t i = 0; i < sizeof(content_stages) / sizeof(content_stages[0]); i++)
		o->stage_error[content_stages[i]] = true;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Close every fd but KEEP[0..N) and stdio: close_range where the kernel has
 * it, else one by one up to the descriptor limit. */
static void close_other_fds(int *keep, size_t n)
{
	unsigned lo = 3;
	bool ok = true;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (size_t i = 0; i < n && ok; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo && close_range(lo, (unsigned)keep[i] - 1, 0) < 0)
			ok = false;
		lo = (unsigned)keep[i] + 1;
	}
	if (ok && close_range(lo, ~0u, 0) == 0)
		return;
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1u << 20
			  ? (int)rl.rlim_cur
			  : 1 << 20;
	for (int fd = 3; fd < max; fd++) {
		bool kept = false;
		for (size_t i = 0; i < n; i++)
			kept |= keep[i] == fd;
		if (!kept)
			close(fd);
	}
}

static void reset_signals(void)
{
	struct sigaction dfl;
	sigset_t none;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void worker_check(const pool *p, wstatus *st, cr_scanner *scanner, const char *scanner_error, wout *o,
			 uint32_t index, bool more)
{
	const cr_artifact *a = &p->job->artifacts[index];
	cr_outcome out;
	int rc;

	atomic_store_explicit(&st->word, ((uint64_t)index + 1) << 32 | (uint32_t)(cr_pool_now_ms() - p->t0),
			      memory_order_release);
	o->flushed_early = false;

	if (p->crash_path && strcmp(a->path, p->crash_path) == 0)
		raise(SIGSEGV);
	if (p->hang_path && strcmp(a->path, p->hang_path) == 0)
		for (;;)
			pause();
	if (p->pause_path && strcmp(a->path, p->pause_path) == 0)
		raise(SIGSTOP); /* the test lets it go on with SIGCONT */

	memset(&out, 0, sizeof(out));
	memset(o->left, 0, sizeof(o->left));
	memset(o->left_blockers, 0, sizeof(o->left_blockers));
	o->index = index;
	if (!scanner) {
		out.read_ok = true;
		cr_pool_content_errors(&out);
		cr_pool_msgf(out.error, sizeof(out.error), "artifact %s not checked: %s", a->path, scanner_error);
	} else {
		cr_error_clear();
		o->nrc = 0;
		rc = cr_engine_check(scanner, p->job->root_fd, a, w_on_finding, o, &out);
		w_summaries(o);
		if (rc < 0) {
			out.read_ok = true;
			cr_pool_content_errors(&out);
			cr_pool_msgf(out.error, sizeof(out.error), "artifact %s: %s", a->path, cr_error_last()->message);
		}
	}
	w_done(o, &out);
	if (o->batch.n && p->job->seal_ms && cr_pool_now_ms() - o->batch.since >= p->job->seal_ms)
		w_seal(o);
	/* The DONE goes out before the status says idle: a worker that dies
	 * idle has sent everything of the artifacts it reported. */
	if (o->flushed_early || !more || o->dones >= FLUSH_DONES || cr_pool_now_ms() - o->last_flush >= FLUSH_MS)
		w_flush(o);
	atomic_store_explicit(&st->word, STATUS_IDLE, memory_order_release);
}

void cr_pool_worker_main(const pool *p, wstatus *st, int req_fd, int rec_fd)
{
	wout *out;
	cr_scanner *scanner = NULL;
	char scanner_error[CR_ERROR_MSG_MAX] = "";
	uint32_t req[REQ_BATCH];
	size_t have = 0;
	int keep[3];
	size_t nkeep = 0;

	/* Die with the parent; it may have died before prctl took effect. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != p->self)
		_exit(WEXIT_ORPHAN);
	reset_signals();
	keep[nkeep++] = req_fd;
	keep[nkeep++] = rec_fd;
	if (p->job->root_fd >= 0)
		keep[nkeep++] = p->job->root_fd;
	close_other_fds(keep, nkeep);

	/* The record buffer is the worker's own (64 KiB: not on its stack). */
	if (!(out = calloc(1, sizeof(*out))))
		_exit(WEXIT_NOMEM);
	out->fd = rec_fd;
	out->p = p;
	out->last_flush = cr_pool_now_ms();
	if (cr_scanner_new(&scanner, p->job->rules) < 0) {
		scanner = NULL;
		cr_pool_msgf(scanner_error, sizeof(scanner_error), "cannot start the scanner: %s",
			 cr_error_last()->message);
	}
	for (;;) {
		ssize_t n = read(req_fd, (char *)req + have, sizeof(req) - have);
		size_t whole;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		whole = have / sizeof(uint32_t);
		for (size_t i = 0; i < whole; i++) {
			if (req[i] >= p->job->count)
				_exit(WEXIT_PROTOCOL);
			worker_check(p, st, scanner, scanner_error, out, req[i], i + 1 < whole);
		}
		have -= whole * sizeof(uint32_t);
		memmove(req, (char *)req + whole * sizeof(uint32_t), have);
	}
	w_seal(out);
	w_flush(out);
	_exit(WEXIT_OK);
}

