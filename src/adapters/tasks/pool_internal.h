#ifndef CR_ADAPTERS_TASKS_POOL_INTERNAL_H
#define CR_ADAPTERS_TASKS_POOL_INTERNAL_H
/*
 * What the two sides of the forked worker pool share: pool_worker.c (what a
 * worker runs, and the records it writes) and pool.c (the parent, which
 * reads them). The parent forks the workers after the rules are
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
 * numbers come from one shared counter that workers take from atomically;
 * a second one counts the findings held in the whole run, against the
 * job's max_per_run (past it a worker counts a finding in its artifact's
 * DONE instead).
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
 *            batch), u64 left_out[4] and u64 left_out_blockers[4]
 *            (findings the run's cap counted, not held), str sha256,
 *            str error
 *     BATCH: u64 chunk, u64 first, u64 count (findings held), u64 by_stage[4]
 *            (findings found: a summary of those a cap left out counts them),
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
 * Faults for the tests (cr_pool_faults, which the CLI reads from
 * CR_TEST_WORKER_CRASH, CR_TEST_WORKER_HANG and CR_TEST_WORKER_PAUSE, like
 * git's GIT_TEST_*): a worker about to check the artifact whose path equals
 * the crash path raises SIGSEGV; the hang path, it pause()s forever; the
 * pause path, it stops itself (SIGSTOP) and checks it once continued.
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
static const cr_stage content_stages[] __attribute__((unused)) = {
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
	wstatus *status; /* shared mapping, one per worker slot, then the counters */
	_Atomic uint64_t *seq, *held;
	uint64_t t0;     /* pool clock origin */
	uint64_t done;
	uint64_t reported, last_progress_ms;
	bool started_cb; /* on_started was called */
	const char *crash_path, *hang_path, *pause_path;
	pid_t self;
	char start_error[256]; /* why the last worker could not be started */
} pool;

enum cause { GONE_EOF, GONE_TIMEOUT, GONE_PROTOCOL };

/* An artifact part of whose findings are stored when its worker died. */
#define LOST_FINDINGS "worker ended before storing all findings of artifact %s"

#define STATUS_IDLE 0




/* The pool clock: milliseconds, monotonic. */
uint64_t cr_pool_now_ms(void);
/* snprintf that may truncate (messages are bounded) without cutting a UTF-8
 * sequence in two: the text ends up in JSON. */
void cr_pool_msgf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Mark the content stages of O as not vouched for. */
void cr_pool_content_errors(cr_outcome *o);
/* The body of a forked worker: checks what REQ_FD asks, answers on REC_FD. */
void cr_pool_worker_main(const pool *p, wstatus *st, int req_fd, int rec_fd) __attribute__((noreturn));

#endif
