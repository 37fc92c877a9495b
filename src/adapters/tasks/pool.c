/*
 * The forked worker pool. The parent forks the workers after the rules are
 * compiled (shared copy-on-write), hands them artifact indexes over one pipe
 * each, reads their outcomes and sealed batches over another, and is the
 * only one that calls the callbacks (the only ledger writer). Workers check
 * what they are told and keep their findings; every failure of a worker
 * (crash, exit, time limit, garbage on the pipe) becomes an outcome with
 * stage errors for the artifact it was checking, and a replacement takes
 * over the rest.
 *
 * Findings are the bulk of what a run produces (tens of thousands on a real
 * corpus), so they never cross the pipe: each worker holds them and seals
 * them in batches with the job's seal() — which stores them (the violation
 * chunks: encoded, hashed, compressed) in parallel with the other workers —
 * and sends only what a batch holds and where it is. Batch and finding
 * numbers come from one shared counter that workers take from atomically.
 * An artifact is finished (on_done) once its outcome is in and every
 * finding of it is in a batch the parent has seen; if its worker dies
 * first, it is checked again, unless part of its findings are already
 * sealed (then it gets stage errors: checking it again would repeat them).
 *
 * Framing (one machine: native byte order, no padding):
 *   parent -> worker: requests, each a uint32 artifact index; EOF means
 *     seal what you hold and exit.
 *   worker -> parent: records [uint32 payload length][uint8 type][payload]
 *     DONE:  u32 index, u8 read_ok, u64 size, u8 stage_error bits
 *            (bit s: stage s), u32 unsealed (findings of it not yet in a
 *            batch), str sha256, str error
 *     BATCH: u64 chunk, u64 first, u64 count, u64 by_stage[4],
 *            u64 blockers[4], u8 has_current (it holds findings of the
 *            artifact being checked, whose DONE is still to come), str ref
 *     FAIL:  i32 code, str message (seal() failed: the pool aborts)
 *   where str is an int32 length (-1: NULL), that many bytes and a NUL, so
 *   that the parent hands out pointers into its read buffer.
 * A worker answers requests in order.
 *
 * System calls are expensive here, so both directions are batched: the
 * parent keeps up to OUTSTANDING_MAX small requests (OUTSTANDING_BYTES in
 * all, and no more than that worker's part of what is left) queued in each
 * worker's pipe, and a worker buffers its records and
 * writes them when the buffer is full, every FLUSH_DONES outcomes or
 * FLUSH_MS, after a seal, and before it waits for more requests. Which
 * artifact a worker is on (for the time limit, and to know which one a
 * crash belongs to) is not on the pipe: each worker publishes it in its
 * status word, in a small shared mapping, without a system call. A worker
 * killed with outcomes still in its buffer loses them; those artifacts go
 * back to the queue.
 *
 * Test hooks (test-only, like git's GIT_TEST_* variables; read once at pool
 * start): a worker about to check the artifact whose path equals
 * CR_TEST_WORKER_CRASH raises SIGSEGV; CR_TEST_WORKER_HANG, it pause()s
 * forever.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapters/tasks/pool.h"
#include "engine/engine.h"
#include "util/error.h"
#include "util/fs.h"

#define REC_DONE 2
#define REC_BATCH 3
#define REC_FAIL 4
#define REC_HEADER 5                 /* u32 length + u8 type */
#define REC_MAX_PAYLOAD (16 * 1024)  /* a record is < 8 KiB */
#define REC_STR_MAX 4096             /* cap on one string in a record */
#define WORKER_WBUF (64 * 1024)      /* worker's record buffer */
#define PARENT_RBUF (256 * 1024)     /* parent's read buffer per worker */
#define PIPE_BYTES (1024 * 1024)     /* record pipe capacity asked for */
#define WORKERS_MAX 256
/* Requests queued per worker: a large artifact goes alone; small ones are
 * queued up to these bounds, which also bound how much work one worker can
 * hold while another is idle at the end of a run. */
#define OUTSTANDING_MAX 128
#define OUTSTANDING_BYTES (4u * 1024 * 1024)
#define FLUSH_DONES 64
#define FLUSH_MS 20
#define PROGRESS_EVERY_MS 100
#define REAP_GRACE_MS 1000
#define REQ_BATCH 128 /* >= OUTSTANDING_MAX */


/* Exit statuses of a worker that ends itself. */
enum { WEXIT_OK = 0, WEXIT_ORPHAN = 3, WEXIT_PIPE = 4, WEXIT_PROTOCOL = 5, WEXIT_SEAL = 6, WEXIT_NOMEM = 7 };

/* The shared batch counter: the last batch number in the high bits, the
 * last finding number in the low ones. */
#define SEQ_FINDING_BITS 40
#define SEQ_FINDING_MASK ((UINT64_C(1) << SEQ_FINDING_BITS) - 1)
#define SEQ_CHUNK_MAX ((UINT64_C(1) << (64 - SEQ_FINDING_BITS)) - 1)

/* Content stages: what a worker that died cannot vouch for. */
static const cr_stage content_stages[] = {
	CR_STAGE_DATA_PURITY, CR_STAGE_NO_EXTERNAL_ENDPOINTS, CR_STAGE_MANIFEST_CONSISTENCY,
};

/* A worker's status word, written by the worker, read by the parent:
 * 0 when idle, else (index + 1) << 32 | the low 32 bits of the pool clock
 * (ms since the pool started) when it began that artifact. One per cache
 * line. */
typedef struct wstatus {
	_Atomic uint64_t word;
	char pad[64 - sizeof(uint64_t)];
} wstatus;

/* An outcome in, with findings still unsealed in the worker. */
typedef struct unsettled {
	size_t index;
	cr_outcome o;
} unsettled;

typedef struct worker {
	pid_t pid;                   /* 0: no process in this slot */
	bool gave_up;                /* fork failed: the slot stays empty */
	bool closed;                 /* told to seal and exit (EOF sent) */
	int req_fd, rec_fd;          /* parent's ends */
	size_t cur[OUTSTANDING_MAX]; /* requests without a DONE yet, in order */
	unsigned ncur;
	uint64_t cur_bytes;          /* their total size */
	uint64_t dones;              /* DONEs received from this process */
	unsettled *un;               /* outcomes waiting for their batch */
	size_t nun, aun;
	wstatus *status;
	char *rbuf;
	size_t rlen;
} worker;

typedef struct pool {
	const cr_pool_job *job;
	const cr_pool_callbacks *cb;
	void *ctx;
	worker *w;
	unsigned nw;
	size_t *order; /* dispatch order: largest first */
	size_t next;
	size_t *retry; /* requests taken back from a dead worker: first out */
	size_t nretry;
	bool *finished;
	bool *seen;    /* some findings of this artifact are in a batch passed on */
	wstatus *status; /* shared mapping, one per worker slot, then the counter */
	_Atomic uint64_t *seq;
	uint64_t t0;     /* pool clock origin */
	uint64_t done;
	uint64_t reported, last_progress_ms;
	const char *crash_path, *hang_path;
	pid_t self;
	char start_error[256]; /* why the last worker could not be started */
} pool;

enum cause { GONE_EOF, GONE_TIMEOUT, GONE_PROTOCOL };

/* An artifact part of whose findings are stored when its worker died. */
#define LOST_FINDINGS "worker ended before storing all findings of artifact %s"

#define STATUS_IDLE 0

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* snprintf that may truncate (messages are bounded) without cutting a UTF-8
 * sequence in two: the text ends up in JSON. */
static void __attribute__((format(printf, 3, 4))) msgf(char *buf, size_t len, const char *fmt, ...)
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
} wfind;

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
	char buf[WORKER_WBUF];
} wout;

static void w_flush(wout *o)
{
	if (o->len && cr_fs_write_full(o->fd, o->buf, o->len) < 0)
		_exit(WEXIT_PIPE); /* the parent is gone */
	o->len = 0;
	o->dones = 0;
	o->last_flush = now_ms();
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
		sealed.by_stage[w->stage]++;
		if (w->severity == CR_SEV_BLOCKER)
			sealed.blockers[w->stage]++;
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

static int w_on_finding(const cr_finding *f, void *ctx)
{
	wout *o = ctx;
	wbatch *b = &o->batch;
	wfind *w;

	b->f = grow(b->f, &b->cap, b->n + 1, sizeof(*b->f));
	w = &b->f[b->n];
	if (b->n == 0)
		b->since = now_ms();
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
	b->n++;
	b->current++;
	if (b->n >= o->p->job->batch_max)
		w_seal(o);
	return 0;
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
	payload = 4 + 1 + 8 + 1 + 4 + str_bytes(ls) + str_bytes(le);
	w_begin(o, REC_DONE, payload);
	w_u32(o, o->index);
	w_u8(o, out->read_ok ? 1 : 0);
	w_u64(o, out->size);
	w_u8(o, bits);
	w_u32(o, o->batch.current);
	w_str(o, out->sha256, ls);
	w_str(o, out->error, le);
	o->batch.current = 0;
	o->dones++;
}

static void set_content_errors(cr_outcome *o)
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

	atomic_store_explicit(&st->word, ((uint64_t)index + 1) << 32 | (uint32_t)(now_ms() - p->t0),
			      memory_order_release);
	o->flushed_early = false;

	if (p->crash_path && strcmp(a->path, p->crash_path) == 0)
		raise(SIGSEGV);
	if (p->hang_path && strcmp(a->path, p->hang_path) == 0)
		for (;;)
			pause();

	memset(&out, 0, sizeof(out));
	o->index = index;
	if (!scanner) {
		out.read_ok = true;
		set_content_errors(&out);
		msgf(out.error, sizeof(out.error), "artifact %s not checked: %s", a->path, scanner_error);
	} else {
		cr_error_clear();
		rc = cr_engine_check(scanner, p->job->root_fd, a, w_on_finding, o, &out);
		if (rc < 0) {
			out.read_ok = true;
			set_content_errors(&out);
			msgf(out.error, sizeof(out.error), "artifact %s: %s", a->path, cr_error_last()->message);
		}
	}
	w_done(o, &out);
	if (o->batch.n && p->job->seal_ms && now_ms() - o->batch.since >= p->job->seal_ms)
		w_seal(o);
	/* The DONE goes out before the status says idle: a worker that dies
	 * idle has sent everything of the artifacts it reported. */
	if (o->flushed_early || !more || o->dones >= FLUSH_DONES || now_ms() - o->last_flush >= FLUSH_MS)
		w_flush(o);
	atomic_store_explicit(&st->word, STATUS_IDLE, memory_order_release);
}

static void __attribute__((noreturn)) worker_main(const pool *p, wstatus *st, int req_fd, int rec_fd)
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
	out->last_flush = now_ms();
	if (cr_scanner_new(&scanner, p->job->rules) < 0) {
		scanner = NULL;
		msgf(scanner_error, sizeof(scanner_error), "cannot start the scanner: %s",
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

/* ---- parent side --------------------------------------------------------- */

static size_t pending(const pool *p) { return p->nretry + (p->job->count - p->next); }

static size_t take(pool *p)
{
	if (p->nretry > 0)
		return p->retry[--p->nretry];
	return p->order[p->next++];
}

static bool alive_worker(const worker *w) { return w->pid > 0; }

static void maybe_progress(pool *p, uint64_t now, bool force)
{
	if (!p->cb->on_progress || p->reported == p->done)
		return;
	if (!force && p->last_progress_ms && now - p->last_progress_ms < PROGRESS_EVERY_MS)
		return;
	p->cb->on_progress(p->done, p->job->count, p->ctx);
	p->reported = p->done;
	p->last_progress_ms = now;
}

/* Record the end of artifact INDEX and tell the callback. */
static int finish(pool *p, size_t index, const cr_outcome *o)
{
	if (p->finished[index])
		return 0;
	p->finished[index] = true;
	p->done++;
	return p->cb->on_done ? p->cb->on_done(index, o, p->ctx) : 0;
}

/* An outcome for INDEX when its worker could not vouch for it. */
static int finish_error(pool *p, size_t index, const char *msg)
{
	cr_outcome o;

	memset(&o, 0, sizeof(o));
	o.read_ok = true;
	set_content_errors(&o);
	msgf(o.error, sizeof(o.error), "%s", msg);
	return finish(p, index, &o);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int start_worker(pool *p, worker *w)
{
	int req[2] = {-1, -1}, rec[2] = {-1, -1};
	pid_t pid;

	if (pipe2(req, O_CLOEXEC) < 0 || pipe2(rec, O_CLOEXEC) < 0)
		goto fail;
	fcntl(rec[1], F_SETPIPE_SZ, PIPE_BYTES); /* best effort: fewer context switches */
	atomic_store(&w->status->word, STATUS_IDLE);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		close(req[1]);
		close(rec[0]);
		worker_main(p, w->status, req[0], rec[1]);
	}
	close(req[0]);
	close(rec[1]);
	w->pid = pid;
	w->closed = false;
	w->req_fd = req[1];
	w->rec_fd = rec[0];
	w->ncur = 0;
	w->nun = 0;
	w->cur_bytes = 0;
	w->dones = 0;
	w->rlen = 0;
	return 0;
fail:
	msgf(p->start_error, sizeof(p->start_error), "cannot start a worker process: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		close_fd(&req[i]);
		close_fd(&rec[i]);
	}
	return -1;
}

/* Wait for a worker that is ending (EOF seen or killed); SIGKILL it if it
 * has not ended within the grace period. */
static int reap(pid_t pid, int grace_ms)
{
	int status = 0;
	struct timespec tick = {0, 1000 * 1000};

	for (int waited = 0;; waited++) {
		pid_t r = waitpid(pid, &status, grace_ms > 0 ? WNOHANG : 0);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return 0;
		if (r == 0 && waited >= grace_ms) {
			kill(pid, SIGKILL);
			grace_ms = 0;
		} else if (r == 0) {
			nanosleep(&tick, NULL);
		}
	}
}

/* Decoding of one record payload. */
typedef struct rd {
	const char *p;
	size_t left;
	bool bad;
} rd;

static void rd_get(rd *r, void *out, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
}

static uint8_t rd_u8(rd *r) { uint8_t v; rd_get(r, &v, 1); return v; }
static uint32_t rd_u32(rd *r) { uint32_t v; rd_get(r, &v, 4); return v; }
static uint64_t rd_u64(rd *r) { uint64_t v; rd_get(r, &v, 8); return v; }

static const char *rd_str(rd *r, size_t *len)
{
	int32_t n;
	const char *s;

	rd_get(r, &n, 4);
	*len = 0;
	if (r->bad || n < 0)
		return NULL;
	if (n > REC_STR_MAX || r->left < (size_t)n + 1 || r->p[n] != '\0' || memchr(r->p, 0, (size_t)n)) {
		r->bad = true;
		return NULL;
	}
	s = r->p;
	*len = (size_t)n;
	r->p += n + 1;
	r->left -= (size_t)n + 1;
	return s;
}

/* Handle one record of W: 0, a callback's non-zero value, or BAD_RECORD. */
#define BAD_RECORD INT_MIN
#define AT_EOF (INT_MIN + 1)

/* Every outcome of W that waited for a batch is final now. */
static int settle(pool *p, worker *w)
{
	int rc = 0;

	for (size_t i = 0; i < w->nun && rc == 0; i++)
		rc = finish(p, w->un[i].index, &w->un[i].o);
	w->nun = 0;
	return rc;
}

static int handle_done(pool *p, worker *w, rd *r, uint32_t index)
{
	cr_outcome o;
	const char *sha, *err;
	size_t sl, el;
	uint8_t bits;
	uint32_t unsealed;

	if (w->ncur == 0 || index != w->cur[0])
		return BAD_RECORD;
	memset(&o, 0, sizeof(o));
	o.read_ok = rd_u8(r) != 0;
	o.size = rd_u64(r);
	bits = rd_u8(r);
	unsealed = rd_u32(r);
	sha = rd_str(r, &sl);
	err = rd_str(r, &el);
	if (r->bad || r->left || !sha || !err || sl >= sizeof(o.sha256) || el >= sizeof(o.error) ||
	    (bits >> CR_STAGE__COUNT) != 0)
		return BAD_RECORD;
	memcpy(o.sha256, sha, sl);
	memcpy(o.error, err, el);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		o.stage_error[s] = (bits >> s) & 1u;
	memmove(w->cur, w->cur + 1, (w->ncur - 1) * sizeof(w->cur[0]));
	w->ncur--;
	w->cur_bytes -= p->job->artifacts[index].size;
	w->dones++;
	if (unsealed == 0)
		return finish(p, index, &o);
	/* Final once the batch holding the rest of its findings comes in. */
	if (w->nun == w->aun) {
		size_t na = w->aun ? w->aun * 2 : 64;
		unsettled *nu = realloc(w->un, na * sizeof(*nu));

		if (!nu)
			return cr_error_set(CR_EINTERNAL, "out of memory");
		w->un = nu;
		w->aun = na;
	}
	w->un[w->nun].index = index;
	w->un[w->nun].o = o;
	w->nun++;
	return 0;
}

static int handle_batch(pool *p, worker *w, rd *r)
{
	cr_pool_batch b;
	const char *ref;
	size_t rl;
	uint64_t total = 0;
	uint8_t has_current;
	int rc;

	memset(&b, 0, sizeof(b));
	b.chunk = rd_u64(r);
	b.first = rd_u64(r);
	b.count = rd_u64(r);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		total += b.by_stage[s] = rd_u64(r);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		b.blockers[s] = rd_u64(r);
	has_current = rd_u8(r);
	ref = rd_str(r, &rl);
	if (r->bad || r->left || !ref || rl >= sizeof(b.ref) || b.count == 0 || total != b.count ||
	    has_current > 1 || (has_current && w->ncur == 0))
		return BAD_RECORD;
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		if (b.blockers[s] > b.by_stage[s])
			return BAD_RECORD;
	memcpy(b.ref, ref, rl);
	if (has_current)
		p->seen[w->cur[0]] = true;
	if (p->cb->on_batch && (rc = p->cb->on_batch(&b, p->ctx)) != 0)
		return rc;
	return settle(p, w);
}

/* Handle one record of W: 0, a callback's non-zero value, or BAD_RECORD. */
static int handle_record(pool *p, worker *w, uint8_t type, const char *payload, size_t len)
{
	rd r = {payload, len, false};

	if (type == REC_DONE) {
		uint32_t index = rd_u32(&r);

		return r.bad ? BAD_RECORD : handle_done(p, w, &r, index);
	}
	if (type == REC_BATCH)
		return handle_batch(p, w, &r);
	if (type == REC_FAIL) {
		int32_t code;
		const char *msg;
		size_t ml;

		rd_get(&r, &code, 4);
		msg = rd_str(&r, &ml);
		if (r.bad || r.left || !msg || code >= 0)
			return BAD_RECORD;
		return cr_error_set(code, "%s", msg);
	}
	return BAD_RECORD;
}

/* Parse the complete records in W's buffer. */
static int parse_records(pool *p, worker *w)
{
	size_t off = 0;
	int rc = 0;

	while (w->rlen - off >= REC_HEADER) {
		uint32_t len;
		uint8_t type;

		memcpy(&len, w->rbuf + off, 4);
		type = (uint8_t)w->rbuf[off + 4];
		if (len > REC_MAX_PAYLOAD) {
			rc = BAD_RECORD;
			break;
		}
		if (w->rlen - off < REC_HEADER + (size_t)len)
			break;
		rc = handle_record(p, w, type, w->rbuf + off + REC_HEADER, len);
		off += REC_HEADER + (size_t)len;
		if (rc != 0)
			break;
	}
	memmove(w->rbuf, w->rbuf + off, w->rlen - off);
	w->rlen -= off;
	return rc;
}

/* Read what W has sent: 0, AT_EOF, BAD_RECORD or a callback's value. */
static int read_worker(pool *p, worker *w)
{
	ssize_t n;

	do
		n = read(w->rec_fd, w->rbuf + w->rlen, PARENT_RBUF - w->rlen);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return AT_EOF; /* or a broken pipe: the worker is gone either way */
	w->rlen += (size_t)n;
	return parse_records(p, w);
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));

		msgf(buf, len, "worker crashed (signal %d, SIG%s)", WTERMSIG(status), abbrev ? abbrev : "UNKNOWN");
	} else {
		msgf(buf, len, "worker exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
}

/* The artifact W's status word names, if it is one W still owes a DONE. */
static size_t status_index(const worker *w, uint64_t word)
{
	size_t index;

	if (word == STATUS_IDLE)
		return SIZE_MAX;
	index = (size_t)(word >> 32) - 1;
	for (unsigned i = 0; i < w->ncur; i++)
		if (w->cur[i] == index)
			return index;
	return SIZE_MAX;
}

/* Milliseconds a worker has spent on its current artifact, or -1 when idle.
 * The clock is 32 bits wide (wraps every 49 days): the difference is taken
 * modulo 2^32, and a start a moment after NOW (read before the word) is 0. */
static int64_t status_elapsed(const pool *p, uint64_t word, uint64_t now)
{
	int32_t d;

	if (word == STATUS_IDLE)
		return -1;
	d = (int32_t)((uint32_t)(now - p->t0) - (uint32_t)word);
	return d < 0 ? 0 : d;
}

/*
 * W is gone or must go: kill it unless it ended itself, keep every record
 * it sent, reap it. The artifact it was on (its status word) gets an outcome
 * with stage errors; the requests it had not answered go back to the queue.
 * SEEN_WORD is the status that made the parent kill it (timeouts).
 */
static int worker_gone(pool *p, worker *w, enum cause cause, uint64_t seen_word)
{
	size_t blame, ncur, cur[OUTSTANDING_MAX];
	char why[160], msg[sizeof(((cr_outcome *)0)->error)];
	uint64_t word;
	int rc = 0, status;

	if (cause != GONE_EOF)
		kill(w->pid, SIGKILL);
	if (cause == GONE_TIMEOUT) {
		/* Keep what it wrote before it was killed. */
		struct pollfd pfd = {w->rec_fd, POLLIN, 0};

		while (poll(&pfd, 1, REAP_GRACE_MS) > 0) {
			int r = read_worker(p, w);

			if (r == 0)
				continue;
			if (r != AT_EOF && r != BAD_RECORD)
				rc = r;
			break;
		}
	}
	status = reap(w->pid, cause == GONE_EOF ? REAP_GRACE_MS : 0);
	word = atomic_load_explicit(&w->status->word, memory_order_acquire);
	blame = status_index(w, word);
	if (cause == GONE_TIMEOUT && word != seen_word)
		blame = SIZE_MAX; /* it moved on just before the kill: nobody ran over */
	if (cause == GONE_PROTOCOL && w->ncur > 0)
		blame = w->cur[0]; /* the records being parsed were about it */
	/* A worker that never answered anything and names no artifact (it died
	 * before its first one) is blamed on its first request, so that a
	 * worker that cannot live never makes the pool spin. */
	if (blame == SIZE_MAX && w->dones == 0 && w->ncur > 0 && cause != GONE_TIMEOUT)
		blame = w->cur[0];

	w->pid = 0;
	w->closed = false;
	close_fd(&w->req_fd);
	close_fd(&w->rec_fd);
	w->rlen = 0;
	ncur = w->ncur;
	memcpy(cur, w->cur, ncur * sizeof(cur[0]));
	w->ncur = 0;
	w->cur_bytes = 0;
	if (rc != 0) {
		w->nun = 0;
		return rc;
	}

	/* Checked, but their findings died unsealed: check them again, unless
	 * part of them are in a batch already. */
	for (size_t i = 0; i < w->nun && rc == 0; i++) {
		size_t index = w->un[i].index;

		if (!p->seen[index]) {
			p->retry[p->nretry++] = index;
			continue;
		}
		msgf(msg, sizeof(msg), LOST_FINDINGS, p->job->artifacts[index].path);
		rc = finish_error(p, index, msg);
	}
	w->nun = 0;
	/* Back to the queue, so that the first of them is taken first. */
	for (size_t i = ncur; i-- > 0;)
		if (cur[i] != blame && !p->seen[cur[i]])
			p->retry[p->nretry++] = cur[i];
	for (size_t i = 0; i < ncur && rc == 0; i++) {
		const char *path = p->job->artifacts[cur[i]].path;

		if (cur[i] != blame && !p->seen[cur[i]])
			continue;
		if (cur[i] != blame) {
			/* Cannot be re-checked without repeating its findings. */
			msgf(msg, sizeof(msg), LOST_FINDINGS, path);
		} else if (cause == GONE_TIMEOUT) {
			msgf(msg, sizeof(msg), "artifact %s exceeded the per-artifact time limit of %llu ms", path,
			     (unsigned long long)p->job->timeout_ms);
		} else if (cause == GONE_PROTOCOL) {
			msgf(msg, sizeof(msg), "worker sent a malformed record while checking artifact %s", path);
		} else {
			describe_status(status, why, sizeof(why));
			msgf(msg, sizeof(msg), "%s while checking artifact %s", why, path);
		}
		rc = finish_error(p, cur[i], msg);
	}
	return rc;
}

/* Send W what it may take: one large artifact alone, or small ones up to
 * OUTSTANDING_MAX / OUTSTANDING_BYTES and at most SHARE at a time (its part
 * of what is left, so that a short queue is split between the workers),
 * in one write. With nothing left for it, tell it to seal what it holds
 * and exit. */
static void dispatch(pool *p, worker *w, size_t share)
{
	uint32_t req[OUTSTANDING_MAX];
	size_t n = 0;

	if (w->closed)
		return;
	if (pending(p) == 0 && w->ncur == 0) {
		close_fd(&w->req_fd);
		w->closed = true;
		return;
	}

	while (pending(p) > 0 && w->ncur < OUTSTANDING_MAX && n < share) {
		size_t index = p->nretry > 0 ? p->retry[p->nretry - 1] : p->order[p->next];
		uint64_t size = p->job->artifacts[index].size;

		if (w->ncur > 0 && (size > OUTSTANDING_BYTES - w->cur_bytes || w->cur_bytes > OUTSTANDING_BYTES))
			break;
		take(p);
		w->cur[w->ncur++] = index;
		w->cur_bytes += size;
		req[n++] = (uint32_t)index;
	}
	/* A write that fails means the worker died: poll() reports its EOF. */
	if (n > 0)
		(void)cr_fs_write_full(w->req_fd, req, n * sizeof(req[0]));
}

/* No worker can be started: every artifact without an outcome gets one
 * with stage errors, rather than waiting forever. */
static int fail_remaining(pool *p)
{
	char msg[sizeof(((cr_outcome *)0)->error)];
	int rc = 0;

	for (size_t i = 0; i < p->job->count && rc == 0; i++) {
		if (p->finished[i])
			continue;
		msgf(msg, sizeof(msg), "artifact %s not checked: %s", p->job->artifacts[i].path,
		     p->start_error[0] ? p->start_error : "no worker process is left");
		rc = finish_error(p, i, msg);
	}
	p->next = p->job->count;
	p->nretry = 0;
	return rc;
}

/* Milliseconds poll() may sleep: up to the nearest time limit, or the
 * next progress report that is due. */
static int poll_timeout(const pool *p, uint64_t now)
{
	uint64_t wait = UINT64_MAX;

	if (p->job->timeout_ms) {
		for (unsigned i = 0; i < p->nw; i++) {
			const worker *w = &p->w[i];
			int64_t spent;

			if (!alive_worker(w) || w->ncur == 0)
				continue;
			spent = status_elapsed(p, atomic_load_explicit(&w->status->word, memory_order_acquire), now);
			if (spent < 0)
				spent = 0; /* between artifacts: the next one starts now at the earliest */
			if ((uint64_t)spent >= p->job->timeout_ms)
				return 0;
			if (p->job->timeout_ms - (uint64_t)spent < wait)
				wait = p->job->timeout_ms - (uint64_t)spent;
		}
	}
	if (p->cb->on_progress && p->reported != p->done) {
		uint64_t due = p->last_progress_ms + PROGRESS_EVERY_MS;
		uint64_t left = due > now ? due - now : 0;

		if (left < wait)
			wait = left;
	}
	if (wait == UINT64_MAX)
		return -1;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

static int run(pool *p)
{
	struct pollfd *pfd = calloc(p->nw, sizeof(*pfd));
	unsigned *who = calloc(p->nw, sizeof(*who));
	int rc = 0;

	if (!pfd || !who) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	while (p->done < p->job->count) {
		uint64_t now = now_ms();
		unsigned live = 0, n = 0;
		int ready;

		unsigned open = 0;
		size_t share;

		for (unsigned i = 0; i < p->nw; i++) {
			worker *w = &p->w[i];

			if (!alive_worker(w) && !w->gave_up && pending(p) > 0 && start_worker(p, w) < 0)
				w->gave_up = true;
			if (!alive_worker(w))
				continue;
			live++;
			open += !w->closed;
		}
		share = open ? (pending(p) + open - 1) / open : 0;
		for (unsigned i = 0; i < p->nw; i++)
			if (alive_worker(&p->w[i]))
				dispatch(p, &p->w[i], share ? share : 1);
		if (live == 0) {
			/* Every slot gave up: no request is outstanding, the
			 * queue is not empty. */
			rc = fail_remaining(p);
			goto cleanup;
		}
		for (unsigned i = 0; i < p->nw; i++) {
			if (!alive_worker(&p->w[i]))
				continue;
			pfd[n].fd = p->w[i].rec_fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			who[n++] = i;
		}
		ready = poll(pfd, n, poll_timeout(p, now));
		if (ready < 0 && errno != EINTR) {
			rc = cr_error_set(CR_EINTERNAL, "poll on worker pipes failed: %s", strerror(errno));
			goto cleanup;
		}
		for (unsigned k = 0; ready > 0 && k < n; k++) {
			worker *w = &p->w[who[k]];
			int r;

			if (!pfd[k].revents)
				continue;
			r = read_worker(p, w);
			if (r == AT_EOF)
				r = worker_gone(p, w, GONE_EOF, 0);
			else if (r == BAD_RECORD)
				r = worker_gone(p, w, GONE_PROTOCOL, 0);
			if (r != 0) {
				rc = r;
				goto cleanup;
			}
		}
		now = now_ms();
		for (unsigned i = 0; p->job->timeout_ms && i < p->nw; i++) {
			worker *w = &p->w[i];
			uint64_t word;
			int64_t spent;

			if (!alive_worker(w) || w->ncur == 0)
				continue;
			word = atomic_load_explicit(&w->status->word, memory_order_acquire);
			spent = status_elapsed(p, word, now);
			if (spent >= 0 && (uint64_t)spent >= p->job->timeout_ms &&
			    (rc = worker_gone(p, w, GONE_TIMEOUT, word)) != 0)
				goto cleanup;
		}
		maybe_progress(p, now, false);
	}
cleanup:
	free(pfd);
	free(who);
	return rc;
}

static int cmp_size_desc(const void *a, const void *b, void *arg)
{
	const cr_artifact *art = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (art[x].size != art[y].size)
		return art[x].size > art[y].size ? -1 : 1;
	return (x > y) - (x < y);
}

/* Stop every worker: gracefully (EOF on its requests) after a complete run,
 * with SIGKILL after an abort. Always reaps, always closes. */
static void stop_workers(pool *p, bool kill_them)
{
	for (unsigned i = 0; i < p->nw; i++) {
		worker *w = &p->w[i];

		if (alive_worker(w) && kill_them)
			kill(w->pid, SIGKILL);
		close_fd(&w->req_fd);
	}
	for (unsigned i = 0; i < p->nw; i++) {
		worker *w = &p->w[i];

		if (alive_worker(w))
			reap(w->pid, kill_them ? 0 : REAP_GRACE_MS);
		w->pid = 0;
		close_fd(&w->rec_fd);
	}
}

int cr_pool_run(const cr_pool_job *job, const cr_pool_callbacks *cb, void *ctx, const cr_pool_faults *faults)
{
	sigset_t pipe_set, old_mask;
	bool masked = false;
	pool p;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	if (!job || !cb || (job->count && (!job->artifacts || !job->rules)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "worker pool: no job");
	if (job->jobs < 1)
		return cr_error_set(CR_EINVALID_ARGUMENT, "worker pool: jobs must be at least 1");
	if (job->count > UINT32_MAX)
		return cr_error_set(CR_EINVALID_ARGUMENT, "worker pool: too many artifacts (%zu)", job->count);
	if (!job->seal || job->batch_max < 1 || !job->seq)
		return cr_error_set(CR_EINVALID_ARGUMENT, "worker pool: no way to seal findings");
	if (job->seq->chunk > SEQ_CHUNK_MAX / 2 || job->seq->finding > SEQ_FINDING_MASK / 2)
		return cr_error_set(CR_EINVALID_ARGUMENT, "worker pool: batch numbers out of range");
	p.job = job;
	p.cb = cb;
	p.ctx = ctx;
	p.self = getpid();
	p.t0 = now_ms();
	if (job->count == 0)
		goto done;

	p.nw = job->jobs < WORKERS_MAX ? job->jobs : WORKERS_MAX;
	if (p.nw > job->count)
		p.nw = (unsigned)job->count;
	p.w = calloc(p.nw, sizeof(*p.w));
	for (unsigned i = 0; p.w && i < p.nw; i++)
		p.w[i].req_fd = p.w[i].rec_fd = -1;
	p.order = calloc(job->count, sizeof(*p.order));
	p.retry = calloc(job->count, sizeof(*p.retry));
	p.finished = calloc(job->count, sizeof(*p.finished));
	p.seen = calloc(job->count, sizeof(*p.seen));
	p.status = mmap(NULL, (p.nw + 1) * sizeof(*p.status), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p.status == MAP_FAILED) {
		p.status = NULL;
		rc = cr_error_set(CR_EINTERNAL, "cannot map the workers' status words: %s", strerror(errno));
		goto cleanup;
	}
	p.seq = &p.status[p.nw].word;
	atomic_store(p.seq, job->seq->chunk << SEQ_FINDING_BITS | job->seq->finding);
	if (!p.w || !p.order || !p.retry || !p.finished || !p.seen) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	for (unsigned i = 0; i < p.nw; i++) {
		p.w[i].status = &p.status[i];
		if (!(p.w[i].rbuf = malloc(PARENT_RBUF))) {
			rc = cr_error_set(CR_EINTERNAL, "out of memory");
			goto cleanup;
		}
	}
	for (size_t i = 0; i < job->count; i++)
		p.order[i] = i;
	qsort_r(p.order, job->count, sizeof(*p.order), cmp_size_desc, (void *)job->artifacts);
	if (faults) {
		p.crash_path = faults->crash_path;
		p.hang_path = faults->hang_path;
	}

	/* A worker that dies must not take the parent with it on a write: the
	 * calling thread blocks SIGPIPE (the process's disposition is not
	 * touched) and drops any it raised before unblocking. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask) == 0)
		masked = true;

	rc = run(&p);
cleanup:
	if (p.w) {
		stop_workers(&p, rc != 0);
		for (unsigned i = 0; i < p.nw; i++) {
			free(p.w[i].rbuf);
			free(p.w[i].un);
		}
	}
	if (p.seq) {
		/* What the workers took, gaps of the dead included. */
		uint64_t last = atomic_load(p.seq);

		job->seq->chunk = last >> SEQ_FINDING_BITS;
		job->seq->finding = last & SEQ_FINDING_MASK;
	}
	if (masked) {
		struct timespec zero = {0, 0};
		while (!sigismember(&old_mask, SIGPIPE) && sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	}
	free(p.w);
	free(p.order);
	free(p.retry);
	free(p.finished);
	free(p.seen);
	if (p.status)
		munmap(p.status, (p.nw + 1) * sizeof(*p.status));
	if (rc != 0)
		return rc;
done:
	if (cb->on_progress && (p.reported != job->count || p.last_progress_ms == 0))
		cb->on_progress(job->count, job->count, ctx);
	return 0;
}
