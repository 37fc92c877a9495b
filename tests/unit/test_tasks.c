/*
 * The task manager on real files in a temporary directory, and the forked
 * worker pool over real artifacts checked with a small real policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "adapters/system/system.h"
#include "adapters/tasks/tasks.h"
#include "engine/engine.h"
#include "util/error.h"

#define NFILES 50
#define BIG_FINDINGS 100000

static char tmpdir[PATH_MAX];
static char taskdir[PATH_MAX];
static char artdir[PATH_MAX];
static char batchdir[PATH_MAX]; /* where the tests' seal() stores batches */
static int root_fd = -1;
static cr_artifact arts[NFILES + 1];
static size_t nart;
static cr_rules *rules;

static cr_rule policy_rules[2];
static cr_policy policy;
static cr_allowed_source sources[1];
static char *hosts[1];
static cr_registry registry;

/* ---- helpers ------------------------------------------------------------- */

/* snprintf that fails the test on truncation (and keeps -Wformat-truncation quiet). */
static void __attribute__((format(printf, 3, 4))) pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	assert_int_equal(EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void write_file(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	pathf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void add_artifact(const char *name, const char *buf, size_t len)
{
	cr_artifact *a = &arts[nart++];

	write_file(artdir, name, buf, len);
	a->path = strdup(name);
	a->size = len;
	sha256_hex(buf, len, a->sha256);
	a->source = strdup("git:internal/app");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* ---- setup: a policy, a registry, artifacts -------------------------------- */

static int group_setup(void **state)
{
	char *buf;
	size_t cap = 1 << 21;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cr-test-tasks-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	pathf(taskdir, sizeof(taskdir), "%s/git/clean-release/tasks", tmpdir);
	pathf(artdir, sizeof(artdir), "%s/artifacts", tmpdir);
	pathf(batchdir, sizeof(batchdir), "%s/batches", tmpdir);
	if (mkdir(batchdir, 0777) < 0)
		return -1;
	if (mkdir(artdir, 0777) < 0)
		return -1;

	policy_rules[0] = (cr_rule){.id = "secret-token", .stage = CR_STAGE_DATA_PURITY,
				    .severity = CR_SEV_BLOCKER, .description = "a secret token",
				    .matcher = CR_MATCH_CONTENT, .pattern = "SECRET[0-9]+", .secret = true};
	policy_rules[1] = (cr_rule){.id = "external-url", .stage = CR_STAGE_NO_EXTERNAL_ENDPOINTS,
				    .severity = CR_SEV_BLOCKER, .description = "a URL",
				    .matcher = CR_MATCH_ENDPOINT, .pattern = "https?://([A-Za-z0-9.-]+)"};
	snprintf(policy.policy_id, sizeof(policy.policy_id), "test-policy");
	policy.version = 1;
	policy.release_tag_pattern = "^refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$";
	policy.rules = policy_rules;
	policy.rule_count = 2;
	policy.limits.per_artifact_timeout_ms = 60000;
	snprintf(sources[0].id, sizeof(sources[0].id), "internal");
	sources[0].prefix = "git:internal/";
	hosts[0] = "*.example.com";
	snprintf(registry.registry_id, sizeof(registry.registry_id), "test-registry");
	registry.version = 1;
	registry.sources = sources;
	registry.source_count = 1;
	registry.hosts = hosts;
	registry.host_count = 1;
	if (cr_rules_compile(&rules, &policy, &registry) < 0) {
		fprintf(stderr, "cr_rules_compile: %s\n", cr_error_last()->message);
		return -1;
	}

	buf = malloc(cap);
	if (!buf)
		return -1;
	for (int i = 0; i < NFILES; i++) {
		char name[32];
		size_t len = 0;

		snprintf(name, sizeof(name), "f%02d.txt", i);
		for (int k = 0; k < i * 40; k++)
			len += (size_t)snprintf(buf + len, cap - len, "line %d of file %d: nothing to see\n", k, i);
		if (i % 3 == 0)
			for (int k = 0; k <= i % 7; k++)
				len += (size_t)snprintf(buf + len, cap - len, "token = SECRET%d%d\n", i, k);
		if (i % 4 == 0)
			len += (size_t)snprintf(buf + len, cap - len,
						"call https://api.example.com/v1 then http://evil%d.org/x\n", i);
		add_artifact(name, buf, len);
	}
	free(buf);
	root_fd = open(artdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return root_fd < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nart; i++)
		cr_artifact_clear(&arts[i]);
	cr_rules_free(rules);
	if (root_fd >= 0)
		close(root_fd);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- task files ------------------------------------------------------------ */

static void fill_task(cr_task *t, const char *id)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->task_id, sizeof(t->task_id), "%s", id);
	snprintf(t->run_id, sizeof(t->run_id), "run-001");
	t->status = CR_TASK_QUEUED;
	snprintf(t->created_at, sizeof(t->created_at), "2026-03-09T10:15:00Z");
	snprintf(t->updated_at, sizeof(t->updated_at), "2026-03-09T10:15:00Z");
}

static void test_task_file_round_trip(void **state)
{
	cr_task_port port;
	cr_task t, got;
	char path[PATH_MAX], *buf = NULL;
	size_t n = 0;
	FILE *f;
	DIR *d;
	struct dirent *e;

	(void)state;
	assert_int_equal(cr_tasks_open(&port, taskdir, NULL), 0);
	fill_task(&t, "task-run-001");
	assert_int_equal(port.create(port.impl, &t), 0);
	assert_int_equal(port.create(port.impl, &t), CR_ECONFLICT);
	assert_non_null(strstr(cr_error_last()->message, "task-run-001"));

	/* Stored as canonical JSON: keys sorted, no whitespace. */
	pathf(path, sizeof(path), "%s/task-run-001.json", taskdir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(getline(&buf, &n, f) > 0);
	fclose(f);
	assert_true(strncmp(buf, "{\"created_at\":\"2026-03-09T10:15:00Z\",", 37) == 0);
	free(buf);

	assert_int_equal(port.load(port.impl, "task-run-001", &got), 0);
	assert_string_equal(got.task_id, "task-run-001");
	assert_string_equal(got.run_id, "run-001");
	assert_int_equal(got.status, CR_TASK_QUEUED);
	assert_int_equal(got.pid, 0);
	assert_null(got.error);
	cr_task_clear(&got);

	t.status = CR_TASK_FAILED;
	t.pid = 4242;
	t.progress.done = 3;
	t.progress.total = 10;
	snprintf(t.updated_at, sizeof(t.updated_at), "2026-03-09T10:16:00Z");
	t.error = "runner died";
	assert_int_equal(port.save(port.impl, &t), 0);
	assert_int_equal(port.load(port.impl, "task-run-001", &got), 0);
	assert_int_equal(got.status, CR_TASK_FAILED);
	assert_int_equal(got.pid, 4242);
	assert_int_equal(got.progress.done, 3);
	assert_int_equal(got.progress.total, 10);
	assert_string_equal(got.updated_at, "2026-03-09T10:16:00Z");
	assert_string_equal(got.error, "runner died");
	cr_task_clear(&got);

	/* No temporary file is left behind. */
	d = opendir(taskdir);
	assert_non_null(d);
	while ((e = readdir(d)))
		assert_false(e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(d);

	assert_int_equal(port.discard(port.impl, "task-run-001"), 0);
	assert_int_equal(port.load(port.impl, "task-run-001", &got), CR_ENOT_FOUND);
	assert_string_equal(cr_error_last()->message, "task task-run-001 not found");
	assert_int_equal(port.load(port.impl, "never-created", &got), CR_ENOT_FOUND);

	/* Ids are validated before they become paths. */
	assert_int_equal(port.load(port.impl, "../etc/passwd", &got), CR_EINVALID_ARGUMENT);
	fill_task(&t, "../escape");
	assert_int_equal(port.create(port.impl, &t), CR_EINVALID_ARGUMENT);
	assert_int_equal(port.lock(port.impl, "a/b"), CR_EINVALID_ARGUMENT);
	cr_tasks_close(&port);
	cr_tasks_close(NULL);
}

static void test_alive_without_task_or_lock_file(void **state)
{
	cr_task_port port;
	cr_task t;

	(void)state;
	assert_int_equal(cr_tasks_open(&port, taskdir, NULL), 0);
	/* Unknown here: it may run on another clone. */
	assert_int_equal(port.alive(port.impl, "task-elsewhere"), 1);
	/* A task whose runner never took its lock. */
	fill_task(&t, "task-never-started");
	assert_int_equal(port.create(port.impl, &t), 0);
	assert_int_equal(port.alive(port.impl, "task-never-started"), 0);
	cr_tasks_close(&port);
}

static void test_lock_is_seen_alive_by_another_process(void **state)
{
	cr_task_port port;
	cr_task t;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(cr_tasks_open(&port, taskdir, NULL), 0);
	fill_task(&t, "task-locked");
	assert_int_equal(port.create(port.impl, &t), 0);
	assert_int_equal(port.lock(port.impl, "task-locked"), 0);
	assert_int_equal(port.lock(port.impl, "task-locked"), 0); /* ours already */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int code = 0;

		if (port.alive(port.impl, "task-locked") != 1)
			code |= 1;
		if (port.lock(port.impl, "task-locked") != CR_ECONFLICT)
			code |= 2;
		else if (!strstr(cr_error_last()->message, "task task-locked is already running"))
			code |= 4;
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	cr_tasks_close(&port);
}

static void test_dead_holder_is_not_alive(void **state)
{
	cr_task_port port;
	cr_task t;
	int sync[2], status;
	char c;
	pid_t pid;

	(void)state;
	assert_int_equal(cr_tasks_open(&port, taskdir, NULL), 0);
	fill_task(&t, "task-dies");
	assert_int_equal(port.create(port.impl, &t), 0);
	assert_int_equal(pipe(sync), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sync[0]);
		if (port.lock(port.impl, "task-dies") != 0)
			_exit(1);
		if (write(sync[1], "x", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(sync[1]);
	assert_int_equal(read(sync[0], &c, 1), 1);
	close(sync[0]);
	assert_int_equal(port.alive(port.impl, "task-dies"), 1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(port.alive(port.impl, "task-dies"), 0);
	/* And the next runner can take it. */
	assert_int_equal(port.lock(port.impl, "task-dies"), 0);
	cr_tasks_close(&port);
}

/* ---- spawn ----------------------------------------------------------------- */

/* The runner spawn() starts is a fresh exec: here /bin/sh, which records
 * its arguments and pid and becomes sleep(1), holding what it was given. */
static const char spawn_script[] = "echo \"$*\" >\"$0.args\"; echo $$ >\"$0.tmp\"; mv \"$0.tmp\" \"$0\"; exec sleep 60";

static void test_spawn_execs_a_runner_with_the_lock_and_nothing_else(void **state)
{
	cr_task_port port;
	char path[PATH_MAX], args[PATH_MAX], proc[64], link[PATH_MAX], lock[PATH_MAX], tpath[PATH_MAX];
	char line[512] = "";
	const char *argv[4] = {"-c", spawn_script, NULL, NULL};
	long pid = 0, sid = 0;
	FILE *f = NULL;
	int stray, alive = 1;

	(void)state;
	pathf(path, sizeof(path), "%s/spawned.pid", tmpdir);
	pathf(args, sizeof(args), "%s.args", path);
	pathf(lock, sizeof(lock), "%s/task-run-009.lock", taskdir);
	pathf(tpath, sizeof(tpath), "%s/task-run-009.json", taskdir);
	argv[2] = path; /* the script's $0 */
	assert_int_equal(cr_tasks_open(&port, taskdir, &(cr_tasks_opts){.program = "/bin/sh", .argv = argv}), 0);
	/* No lock, no runner. */
	assert_int_equal(port.spawn(port.impl, "task-run-009", 2), CR_EINTERNAL);
	assert_int_equal(port.lock(port.impl, "task-run-009"), 0);
	stray = open("/dev/null", O_RDONLY); /* not CLOEXEC: spawn must not pass it on */
	assert_true(stray > 3);
	assert_int_equal(port.spawn(port.impl, "task-run-009", 2), 0);
	close(stray);
	for (int i = 0; i < 500 && !(f = fopen(path, "r")); i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	assert_non_null(f = fopen(args, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "--task-id task-run-009 --jobs 2 --lock-fd 3\n");
	/* Once it is sleep: stdio and the lock on 3, nothing else inherited. */
	snprintf(proc, sizeof(proc), "/proc/%ld/exe", pid);
	for (int i = 0; i < 500; i++) {
		ssize_t n = readlink(proc, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		if (strstr(link, "sleep"))
			break;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	assert_non_null(strstr(link, "sleep"));
	snprintf(proc, sizeof(proc), "/proc/%ld/fd", pid);
	DIR *d = opendir(proc);
	assert_non_null(d);
	int nfd = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		int fd = (int)strtol(e->d_name, NULL, 10);
		assert_true(fd >= 0 && fd <= 3);
		nfd++;
	}
	closedir(d);
	assert_int_equal(nfd, 4);
	snprintf(proc, sizeof(proc), "/proc/%ld/fd/3", pid);
	ssize_t n = readlink(proc, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	assert_string_equal(link, lock);
	snprintf(proc, sizeof(proc), "/proc/%ld/stat", pid);
	assert_non_null(f = fopen(proc, "r"));
	assert_int_equal(fscanf(f, "%*d (%*[^)]) %*c %*d %*d %ld", &sid), 1);
	fclose(f);
	assert_int_equal(sid, pid); /* a session of its own */
	/* The caller lets go of its copy: the runner still holds the lock. */
	assert_non_null(f = fopen(tpath, "w"));
	fputs("{}", f);
	fclose(f);
	assert_int_equal(port.unlock(port.impl, "task-run-009"), 0);
	assert_int_equal(port.alive(port.impl, "task-run-009"), 1);
	/* The runner ends: its lock goes with it. */
	assert_int_equal(kill((pid_t)pid, SIGTERM), 0);
	assert_int_equal(waitpid((pid_t)pid, NULL, 0), (pid_t)pid);
	alive = port.alive(port.impl, "task-run-009");
	assert_int_equal(alive, 0);
	cr_tasks_close(&port);
	unlink(tpath);
}

/* The local cache beside the task files: entries by plain names only. */
static void test_cache_entries(void **state)
{
	cr_cache_port port;
	char *buf = NULL, path[PATH_MAX];
	size_t len = 0;
	struct stat st;
	static const char *const bad[] = {"", "../x", "a/b", ".hidden", "Upper", "sp ace"};

	(void)state;
	pathf(path, sizeof(path), "%s/git/clean-release/cache", tmpdir);
	assert_int_equal(cr_cache_dir_open(&port, path, 0), 0);
	assert_string_equal(port.dir(port.impl), path);
	assert_int_equal(port.get(port.impl, "manifest-abc.bin", &buf, &len), CR_ENOT_FOUND);
	assert_int_equal(port.put(port.impl, "manifest-abc.bin", "packed", 6), 0);
	pathf(path, sizeof(path), "%s/git/clean-release/cache/manifest-abc.bin", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 6);
	assert_int_equal(port.get(port.impl, "manifest-abc.bin", &buf, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "packed", 6);
	free(buf);
	assert_int_equal(port.put(port.impl, "manifest-abc.bin", "again!!", 7), 0);
	assert_int_equal(port.get(port.impl, "manifest-abc.bin", &buf, &len), 0);
	assert_int_equal(len, 7);
	free(buf);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(port.put(port.impl, bad[i], "x", 1), CR_EINVALID_ARGUMENT);
		assert_int_equal(port.get(port.impl, bad[i], &buf, &len), CR_EINVALID_ARGUMENT);
	}
	cr_cache_dir_close(&port);
}

/* ---- pool ------------------------------------------------------------------ */

typedef struct found {
	size_t index;
	char rule[72];
	uint64_t offset;
} found;

typedef struct collect {
	found *f;
	size_t n, cap;
	unsigned done_calls[NFILES + 1];
	cr_outcome outcome[NFILES + 1];
	bool done_before_finding; /* a finding arrived after its artifact's on_done */
	bool bad_batch;           /* a batch that does not read back as sealed */
	uint64_t progress_done, progress_total;
	unsigned progress_calls;
	int abort_with;
	unsigned dones;
	unsigned started_calls;
	bool started_late;   /* on_started after a batch or an outcome */
	bool started_alone;  /* on_started while no worker was alive */
	int started_fails;   /* on_started returns this */
	/* batches: numbers seen */
	uint64_t chunks[4096][3]; /* chunk, first, count */
	size_t nchunks;
	/* worker inspection: who sealed batches, and with the lock or not */
	const char *lock_path;
	long sealers[8];
	size_t nsealers;
	int children_with_lock;
} collect;


/* The job's seal(), in a worker: the batch as lines of a file named by the
 * batch number ("index rule offset" each). */
static bool self_holds(const char *lock_path);

static int t_seal(const cr_pool_finding *f, size_t n, cr_pool_batch *b, void *ctx)
{
	const collect *c = ctx;
	char path[PATH_MAX];
	FILE *out;

	snprintf(b->ref, sizeof(b->ref), "batch-%llu", (unsigned long long)b->chunk);
	pathf(path, sizeof(path), "%s/%s", batchdir, b->ref);
	if (!(out = fopen(path, "w")))
		return cr_error_set(CR_ESTORAGE, "cannot write %s", path);
	/* Which worker sealed it, and whether it holds the runner's lock. */
	fprintf(out, "%llu %zu %ld %d\n", (unsigned long long)b->first, n, (long)getpid(),
		c->lock_path && self_holds(c->lock_path));
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%zu %s %llu\n", f[i].index, f[i].f.rule_id,
			(unsigned long long)(f[i].f.has_location ? f[i].f.location.offset : UINT64_MAX));
	return fclose(out) == 0 ? 0 : cr_error_set(CR_ESTORAGE, "cannot write %s", path);
}

/* on_batch: read the batch back. */
static int c_batch(const cr_pool_batch *b, void *ctx)
{
	collect *c = ctx;
	char path[PATH_MAX], rule[72];
	unsigned long long first = 0, offset;
	size_t n = 0, index;
	long pid = 0;
	int holds = 0;
	FILE *in;

	pathf(path, sizeof(path), "%s/%s", batchdir, b->ref);
	if (!(in = fopen(path, "r")) || fscanf(in, "%llu %zu %ld %d", &first, &n, &pid, &holds) != 4 ||
	    first != b->first || n != b->count) {
		c->bad_batch = true;
		if (in)
			fclose(in);
		return 0;
	}
	c->children_with_lock += holds;
	for (size_t k = 0;; k++) {
		if (k == c->nsealers) {
			if (k < sizeof(c->sealers) / sizeof(c->sealers[0]))
				c->sealers[c->nsealers++] = pid;
			break;
		}
		if (c->sealers[k] == pid)
			break;
	}
	if (c->nchunks < sizeof(c->chunks) / sizeof(c->chunks[0])) {
		c->chunks[c->nchunks][0] = b->chunk;
		c->chunks[c->nchunks][1] = b->first;
		c->chunks[c->nchunks][2] = b->count;
		c->nchunks++;
	}
	for (size_t k = 0; k < n; k++) {
		if (fscanf(in, "%zu %71s %llu", &index, rule, &offset) != 3) {
			c->bad_batch = true;
			break;
		}
		if (index >= nart || c->done_calls[index])
			c->done_before_finding = true;
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 256;
			c->f = realloc(c->f, c->cap * sizeof(*c->f));
			if (!c->f) {
				fclose(in);
				return -1;
			}
		}
		c->f[c->n].index = index;
		snprintf(c->f[c->n].rule, sizeof(c->f[c->n].rule), "%s", rule);
		c->f[c->n].offset = offset;
		c->n++;
	}
	fclose(in);
	unlink(path);
	return 0;
}

/* Batch numbers are distinct and so are the finding numbers they cover. */
static void assert_batches_numbered(const collect *c)
{
	uint64_t total = 0;

	assert_false(c->bad_batch);
	for (size_t i = 0; i < c->nchunks; i++) {
		total += c->chunks[i][2];
		for (size_t j = i + 1; j < c->nchunks; j++) {
			const uint64_t *x = c->chunks[i], *y = c->chunks[j];

			assert_true(x[0] != y[0]);
			assert_true(x[1] + x[2] <= y[1] || y[1] + y[2] <= x[1]);
		}
	}
	assert_int_equal(total, c->n);
}

/* Whether this process has LOCK_PATH open. */
static bool self_holds(const char *lock_path)
{
	DIR *fds = opendir("/proc/self/fd");
	struct dirent *fe;
	bool held = false;

	if (!fds)
		return false;
	while (!held && (fe = readdir(fds))) {
		char link[PATH_MAX], target[PATH_MAX];
		ssize_t n;

		pathf(link, sizeof(link), "/proc/self/fd/%s", fe->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		held = strcmp(target, lock_path) == 0;
	}
	closedir(fds);
	return held;
}

static int c_done(size_t index, const cr_outcome *o, void *ctx)
{
	collect *c = ctx;

	if (index < nart) {
		c->done_calls[index]++;
		c->outcome[index] = *o;
	}
	c->dones++;
	if (c->abort_with && c->dones == 1)
		return c->abort_with;
	return 0;
}

static void c_progress(uint64_t done, uint64_t total, void *ctx)
{
	collect *c = ctx;

	c->progress_done = done;
	c->progress_total = total;
	c->progress_calls++;
}

/* Whether this process has a child (a worker) alive. */
static bool has_child(void)
{
	char path[64], buf[4096];
	pathf(path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;

	if (f)
		fclose(f);
	return n > 0;
}

static int c_started(void *ctx)
{
	collect *c = ctx;

	c->started_calls++;
	c->started_late |= c->nchunks > 0 || c->dones > 0;
	c->started_alone |= !has_child();
	return c->started_fails;
}

static const cr_pool_callbacks callbacks = {c_batch, c_done, c_progress, c_started};

static int cmp_found(const void *a, const void *b)
{
	const found *x = a, *y = b;
	int r;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	if ((r = strcmp(x->rule, y->rule)) != 0)
		return r;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

static cr_pool_seq seq;

/* BATCH_MAX findings a batch, numbering from 0 again. */
static cr_pool_job make_job_batched(unsigned jobs, uint64_t timeout_ms, size_t batch_max)
{
	cr_pool_job job = {.artifacts = arts, .count = nart, .root_fd = root_fd, .rules = rules, .jobs = jobs,
			   .timeout_ms = timeout_ms, .seal = t_seal, .batch_max = batch_max, .seq = &seq};

	memset(&seq, 0, sizeof(seq));
	return job;
}

static cr_pool_job make_job(unsigned jobs, uint64_t timeout_ms)
{
	return make_job_batched(jobs, timeout_ms, 1000);
}

static void assert_normal_outcome(const collect *c, size_t i)
{
	assert_int_equal(c->done_calls[i], 1);
	assert_true(c->outcome[i].read_ok);
	for (int s = 0; s < CR_STAGE__COUNT; s++)
		assert_false(c->outcome[i].stage_error[s]);
	assert_int_equal(c->outcome[i].size, arts[i].size);
	assert_string_equal(c->outcome[i].sha256, arts[i].sha256);
}

/* What the policy finds in file I of the set (see group_setup). */
static size_t expected_findings(size_t i)
{
	return (i % 3 == 0 ? i % 7 + 1 : 0) + (i % 4 == 0 ? 1 : 0);
}

/* Each artifact but SKIP has exactly its findings: none lost, none twice
 * (a worker that dies takes unreported outcomes with it; they are checked
 * again). */
static void assert_findings_per_artifact(const collect *c, size_t skip)
{
	size_t count[NFILES] = {0};

	for (size_t k = 0; k < c->n; k++)
		if (c->f[k].index < NFILES)
			count[c->f[k].index]++;
	for (size_t i = 0; i < NFILES; i++)
		if (i != skip)
			assert_int_equal(count[i], expected_findings(i));
}

static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* A run with no failure: every artifact's outcome normal, each finding
 * once, batches numbered without overlap, no outcome before its findings. */
static void assert_clean_run(const collect *c)
{
	for (size_t i = 0; i < nart; i++)
		assert_normal_outcome(c, i);
	assert_findings_per_artifact(c, SIZE_MAX);
	assert_batches_numbered(c);
	assert_false(c->done_before_finding);
}

static void test_pool_same_findings_with_one_and_three_workers(void **state)
{
	collect one, three;
	cr_pool_job job;
	size_t secrets = 0, urls = 0;
	int fds = count_fds();

	(void)state;
	memset(&one, 0, sizeof(one));
	memset(&three, 0, sizeof(three));
	job = make_job(1, 0);
	assert_int_equal(cr_pool_run(&job, &callbacks, &one, NULL), 0);
	job = make_job(3, 0);
	assert_int_equal(cr_pool_run(&job, &callbacks, &three, NULL), 0);
	/* on_started: once, with the workers running, before anything came back. */
	assert_int_equal(one.started_calls, 1);
	assert_int_equal(three.started_calls, 1);
	assert_false(one.started_late || three.started_late);
	assert_false(one.started_alone || three.started_alone);

	assert_int_equal(one.n, three.n);
	qsort(one.f, one.n, sizeof(*one.f), cmp_found);
	qsort(three.f, three.n, sizeof(*three.f), cmp_found);
	for (size_t i = 0; i < one.n; i++) {
		assert_int_equal(cmp_found(&one.f[i], &three.f[i]), 0);
		secrets += strcmp(one.f[i].rule, "secret-token") == 0;
		urls += strcmp(one.f[i].rule, "external-url") == 0;
	}
	/* Files 0, 3, ... hold (i % 7 + 1) secrets; files 0, 4, ... one bad URL. */
	{
		size_t want_secrets = 0, want_urls = 0;

		for (int i = 0; i < NFILES; i++) {
			want_secrets += i % 3 == 0 ? (size_t)(i % 7 + 1) : 0;
			want_urls += i % 4 == 0;
		}
		assert_int_equal(secrets, want_secrets);
		assert_int_equal(urls, want_urls);
	}
	assert_clean_run(&one);
	assert_clean_run(&three);
	assert_int_equal(one.dones, nart);
	assert_int_equal(three.dones, nart);
	assert_int_equal(one.progress_done, nart);
	assert_int_equal(one.progress_total, nart);
	assert_int_equal(three.progress_done, nart);
	assert_int_equal(three.progress_total, nart);
	assert_no_children();
	assert_int_equal(count_fds(), fds);
	free(one.f);
	free(three.f);
}

static void test_pool_crash_gives_stage_errors_for_that_artifact_only(void **state)
{
	collect c;
	cr_pool_job job = make_job(2, 0);
	const size_t crash = 21;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, &(cr_pool_faults){.crash_path = arts[crash].path}), 0);

	assert_int_equal(c.done_calls[crash], 1);
	assert_true(c.outcome[crash].read_ok);
	assert_true(c.outcome[crash].stage_error[CR_STAGE_DATA_PURITY]);
	assert_true(c.outcome[crash].stage_error[CR_STAGE_NO_EXTERNAL_ENDPOINTS]);
	assert_true(c.outcome[crash].stage_error[CR_STAGE_MANIFEST_CONSISTENCY]);
	assert_false(c.outcome[crash].stage_error[CR_STAGE_INTERNAL_SOURCES_ONLY]);
	assert_non_null(strstr(c.outcome[crash].error, "SIGSEGV"));
	assert_non_null(strstr(c.outcome[crash].error, "signal 11"));
	assert_non_null(strstr(c.outcome[crash].error, arts[crash].path));
	for (size_t i = 0; i < nart; i++)
		if (i != crash)
			assert_normal_outcome(&c, i);
	assert_findings_per_artifact(&c, crash);
	assert_batches_numbered(&c);
	assert_false(c.done_before_finding);
	assert_int_equal(c.dones, nart);
	assert_int_equal(c.progress_done, nart);
	assert_no_children();
	free(c.f);
}

/* Findings per artifact, whatever the batches: with three findings a batch,
 * most artifacts' findings span two batches, and one or three workers find
 * the same. */
static void test_pool_small_batches_lose_nothing(void **state)
{
	collect one, three;
	cr_pool_job job;

	(void)state;
	memset(&one, 0, sizeof(one));
	memset(&three, 0, sizeof(three));
	job = make_job_batched(1, 0, 3);
	assert_int_equal(cr_pool_run(&job, &callbacks, &one, NULL), 0);
	assert_true(seq.chunk >= one.n / 3);
	assert_int_equal(seq.finding, one.n);
	job = make_job_batched(3, 0, 3);
	assert_int_equal(cr_pool_run(&job, &callbacks, &three, NULL), 0);
	assert_int_equal(seq.finding, three.n);
	assert_clean_run(&one);
	assert_clean_run(&three);
	assert_no_children();
	free(one.f);
	free(three.f);
}

/* A crash with small batches: the artifacts whose findings the dead worker
 * still held are checked again (found once, not twice); one whose findings
 * were partly stored gets stage errors saying so, not a double count. */
static void test_pool_crash_with_unsealed_findings(void **state)
{
	collect c;
	cr_pool_job job = make_job_batched(2, 0, 3);
	const size_t crash = 21;
	size_t count[NFILES] = {0};

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, &(cr_pool_faults){.crash_path = arts[crash].path}), 0);

	assert_non_null(strstr(c.outcome[crash].error, "SIGSEGV"));
	for (size_t k = 0; k < c.n; k++)
		if (c.f[k].index < NFILES)
			count[c.f[k].index]++;
	for (size_t i = 0; i < nart; i++) {
		assert_int_equal(c.done_calls[i], 1);
		if (i == crash)
			continue;
		if (c.outcome[i].stage_error[CR_STAGE_DATA_PURITY]) {
			assert_non_null(strstr(c.outcome[i].error, "worker ended before storing all findings"));
			assert_non_null(strstr(c.outcome[i].error, arts[i].path));
			assert_true(count[i] < expected_findings(i));
		} else {
			assert_normal_outcome(&c, i);
			assert_int_equal(count[i], expected_findings(i));
		}
	}
	assert_batches_numbered(&c);
	assert_false(c.done_before_finding);
	assert_int_equal(c.dones, nart);
	assert_no_children();
	free(c.f);
}

/* seal() failing in a worker aborts the pool with its error. */
static int t_seal_fails(const cr_pool_finding *f, size_t n, cr_pool_batch *b, void *ctx)
{
	(void)f;
	(void)n;
	(void)b;
	(void)ctx;
	return cr_error_set(CR_ESTORAGE, "disk full (test)");
}

static void test_pool_seal_failure_aborts(void **state)
{
	collect c;
	cr_pool_job job = make_job(2, 0);
	int fds = count_fds();

	(void)state;
	memset(&c, 0, sizeof(c));
	job.seal = t_seal_fails;
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, NULL), CR_ESTORAGE);
	assert_string_equal(cr_error_last()->message, "disk full (test)");
	assert_true(c.dones < nart);
	assert_no_children();
	assert_int_equal(count_fds(), fds);
	free(c.f);
}

static void test_pool_started_failure_aborts(void **state)
{
	collect c;
	cr_pool_job job = make_job(2, 0);
	int fds = count_fds();

	(void)state;
	memset(&c, 0, sizeof(c));
	c.started_fails = cr_error_set(CR_ECONFLICT, "lost (test)");
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, NULL), CR_ECONFLICT);
	assert_string_equal(cr_error_last()->message, "lost (test)");
	assert_int_equal(c.started_calls, 1);
	assert_true(c.dones < nart);
	assert_no_children();
	assert_int_equal(count_fds(), fds);
	free(c.f);
}

static void test_pool_hang_times_out_naming_the_artifact(void **state)
{
	collect c;
	cr_pool_job job = make_job(2, 300);
	const size_t hang = 30;
	uint64_t t0, elapsed;

	(void)state;
	memset(&c, 0, sizeof(c));
	t0 = now_ms();
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, &(cr_pool_faults){.hang_path = arts[hang].path}), 0);
	elapsed = now_ms() - t0;

	assert_int_equal(c.done_calls[hang], 1);
	assert_true(c.outcome[hang].stage_error[CR_STAGE_DATA_PURITY]);
	assert_true(c.outcome[hang].stage_error[CR_STAGE_NO_EXTERNAL_ENDPOINTS]);
	assert_true(c.outcome[hang].stage_error[CR_STAGE_MANIFEST_CONSISTENCY]);
	assert_string_equal(c.outcome[hang].error, "artifact f30.txt exceeded the per-artifact time limit of 300 ms");
	for (size_t i = 0; i < nart; i++)
		if (i != hang)
			assert_normal_outcome(&c, i);
	assert_findings_per_artifact(&c, hang);
	assert_false(c.done_before_finding);
	assert_true(elapsed >= 300);
	assert_true(elapsed < 1500);
	assert_no_children();
	free(c.f);
}

/* A lone worker that hangs on its very first artifact (the parent went to
 * sleep before the worker said what it was on) still hits the limit. */
static void test_pool_hang_of_a_lone_worker_on_its_first_artifact(void **state)
{
	collect c;
	cr_pool_job job = make_job(1, 200);
	const size_t hang = NFILES - 1; /* the largest: checked first */
	uint64_t t0, elapsed;

	(void)state;
	memset(&c, 0, sizeof(c));
	t0 = now_ms();
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, &(cr_pool_faults){.hang_path = arts[hang].path}), 0);
	elapsed = now_ms() - t0;

	assert_int_equal(c.done_calls[hang], 1);
	assert_non_null(strstr(c.outcome[hang].error, "time limit of 200 ms"));
	for (size_t i = 0; i < nart; i++)
		if (i != hang)
			assert_normal_outcome(&c, i);
	assert_findings_per_artifact(&c, hang);
	assert_true(elapsed >= 200);
	assert_true(elapsed < 1500);
	assert_no_children();
	free(c.f);
}

static void test_pool_callback_abort_kills_workers(void **state)
{
	collect c;
	cr_pool_job job = make_job(3, 0);
	int fds = count_fds();

	(void)state;
	memset(&c, 0, sizeof(c));
	c.abort_with = 7;
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, NULL), 7);
	assert_int_equal(c.dones, 1);
	assert_no_children();
	assert_int_equal(count_fds(), fds);
	free(c.f);
}

static void test_pool_workers_do_not_hold_the_runner_lock(void **state)
{
	cr_task_port port;
	cr_task t;
	collect c;
	/* Every finding sealed at once, so each worker that checked something
	 * reports from inside itself. Both must: the 50 small artifacts fit one
	 * worker's queue, and the pool splits a short queue between them. */
	cr_pool_job job = make_job_batched(2, 0, 1);
	char lock_path[PATH_MAX];

	(void)state;
	assert_int_equal(cr_tasks_open(&port, taskdir, NULL), 0);
	fill_task(&t, "task-runner");
	assert_int_equal(port.create(port.impl, &t), 0);
	assert_int_equal(port.lock(port.impl, "task-runner"), 0);
	pathf(lock_path, sizeof(lock_path), "%s/task-runner.lock", taskdir);

	memset(&c, 0, sizeof(c));
	c.lock_path = lock_path;
	assert_int_equal(port.scan(port.impl, &job, &callbacks, &c), 0);
	assert_int_equal(c.nsealers, 2);
	assert_int_equal(c.children_with_lock, 0);
	/* and the check can see a lock: this process holds it */
	assert_true(self_holds(lock_path));
	assert_int_equal(c.dones, nart);
	assert_no_children();
	free(c.f);
	cr_tasks_close(&port);
}

static void test_pool_streams_many_findings(void **state)
{
	const char *line = "k=SECRET7\n";
	size_t filler = 5u << 20; /* larger than what a worker is given at once */
	size_t len = strlen(line) * BIG_FINDINGS + filler;
	char *buf = malloc(len);
	cr_artifact saved = arts[nart];
	collect c;
	cr_pool_job job;
	uint64_t t0, elapsed;
	size_t big;

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < BIG_FINDINGS; i++)
		memcpy(buf + i * strlen(line), line, strlen(line));
	for (size_t i = strlen(line) * BIG_FINDINGS; i < len; i++)
		buf[i] = i % 64 == 63 ? '\n' : 'x';
	big = nart;
	add_artifact("big.txt", buf, len);
	free(buf);

	memset(&c, 0, sizeof(c));
	job = make_job(2, 0);
	t0 = now_ms();
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, NULL), 0);
	elapsed = now_ms() - t0;
	assert_normal_outcome(&c, big);
	{
		size_t in_big = 0;

		for (size_t i = 0; i < c.n; i++)
			in_big += c.f[i].index == big;
		assert_int_equal(in_big, BIG_FINDINGS);
	}
	assert_findings_per_artifact(&c, SIZE_MAX);
	print_message("pool: %zu findings in %llu ms\n", c.n, (unsigned long long)elapsed);
	assert_no_children();
	free(c.f);
	cr_artifact_clear(&arts[big]);
	arts[big] = saved;
	nart = big;
}

/* With max_per_run, three workers hold exactly that many findings between
 * them; each artifact's outcome counts the rest (by stage, BLOCKERs
 * apart), so held + left out is every finding, per artifact. */
static void test_pool_run_cap_counts_what_it_does_not_hold(void **state)
{
	collect c;
	cr_pool_job job;
	size_t held[NFILES] = {0}, expected = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	job = make_job_batched(3, 0, 2);
	job.max_per_run = 5;
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, NULL), 0);
	assert_int_equal(c.n, 5);
	assert_true(seq.held >= 5);
	for (size_t k = 0; k < c.n; k++)
		held[c.f[k].index]++;
	for (size_t i = 0; i < NFILES; i++) {
		uint64_t left = 0;

		for (int s = 0; s < CR_STAGE__COUNT; s++) {
			assert_true(c.outcome[i].left_out_blockers[s] <= c.outcome[i].left_out[s]);
			left += c.outcome[i].left_out[s];
		}
		assert_int_equal(held[i] + left, expected_findings(i));
		expected += expected_findings(i);
	}
	assert_true(expected > 5);
	assert_batches_numbered(&c);
	assert_no_children();
	free(c.f);
}

/* In a child that may not fork at all: every artifact gets an outcome with
 * stage errors, and the pool returns instead of waiting forever. */
static void test_pool_without_workers_marks_every_artifact(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit none = {0, 0};
		collect c;
		cr_pool_job job = make_job(2, 0);
		int code = 0;

		/* RLIMIT_NPROC does not bind root: become nobody first. */
		if (getuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(77);
		if (setrlimit(RLIMIT_NPROC, &none) < 0)
			_exit(77);
		memset(&c, 0, sizeof(c));
		if (cr_pool_run(&job, &callbacks, &c, NULL) != 0)
			code |= 1;
		for (size_t i = 0; i < nart; i++) {
			if (c.done_calls[i] != 1 || !c.outcome[i].stage_error[CR_STAGE_DATA_PURITY] ||
			    !c.outcome[i].stage_error[CR_STAGE_NO_EXTERNAL_ENDPOINTS] ||
			    !c.outcome[i].stage_error[CR_STAGE_MANIFEST_CONSISTENCY] ||
			    !strstr(c.outcome[i].error, arts[i].path) ||
			    !strstr(c.outcome[i].error, "cannot start a worker process"))
				code |= 2;
		}
		if (c.progress_done != nart || c.progress_total != nart)
			code |= 4;
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_pool_empty_and_bad_jobs(void **state)
{
	collect c;
	cr_pool_job job = make_job(2, 0);

	(void)state;
	memset(&c, 0, sizeof(c));
	job.count = 0;
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, NULL), 0);
	assert_int_equal(c.progress_calls, 1);
	assert_int_equal(c.progress_total, 0);
	job = make_job(0, 0);
	assert_int_equal(cr_pool_run(&job, &callbacks, &c, NULL), CR_EINVALID_ARGUMENT);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_task_file_round_trip),
		cmocka_unit_test(test_alive_without_task_or_lock_file),
		cmocka_unit_test(test_lock_is_seen_alive_by_another_process),
		cmocka_unit_test(test_dead_holder_is_not_alive),
		cmocka_unit_test(test_spawn_execs_a_runner_with_the_lock_and_nothing_else),
		cmocka_unit_test(test_cache_entries),
		cmocka_unit_test(test_pool_same_findings_with_one_and_three_workers),
		cmocka_unit_test(test_pool_crash_gives_stage_errors_for_that_artifact_only),
		cmocka_unit_test(test_pool_small_batches_lose_nothing),
		cmocka_unit_test(test_pool_crash_with_unsealed_findings),
		cmocka_unit_test(test_pool_seal_failure_aborts),
		cmocka_unit_test(test_pool_started_failure_aborts),
		cmocka_unit_test(test_pool_hang_times_out_naming_the_artifact),
		cmocka_unit_test(test_pool_hang_of_a_lone_worker_on_its_first_artifact),
		cmocka_unit_test(test_pool_callback_abort_kills_workers),
		cmocka_unit_test(test_pool_workers_do_not_hold_the_runner_lock),
		cmocka_unit_test(test_pool_streams_many_findings),
		cmocka_unit_test(test_pool_run_cap_counts_what_it_does_not_hold),
		cmocka_unit_test(test_pool_without_workers_marks_every_artifact),
		cmocka_unit_test(test_pool_empty_and_bad_jobs),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
