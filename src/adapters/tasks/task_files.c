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

typedef struct tasks_impl {
	char *dir;
} tasks_impl;

/*
 * Runner locks held by this process. They live for the process's whole life
 * (not the port's): the contract of lock(). The table also tells forked
 * children which fds to close (cr_tasks_close_inherited_locks), so a dead
 * runner's workers never keep its lock alive. Slots hold fd + 1 (0: empty)
 * so that children can read them without taking the mutex.
 */
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int held_fd[CR_TASK_LOCKS_MAX];
static pid_t held_pid[CR_TASK_LOCKS_MAX];
static char *held_path[CR_TASK_LOCKS_MAX];

void cr_tasks_close_inherited_locks(void)
{
	for (size_t i = 0; i < CR_TASK_LOCKS_MAX; i++) {
		int v = atomic_exchange(&held_fd[i], 0);

		if (v > 0)
			close(v - 1);
	}
}

static void adopt_inherited_locks(void)
{
	pid_t self = getpid();
	for (size_t i = 0; i < CR_TASK_LOCKS_MAX; i++)
		if (atomic_load(&held_fd[i]) > 0)
			held_pid[i] = self;
}

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
	static atomic_uint counter;
	tasks_impl *t = impl;
	char path[PATH_MAX], tmp[PATH_MAX];
	char *json = NULL;
	size_t len = 0;
	int rc, n;

	if ((rc = task_path(path, sizeof(path), t, task->task_id, TASK_FILE_EXT)) < 0)
		return rc;
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.%u.tmp", t->dir, task->task_id, (long)getpid(),
		     atomic_fetch_add(&counter, 1));
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return cr_error_set(CR_EINVALID_ARGUMENT, "task path too long: %s", path);
	if ((rc = cr_fs_mkdirs(t->dir, TASK_DIR_MODE)) < 0)
		return rc;
	if ((rc = task_json(task, &json, &len)) < 0)
		return rc;

	if (write_new_file(tmp, O_TRUNC, json, len) < 0) {
		rc = cr_error_set(CR_ESTORAGE, "cannot write task file %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
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
	if ((rc = cr_fs_mkdirs(t->dir, TASK_DIR_MODE)) < 0)
		return rc;
	if ((rc = task_json(task, &json, &len)) < 0)
		return rc;
	/* Progress is rewritten every 100 ms while the run goes on, and the
	 * runner's lock, not this file, says whether it is alive: atomic but
	 * not synced. The first and the last state of a task are synced. */
	rc = task->status == CR_TASK_RUNNING ? cr_fs_write_replace(path, json, len) : cr_fs_write_atomic(path, json, len);
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

static int t_lock(void *impl, const char *task_id)
{
	tasks_impl *t = impl;
	char path[PATH_MAX];
	size_t slot = CR_TASK_LOCKS_MAX;
	pid_t self = getpid();
	int fd = -1, rc;

	if ((rc = task_path(path, sizeof(path), t, task_id, TASK_LOCK_EXT)) < 0)
		return rc;
	if ((rc = cr_fs_mkdirs(t->dir, TASK_DIR_MODE)) < 0)
		return rc;

	pthread_mutex_lock(&held_mu);
	for (size_t i = 0; i < CR_TASK_LOCKS_MAX; i++) {
		if (atomic_load(&held_fd[i]) == 0) {
			if (slot == CR_TASK_LOCKS_MAX)
				slot = i;
			continue;
		}
		/* Entries inherited from a parent process are not ours. */
		if (held_pid[i] == self && held_path[i] && strcmp(held_path[i], path) == 0) {
			rc = 0;
			goto cleanup;
		}
	}
	if (slot == CR_TASK_LOCKS_MAX) {
		rc = cr_error_set(CR_EINTERNAL, "too many task locks in one process (%d)", CR_TASK_LOCKS_MAX);
		goto cleanup;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, TASK_FILE_MODE);
	if (fd < 0) {
		rc = cr_error_set(CR_ESTORAGE, "cannot open task lock %s: %s", path, strerror(errno));
		goto cleanup;
	}
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
	held_path[slot] = strdup(path);
	if (!held_path[slot]) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	held_pid[slot] = self;
	atomic_store(&held_fd[slot], fd + 1);
	fd = -1;
	rc = 0;
cleanup:
	pthread_mutex_unlock(&held_mu);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int t_unlock(void *impl, const char *task_id)
{
	tasks_impl *t = impl;
	char path[PATH_MAX];
	pid_t self = getpid();
	int rc;

	if ((rc = task_path(path, sizeof(path), t, task_id, TASK_LOCK_EXT)) < 0)
		return rc;
	pthread_mutex_lock(&held_mu);
	for (size_t i = 0; i < CR_TASK_LOCKS_MAX; i++) {
		if (held_pid[i] != self || !held_path[i] || strcmp(held_path[i], path))
			continue;
		int v = atomic_exchange(&held_fd[i], 0);
		if (v > 0)
			close(v - 1); /* a child that inherited it still holds the lock */
		free(held_path[i]);
		held_path[i] = NULL;
		held_pid[i] = 0;
	}
	pthread_mutex_unlock(&held_mu);
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
	(void)impl;
	return cr_pool_run(job, cb, ctx);
}

/*
 * Double fork: the runner is reparented away from the caller (no zombie for
 * a server to reap, no SIGCHLD), in its own session (no terminal signals).
 * Only the short-lived first child is waited for.
 */
static int t_spawn(void *impl, int (*fn)(void *arg), void *arg)
{
	struct sigaction dfl;
	sigset_t none;
	pid_t pid;
	int status = 0, fd;

	(void)impl;
	pid = fork();
	if (pid < 0)
		return cr_error_set(CR_EINTERNAL, "cannot start the runner process: %s", strerror(errno));
	if (pid == 0) {
		setsid();
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		/* The runner takes over the caller's task locks (the lock lives
		 * in the shared open file description, so it is held without a
		 * gap); the caller then lets go of its copy with unlock(). */
		adopt_inherited_locks();
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > STDERR_FILENO)
				close(fd);
		}
		int r = fn(arg);
		_exit(r >= 0 && r < 256 ? r : 1);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return cr_error_set(CR_EINTERNAL, "cannot wait for the runner's launcher: %s", strerror(errno));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cr_error_set(CR_EINTERNAL, "cannot start the runner process (fork failed)");
	return 0;
}

int cr_tasks_open(cr_task_port *out, const char *dir)
{
	tasks_impl *t;

	memset(out, 0, sizeof(*out));
	if (!dir || !*dir)
		return cr_error_set(CR_EINVALID_ARGUMENT, "no task directory");
	t = calloc(1, sizeof(*t));
	if (!t || !(t->dir = strdup(dir))) {
		free(t);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	out->impl = t;
	out->create = t_create;
	out->save = t_save;
	out->load = t_load;
	out->discard = t_discard;
	out->lock = t_lock;
	out->unlock = t_unlock;
	out->alive = t_alive;
	out->scan = t_scan;
	out->spawn = t_spawn;
	return 0;
}

void cr_tasks_close(cr_task_port *p)
{
	tasks_impl *t;

	if (!p)
		return;
	t = p->impl;
	if (t) {
		free(t->dir);
		free(t);
	}
	memset(p, 0, sizeof(*p));
}
