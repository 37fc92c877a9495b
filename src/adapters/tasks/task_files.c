/*
 * The task manager on task files: <dir>/<task_id>.json holds the task (local
 * operational state, never pushed), <dir>/<task_id>.lock is the runner's
 * flock. Liveness is "is the flock held", never "does the pid exist": a dead
 * runner's flock is released by the kernel whatever process gets its pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapters/tasks/tasks.h"
#include "adapters/tasks/task_json.h"
#include "domain/codec.h"
#include "domain/ids.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/json.h"

#define TASK_FILE_EXT ".json"
#define TASK_LOCK_EXT ".lock"
#define TASK_FILE_MAX_BYTES (1u << 20)
#define TASK_DIR_MODE 0777  /* less the umask, as git creates $GIT_DIR entries */
#define TASK_FILE_MODE 0666
/* alive() takes a shared flock for an instant; a runner starting at that
 * very moment retries for up to this long before reporting a conflict. */
#define LOCK_RETRY_COUNT 20
#define LOCK_RETRY_NS (5 * 1000 * 1000)

/* A runner lock this port holds. */
typedef struct held_lock {
	char *task_id;
	int fd;
	pid_t pid; /* the process that took it (a forked child holds none) */
} held_lock;

typedef struct tasks_impl {
	char *dir;
	/* The runner command (spawn) and the tests' faults, copied. */
	char *program;
	char **argv;
	size_t argc;
	char *crash_path, *hang_path, *pause_path;
	bool fault_save_enospc;
	int shared;
	/* Runner locks held through this port, and runners spawned and not
	 * yet waited for (a long-lived caller collects them on later calls). */
	pthread_mutex_t mu;
	held_lock *held;
	size_t nheld, aheld;
	pid_t *kids;
	size_t nkids, akids;
	atomic_uint tmp_counter; /* names of temporary task files */
} tasks_impl;

static int check_id(const char *task_id)
{
	const char *why = cr_task_id_invalid(task_id);

	if (why)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid task id \"%.140s\": %s",
				    task_id ? task_id : "", why);
	return 0;
}

static int task_path(char *buf, size_t len, const tasks_impl *t, const char *task_id, const char *ext)
{
	int rc = check_id(task_id);
	int n;

	if (rc < 0)
		return rc;
	n = snprintf(buf, len, "%s/%s%s", t->dir, task_id, ext);
	if (n < 0 || (size_t)n >= len)
		return cr_error_set(CR_EINVALID_ARGUMENT, "task path too long: %s/%s%s", t->dir, task_id, ext);
	return 0;
}

static int task_json(const cr_task *task, char **out, size_t *len)
{
	cJSON *j = cr_task_to_json(task);

	if (!j)
		return cr_error_last()->code ? cr_error_last()->code
					     : cr_error_set(CR_EINTERNAL, "out of memory encoding task %s", task->task_id);
	*out = cr_json_canonical(j, len);
	cJSON_Delete(j);
	if (!*out)
		return cr_error_set(CR_EINTERNAL, "out of memory encoding task %s", task->task_id);
	return 0;
}

/* Write BUF to a fresh file PATH (fsync'd); CR_ESTORAGE naming it on failure. */
static int write_new_file(const char *path, int flags, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags, TASK_FILE_MODE);
	int err;

	if (fd < 0)
		return -1;
	if (cr_fs_write_full(fd, buf, len) < 0 || fsync(fd) < 0) {
		err = errno;
		close(fd);
		unlink(path);
		errno = err;
		return -1;
	}
	if (close(fd) < 0) {
		err = errno;
		unlink(path);
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * Exclusive creation that readers never see half-written: write a temp file,
 * then link() it to the final name (fails with EEXIST atomically, like
 * O_EXCL). On a filesystem without hard links, fall back to O_EXCL.
 */
static int t_create(void *impl, const cr_task *task)
{
	tasks_impl *t = impl;
	char path[PATH_MAX], tmp[PATH_MAX];
	char *json = NULL;
	size_t len = 0;
	int rc, n;

	if ((rc = task_path(path, sizeof(path), t, task->task_id, TASK_FILE_EXT)) < 0)
		return rc;
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.%u.tmp", t->dir, task->task_id, (long)getpid(),
		     atomic_fetch_add(&t->tmp_counter, 1));
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return cr_error_set(CR_EINVALID_ARGUMENT, "task path too long: %s", path);
	if ((rc = cr_fs_mkdirs(t->dir, TASK_DIR_MODE)) < 0)
		return rc;
	cr_fs_share_dirs(t->dir, 1, t->shared);
	if ((rc = task_json(task, &json, &len)) < 0)
		return rc;

	if (write_new_file(tmp, O_TRUNC, json, len) < 0) {
		rc = cr_error_set(CR_ESTORAGE, "cannot write task file %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	cr_fs_share(tmp, t->shared); /* the link keeps its mode */
	if (link(tmp, path) == 0) {
		rc = 0;
	} else if (errno == EEXIST) {
		rc = cr_error_set(CR_ECONFLICT, "task %s already exists", task->task_id);
	} else if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS) {
		if (write_new_file(path, O_EXCL, json, len) == 0)
			rc = 0;
		else if (errno == EEXIST)
			rc = cr_error_set(CR_ECONFLICT, "task %s already exists", task->task_id);
		else
			rc = cr_error_set(CR_ESTORAGE, "cannot create task file %s: %s", path, strerror(errno));
	} else {
		rc = cr_error_set(CR_ESTORAGE, "cannot create task file %s: %s", path, strerror(errno));
	}
	unlink(tmp);
cleanup:
	free(json);
	return rc;
}

static int t_save(void *impl, const cr_task *task)
{
	tasks_impl *t = impl;
	char path[PATH_MAX];
	char *json = NULL;
	size_t len = 0;
	int rc;

	if ((rc = task_path(path, sizeof(path), t, task->task_id, TASK_FILE_EXT)) < 0)
		return rc;
	if (t->fault_save_enospc)
		return cr_error_set(CR_ESTORAGE, "cannot write task file %s: %s", path, strerror(ENOSPC));
	if ((rc = cr_fs_mkdirs(t->dir, TASK_DIR_MODE)) < 0)
		return rc;
	cr_fs_share_dirs(t->dir, 1, t->shared);
	if ((rc = task_json(task, &json, &len)) < 0)
		return rc;
	/* Progress is rewritten every 100 ms while the run goes on, and the
	 * runner's lock, not this file, says whether it is alive: atomic but
	 * not synced. The first and the last state of a task are synced. */
	rc = task->status == CR_TASK_RUNNING ? cr_fs_write_replace(path, json, len) : cr_fs_write_atomic(path, json, len);
	if (rc == 0)
		cr_fs_share(path, t->shared);
	free(json);
	return rc;
}

static int t_load(void *impl, const char *task_id, cr_task *out)
{
	tasks_impl *t = impl;
	char path[PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	cJSON *j = NULL;
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = task_path(path, sizeof(path), t, task_id, TASK_FILE_EXT)) < 0)
		return rc;
	if ((rc = cr_fs_read_all(path, TASK_FILE_MAX_BYTES, &buf, &len)) < 0) {
		if (stat(path, &st) < 0 && errno == ENOENT)
			rc = cr_error_set(CR_ENOT_FOUND, "task %s not found", task_id);
		goto cleanup;
	}
	if ((rc = cr_json_parse(&j, buf, len, path)) < 0)
		goto cleanup;
	rc = cr_task_from_json(j, out);
cleanup:
	cJSON_Delete(j);
	free(buf);
	if (rc < 0)
		cr_task_clear(out);
	return rc;
}

static int t_discard(void *impl, const char *task_id)
{
	tasks_impl *t = impl;
	char path[PATH_MAX];
	int rc;

	if ((rc = task_path(path, sizeof(path), t, task_id, TASK_FILE_EXT)) < 0)
		return rc;
	/* The lock file stays: unlinking a lock file others may hold is racy,
	 * and a task whose request was never committed never had a runner. */
	if (unlink(path) < 0 && errno != ENOENT)
		return cr_error_set(CR_ESTORAGE, "cannot remove task file %s: %s", path, strerror(errno));
	return 0;
}

/* The slot of TASK_ID's lock among those held, or -1 (MU held). */
static ssize_t held_find(const tasks_impl *t, const char *task_id)
{
	pid_t self = getpid();
	for (size_t i = 0; i < t->nheld; i++)
		if (t->held[i].pid == self && !strcmp(t->held[i].task_id, task_id))
			return (ssize_t)i;
	return -1;
}

/* Record FD as TASK_ID's lock (MU held); on failure FD is left to the caller. */
static int held_add(tasks_impl *t, const char *task_id, int fd)
{
	if (cr_grow((void **)&t->held, &t->aheld, t->nheld + 1, sizeof(*t->held)) < 0)
		return CR_EINTERNAL;
	if (!(t->held[t->nheld].task_id = strdup(task_id)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	t->held[t->nheld].pid = getpid();
	t->held[t->nheld++].fd = fd;
	return 0;
}

static int t_lock(void *impl, const char *task_id)
{
	tasks_impl *t = impl;
	char path[PATH_MAX];
	int fd = -1, rc;

	if ((rc = task_path(path, sizeof(path), t, task_id, TASK_LOCK_EXT)) < 0)
		return rc;
	if ((rc = cr_fs_mkdirs(t->dir, TASK_DIR_MODE)) < 0)
		return rc;
	cr_fs_share_dirs(t->dir, 1, t->shared);
	pthread_mutex_lock(&t->mu);
	if (held_find(t, task_id) >= 0) {
		rc = 0; /* ours already */
		goto cleanup;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, TASK_FILE_MODE);
	if (fd < 0) {
		rc = cr_error_set(CR_ESTORAGE, "cannot open task lock %s: %s", path, strerror(errno));
		goto cleanup;
	}
	cr_fs_share(path, t->shared);
	for (int attempt = 0;; attempt++) {
		struct timespec pause_ts = {0, LOCK_RETRY_NS};

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			rc = cr_error_set(CR_ESTORAGE, "cannot lock %s: %s", path, strerror(errno));
			goto cleanup;
		}
		if (attempt >= LOCK_RETRY_COUNT) {
			rc = cr_error_set(CR_ECONFLICT, "task %s is already running", task_id);
			goto cleanup;
		}
		nanosleep(&pause_ts, NULL);
	}
	if ((rc = held_add(t, task_id, fd)) == 0)
		fd = -1;
cleanup:
	pthread_mutex_unlock(&t->mu);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int t_adopt(void *impl, const char *task_id, int fd)
{
	tasks_impl *t = impl;
	char path[PATH_MAX];
	struct stat fst, pst;
	int rc;

	if ((rc = task_path(path, sizeof(path), t, task_id, TASK_LOCK_EXT)) < 0)
		return rc;
	/* The descriptor must be this task's lock file, and its lock ours:
	 * on the open file description that holds it, flock succeeds. */
	if (fd < 0 || fstat(fd, &fst) < 0 || stat(path, &pst) < 0 || fst.st_dev != pst.st_dev ||
	    fst.st_ino != pst.st_ino)
		return cr_error_set(CR_EINVALID_ARGUMENT, "descriptor %d is not the runner lock of task %s", fd, task_id);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return cr_error_set(CR_ECONFLICT, "task %s: the lock on descriptor %d is held by another process", task_id,
				    fd);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	pthread_mutex_lock(&t->mu);
	rc = held_find(t, task_id) >= 0 ? cr_error_set(CR_ECONFLICT, "task %s is locked twice", task_id)
					: held_add(t, task_id, fd);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int t_unlock(void *impl, const char *task_id)
{
	tasks_impl *t = impl;
	ssize_t i;

	pthread_mutex_lock(&t->mu);
	if ((i = held_find(t, task_id)) >= 0) {
		close(t->held[i].fd); /* a runner it was handed to still holds the lock */
		free(t->held[i].task_id);
		t->held[i] = t->held[--t->nheld];
	}
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static int t_alive(void *impl, const char *task_id)
{
	tasks_impl *t = impl;
	char path[PATH_MAX], lock[PATH_MAX];
	struct stat st;
	int fd, rc;

	if ((rc = task_path(path, sizeof(path), t, task_id, TASK_FILE_EXT)) < 0)
		return rc;
	if ((rc = task_path(lock, sizeof(lock), t, task_id, TASK_LOCK_EXT)) < 0)
		return rc;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 1; /* not a task of this clone: it may run elsewhere */
		return cr_error_set(CR_ESTORAGE, "cannot read task file %s: %s", path, strerror(errno));
	}
	fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* never locked: no runner ever started */
		return cr_error_set(CR_ESTORAGE, "cannot open task lock %s: %s", lock, strerror(errno));
	}
	for (;;) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			rc = 0;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			rc = 1;
		else
			rc = cr_error_set(CR_ESTORAGE, "cannot test lock %s: %s", lock, strerror(errno));
		break;
	}
	close(fd); /* releases the shared lock if we got it */
	return rc;
}

static int t_scan(void *impl, const cr_pool_job *job, const cr_pool_callbacks *cb, void *ctx)
{
	tasks_impl *t = impl;
	cr_pool_faults f = {t->crash_path, t->hang_path, t->pause_path};
	return cr_pool_run(job, cb, ctx, &f);
}

/* Collect the runners spawned before that have ended (MU held). */
static void reap_kids(tasks_impl *t)
{
	for (size_t i = 0; i < t->nkids;) {
		if (waitpid(t->kids[i], NULL, WNOHANG) != 0)
			t->kids[i] = t->kids[--t->nkids]; /* ended, or not ours to wait for */
		else
			i++;
	}
}

/* The runner's environment: the caller's, without what would point it at
 * another repository than the -C it is given. */
static char **runner_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 1, sizeof(*env))))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "GIT_DIR=", 8) && strncmp(environ[i], "GIT_WORK_TREE=", 14))
			env[k++] = environ[i];
	return env;
}

static int t_spawn(void *impl, const char *task_id, unsigned jobs)
{
	tasks_impl *t = impl;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none;
	char jobs_s[16], fd_s[16];
	char **argv = NULL, **env = NULL;
	ssize_t slot;
	pid_t pid;
	int rc = 0, err;

	if (!t->program)
		return cr_error_set(CR_EINTERNAL, "this task port starts no runner (no program given)");
	snprintf(jobs_s, sizeof(jobs_s), "%u", jobs);
	snprintf(fd_s, sizeof(fd_s), "%d", CR_TASK_LOCK_FD);
	if (!(argv = calloc(t->argc + 8, sizeof(*argv))) || !(env = runner_env())) {
		free(argv);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	argv[0] = t->program;
	for (size_t i = 0; i < t->argc; i++)
		argv[1 + i] = t->argv[i];
	const char *tail[] = {"--task-id", task_id, "--jobs", jobs_s, "--lock-fd", fd_s};
	for (size_t i = 0; i < 6; i++)
		argv[1 + t->argc + i] = (char *)tail[i];

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	pthread_mutex_lock(&t->mu);
	reap_kids(t);
	if ((slot = held_find(t, task_id)) < 0) {
		rc = cr_error_set(CR_EINTERNAL, "cannot start the runner of %s: its lock is not held", task_id);
		goto cleanup;
	}
	/* stdio on /dev/null, the lock on CR_TASK_LOCK_FD, nothing else. */
	if ((err = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) ||
	    (err = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)) ||
	    (err = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0)) ||
	    (err = posix_spawn_file_actions_adddup2(&fa, t->held[slot].fd, CR_TASK_LOCK_FD)) ||
	    (err = posix_spawn_file_actions_addclosefrom_np(&fa, CR_TASK_LOCK_FD + 1)) ||
	    (err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) ||
	    (err = posix_spawnattr_setsigdefault(&at, &all)) || (err = posix_spawnattr_setsigmask(&at, &none)) ||
	    (err = posix_spawn(&pid, t->program, &fa, &at, argv, env))) {
		rc = cr_error_set(CR_EINTERNAL, "cannot start the runner %s: %s", t->program, strerror(err));
		goto cleanup;
	}
	if (cr_grow((void **)&t->kids, &t->akids, t->nkids + 1, sizeof(*t->kids)) == 0)
		t->kids[t->nkids++] = pid; /* else it stays a zombie until this process ends */
	cr_error_clear();
cleanup:
	pthread_mutex_unlock(&t->mu);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	free(env);
	return rc;
}

static void tasks_free(tasks_impl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nheld; i++) {
		close(t->held[i].fd);
		free(t->held[i].task_id);
	}
	for (size_t i = 0; i < t->argc; i++)
		free(t->argv[i]);
	pthread_mutex_lock(&t->mu);
	reap_kids(t);
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_destroy(&t->mu);
	free(t->kids);
	free(t->held);
	free(t->argv);
	free(t->program);
	free(t->crash_path);
	free(t->hang_path);
	free(t->pause_path);
	free(t->dir);
	free(t);
}

/* A copy of S, or NULL for NULL; *OK false when out of memory. */
static char *dup_opt(const char *s, bool *ok)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*ok = false;
	return d;
}

int cr_tasks_open(cr_task_port *out, const char *dir, const cr_tasks_opts *o)
{
	tasks_impl *t;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	if (!dir || !*dir)
		return cr_error_set(CR_EINVALID_ARGUMENT, "no task directory");
	if (!(t = calloc(1, sizeof(*t))))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	pthread_mutex_init(&t->mu, NULL);
	t->dir = dup_opt(dir, &ok);
	if (o) {
		t->program = dup_opt(o->program, &ok);
		t->crash_path = dup_opt(o->faults.crash_path, &ok);
		t->hang_path = dup_opt(o->faults.hang_path, &ok);
		t->pause_path = dup_opt(o->faults.pause_path, &ok);
		t->fault_save_enospc = o->fault_save_enospc;
		t->shared = o->shared;
		while (o->argv && o->argv[t->argc])
			t->argc++;
		if (t->argc && !(t->argv = calloc(t->argc, sizeof(*t->argv))))
			ok = false;
		for (size_t i = 0; ok && i < t->argc; i++)
			t->argv[i] = dup_opt(o->argv[i], &ok);
	}
	if (!ok) {
		if (!t->argv)
			t->argc = 0;
		tasks_free(t);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	out->impl = t;
	out->create = t_create;
	out->save = t_save;
	out->load = t_load;
	out->discard = t_discard;
	out->lock = t_lock;
	out->adopt = t_adopt;
	out->unlock = t_unlock;
	out->alive = t_alive;
	out->scan = t_scan;
	out->spawn = t_spawn;
	return 0;
}

void cr_tasks_close(cr_task_port *p)
{
	if (!p)
		return;
	tasks_free(p->impl);
	memset(p, 0, sizeof(*p));
}
