/* The parent side of the forked pool (pool_internal.h): workers started,
 * fed, read, timed and replaced; the callbacks called. */
#include "adapters/tasks/pool_internal.h"
#include "util/mem.h"

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
	cr_pool_content_errors(&o);
	cr_pool_msgf(o.error, sizeof(o.error), "%s", msg);
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
		cr_pool_worker_main(p, w->status, req[0], rec[1]);
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
	cr_pool_msgf(p->start_error, sizeof(p->start_error), "cannot start a worker process: %s", strerror(errno));
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
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		o.left_out[s] = rd_u64(r);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		if ((o.left_out_blockers[s] = rd_u64(r)) > o.left_out[s])
			r->bad = true;
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
	if (cr_grow((void **)&w->un, &w->aun, w->nun + 1, sizeof(*w->un)) < 0)
		return CR_EINTERNAL;
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
	/* The counts are of findings found: a summary held for those a cap
	 * left out counts them all, so they are at least the findings held. */
	if (r->bad || r->left || !ref || rl >= sizeof(b.ref) || b.count == 0 || total < b.count ||
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

		cr_pool_msgf(buf, len, "worker crashed (signal %d, SIG%s)", WTERMSIG(status), abbrev ? abbrev : "UNKNOWN");
	} else {
		cr_pool_msgf(buf, len, "worker exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
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
		cr_pool_msgf(msg, sizeof(msg), LOST_FINDINGS, p->job->artifacts[index].path);
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
			cr_pool_msgf(msg, sizeof(msg), LOST_FINDINGS, path);
		} else if (cause == GONE_TIMEOUT) {
			cr_pool_msgf(msg, sizeof(msg), "artifact %s exceeded the per-artifact time limit of %llu ms", path,
			     (unsigned long long)p->job->timeout_ms);
		} else if (cause == GONE_PROTOCOL) {
			cr_pool_msgf(msg, sizeof(msg), "worker sent a malformed record while checking artifact %s", path);
		} else {
			describe_status(status, why, sizeof(why));
			cr_pool_msgf(msg, sizeof(msg), "%s while checking artifact %s", why, path);
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
		cr_pool_msgf(msg, sizeof(msg), "artifact %s not checked: %s", p->job->artifacts[i].path,
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
		uint64_t now = cr_pool_now_ms();
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
		if (!p->started_cb && live > 0) {
			p->started_cb = true;
			if (p->cb->on_started && (rc = p->cb->on_started(p->ctx)) != 0)
				goto cleanup;
		}
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
		now = cr_pool_now_ms();
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
	p.t0 = cr_pool_now_ms();
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
	p.status = mmap(NULL, (p.nw + 2) * sizeof(*p.status), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p.status == MAP_FAILED) {
		p.status = NULL;
		rc = cr_error_set(CR_EINTERNAL, "cannot map the workers' status words: %s", strerror(errno));
		goto cleanup;
	}
	p.seq = &p.status[p.nw].word;
	atomic_store(p.seq, job->seq->chunk << SEQ_FINDING_BITS | job->seq->finding);
	p.held = &p.status[p.nw + 1].word;
	atomic_store(p.held, job->seq->held);
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
		p.pause_path = faults->pause_path;
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
		job->seq->held = atomic_load(p.held);
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
		munmap(p.status, (p.nw + 2) * sizeof(*p.status));
	if (rc != 0)
		return rc;
done:
	if (cb->on_progress && (p.reported != job->count || p.last_progress_ms == 0))
		cb->on_progress(job->count, job->count, ctx);
	return 0;
}
