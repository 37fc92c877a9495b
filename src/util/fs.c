#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "util/error.h"
#include "util/fs.h"

#define PATH_MAX_BYTES 4096

const char *cr_fs_path_invalid(const char *p, size_t len)
{
	size_t seg = 0; /* start of the current segment */

	if (!p || len == 0)
		return "is empty";
	if (len > PATH_MAX_BYTES)
		return "is longer than 4096 bytes";
	if (memchr(p, '\0', len))
		return "contains a NUL byte";
	if (p[0] == '/')
		return "is absolute";
	if (p[len - 1] == '/')
		return "ends with '/'";
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		size_t n = i - seg;
		if (n == 0)
			return "has an empty segment";
		if ((n == 1 && p[seg] == '.') || (n == 2 && p[seg] == '.' && p[seg + 1] == '.'))
			return "has a '.' or '..' segment";
		seg = i + 1;
	}
	return NULL;
}

static int open_error(const char *rel, int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return cr_error_set(CR_EINVALID_INPUT, "%s: no such file", rel);
	case EXDEV:
		return cr_error_set(CR_EINVALID_INPUT, "%s: symlink leaves the artifact root", rel);
	default:
		return cr_error_set(CR_EINVALID_INPUT, "%s: cannot open: %s", rel, strerror(err));
	}
}

/* The fd must be a regular file; closes it otherwise. */
static int check_regular(int fd, const char *rel, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		int err = errno;
		close(fd);
		return open_error(rel, err);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cr_error_set(CR_EINVALID_INPUT, "%s: not a regular file", rel);
	}
	if (size)
		*size = (uint64_t)st.st_size;
	return fd;
}

/* O_NONBLOCK: opening a FIFO must not block before fstat refuses it. */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static int fd_path(int fd, char *out, size_t cap)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, out, cap - 1);
	if (n < 0 || (size_t)n >= cap - 1)
		return -1;
	out[n] = '\0';
	return 0;
}

static int open_fallback(int root_fd, const char *rel, uint64_t *size)
{
	char *root = NULL, *real = NULL;
	size_t rootlen;
	int fd = -1, ret;

	if (cr_fs_path_invalid(rel, strlen(rel)))
		return cr_error_set(CR_EINVALID_INPUT, "%s: invalid artifact path: %s", rel,
				    cr_fs_path_invalid(rel, strlen(rel)));
	fd = openat(root_fd, rel, OPEN_FLAGS);
	if (fd < 0)
		return open_error(rel, errno);
	/* Check what was actually opened: its real path must lie under the
	 * root's, which is immune to a symlink swapped in between. */
	root = malloc(PATH_MAX);
	real = malloc(PATH_MAX);
	if (!root || !real) {
		ret = cr_error_set(CR_EINVALID_INPUT, "%s: cannot open: out of memory", rel);
		goto cleanup;
	}
	if (fd_path(root_fd, root, PATH_MAX) != 0 || fd_path(fd, real, PATH_MAX) != 0) {
		ret = cr_error_set(CR_EINVALID_INPUT, "%s: cannot open: cannot resolve its real path", rel);
		goto cleanup;
	}
	rootlen = strlen(root);
	if (rootlen == 1 && root[0] == '/')
		rootlen = 0; /* root "/": every absolute path is beneath it */
	if (strncmp(real, root, rootlen) != 0 || real[rootlen] != '/') {
		ret = cr_error_set(CR_EINVALID_INPUT, "%s: symlink leaves the artifact root", rel);
		goto cleanup;
	}
	ret = check_regular(fd, rel, size);
	fd = -1; /* check_regular owns it now */
cleanup:
	if (fd >= 0)
		close(fd);
	free(root);
	free(real);
	return ret;
}

int cr_fs_open_beneath_fallback(int root_fd, const char *rel)
{
	return open_fallback(root_fd, rel, NULL);
}

int cr_fs_open_beneath_size(int root_fd, const char *rel, uint64_t *size)
{
	struct open_how how;
	const char *why;
	long fd;

	why = cr_fs_path_invalid(rel, strlen(rel));
	if (why)
		return cr_error_set(CR_EINVALID_INPUT, "%s: invalid artifact path: %s", rel, why);
	memset(&how, 0, sizeof(how));
	how.flags = OPEN_FLAGS;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	/* EAGAIN: a rename elsewhere raced the lookup; try a few times. */
	for (int tries = 0;; tries++) {
		fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN || tries == 8)
			break;
	}
	if (fd < 0) {
		/* No openat2 (old kernel, or a seccomp filter that refuses it). */
		if (errno == ENOSYS || errno == EPERM)
			return open_fallback(root_fd, rel, size);
		return open_error(rel, errno);
	}
	return check_regular((int)fd, rel, size);
}

int cr_fs_open_beneath(int root_fd, const char *rel)
{
	return cr_fs_open_beneath_size(root_fd, rel, NULL);
}

int cr_fs_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				errno = EIO; /* no progress: never spin */
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (!slash) {
		dir = strdup(".");
	} else if (slash == path) {
		dir = strdup("/");
	} else {
		dir = strndup(path, (size_t)(slash - path));
	}
	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* best effort: the data itself is already synced */
		close(fd);
	}
	free(dir);
}

static int write_renamed(const char *path, const void *buf, size_t len, bool durable)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8);
	int fd = -1, ret = 0;

	if (!tmp)
		return cr_error_set(CR_ESTORAGE, "%s: cannot write: out of memory", path);
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	fd = mkostemp(tmp, O_CLOEXEC); /* O_EXCL, in the target's directory */
	if (fd < 0) {
		ret = cr_error_set(CR_ESTORAGE, "%s: cannot write: %s", path, strerror(errno));
		free(tmp);
		return ret;
	}
	if (cr_fs_write_full(fd, buf, len) != 0 || fchmod(fd, 0644) != 0 || (durable && fsync(fd) != 0)) {
		ret = cr_error_set(CR_ESTORAGE, "%s: cannot write: %s", path, strerror(errno));
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		ret = cr_error_set(CR_ESTORAGE, "%s: cannot write: %s", path, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		ret = cr_error_set(CR_ESTORAGE, "%s: cannot write: %s", path, strerror(errno));
		goto cleanup;
	}
	if (durable)
		fsync_dir_of(path);
cleanup:
	if (fd >= 0)
		close(fd);
	if (ret != 0)
		unlink(tmp);
	free(tmp);
	return ret;
}

int cr_fs_write_atomic(const char *path, const void *buf, size_t len)
{
	return write_renamed(path, buf, len, true);
}

int cr_fs_write_replace(const char *path, const void *buf, size_t len)
{
	return write_renamed(path, buf, len, false);
}

int cr_fs_read_all(const char *path, size_t max, char **out, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int fd, ret = 0;
	struct stat st;

	*out = NULL;
	if (len)
		*len = 0;
	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2; /* keeps max + 1 and cap * 2 from overflowing */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return cr_error_set(CR_ENOT_FOUND, "%s: no such file", path);
		return cr_error_set(CR_ESTORAGE, "%s: cannot open: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		ret = cr_error_set(CR_ESTORAGE, "%s: cannot stat: %s", path, strerror(errno));
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = cr_error_set(CR_EINVALID_INPUT, "%s: is a directory", path);
		goto cleanup;
	}
	/* st_size is a hint only (0 for /proc files, stale for a growing file). */
	cap = (S_ISREG(st.st_mode) && (uint64_t)st.st_size < max) ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	buf = malloc(cap);
	if (!buf) {
		ret = cr_error_set(CR_ESTORAGE, "%s: cannot read: out of memory", path);
		goto cleanup;
	}
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			size_t ncap;
			char *nb;
			if (n >= max + 1 || cap >= max + 1) {
				/* cap - 1 == max bytes read and there may be more. */
				char probe;
				ssize_t more = read(fd, &probe, 1);
				if (more > 0) {
					ret = cr_error_set(CR_EINVALID_INPUT, "%s: larger than %zu bytes", path, max);
					goto cleanup;
				}
				if (more < 0 && errno == EINTR)
					continue;
				if (more < 0) {
					ret = cr_error_set(CR_ESTORAGE, "%s: cannot read: %s", path, strerror(errno));
					goto cleanup;
				}
				break;
			}
			ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nb = realloc(buf, ncap);
			if (!nb) {
				ret = cr_error_set(CR_ESTORAGE, "%s: cannot read: out of memory", path);
				goto cleanup;
			}
			buf = nb;
			cap = ncap;
			continue;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = cr_error_set(CR_ESTORAGE, "%s: cannot read: %s", path, strerror(errno));
			goto cleanup;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = n;
cleanup:
	close(fd);
	free(buf);
	return ret;
}

int cr_fs_mkdirs(const char *path, int mode)
{
	size_t len = strlen(path);
	char *p;
	int ret = 0;

	if (len == 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "mkdir: empty path");
	p = strdup(path);
	if (!p)
		return cr_error_set(CR_ESTORAGE, "%s: cannot create directory: out of memory", path);
	for (size_t i = 1; i <= len; i++) {
		struct stat st;
		if (i < len && p[i] != '/')
			continue;
		if (i < len && p[i - 1] == '/')
			continue; /* "a//b" */
		p[i] = '\0';
		if (mkdir(p, (mode_t)mode) != 0) {
			int err = errno;
			if (err != EEXIST || stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
				ret = cr_error_set(CR_ESTORAGE, "%s: cannot create directory: %s", p,
						   strerror(err == EEXIST ? ENOTDIR : err));
				goto cleanup;
			}
		}
		if (i < len)
			p[i] = '/';
	}
cleanup:
	free(p);
	return ret;
}

/* "10 MiB", "1.5 GiB" style, exact when it divides. */
static void format_size(char *out, size_t cap, uint64_t n)
{
	static const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;
	uint64_t v = n;
	while (u + 1 < sizeof(units) / sizeof(units[0]) && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u == 0 && n >= 1024 * 1024)
		snprintf(out, cap, "%" PRIu64 " bytes (%.1f MiB)", n, (double)n / (1024.0 * 1024.0));
	else
		snprintf(out, cap, "%" PRIu64 " %s", v, units[u]);
}

int cr_fs_read_input(const char *path, const char *what, size_t max_bytes, char **out, size_t *outlen)
{
	char *buf = NULL;
	size_t len = 0, cap;
	struct stat st;
	int fd = -1, rc;
	char limit[64];

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if (!what)
		what = path;
	/* O_NONBLOCK so that a FIFO cannot hang us before fstat refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return cr_error_set(CR_EINVALID_INPUT, "%s: no such file", what);
		return cr_error_set(CR_EINVALID_INPUT, "%s: cannot read: %s", what, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: cannot read: %s", what, strerror(errno));
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: is a directory", what);
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: not a regular file", what);
		goto cleanup;
	}
	format_size(limit, sizeof(limit), max_bytes);
	if ((uint64_t)st.st_size > max_bytes) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: file is larger than %s", what, limit);
		goto cleanup;
	}
	/* The file may grow while we read: keep reading to EOF, within the limit. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
		goto cleanup;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap > max_bytes / 2 ? max_bytes + 1 : cap * 2;
			char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
			if (!nb) {
				rc = len > max_bytes
					     ? cr_error_set(CR_EINVALID_INPUT, "%s: file is larger than %s",
							    what, limit)
					     : cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
				goto cleanup;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: cannot read: %s", what,
					  strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max_bytes) {
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: file is larger than %s", what, limit);
			goto cleanup;
		}
	}
	/* NUL-terminated for callers that want a string. */
	if (len == cap) {
		char *nb = realloc(buf, cap + 1);
		if (!nb) {
			rc = cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
			goto cleanup;
		}
		buf = nb;
	}
	buf[len] = 0;
	*out = buf;
	if (outlen)
		*outlen = len;
	buf = NULL;
	rc = 0;
cleanup:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

void cr_fs_share(const char *path, int shared)
{
	struct stat st;
	int tweak, mode;

	if (!shared || stat(path, &st) < 0)
		return;
	mode = (int)st.st_mode;
	tweak = shared < 0 ? -shared : shared;
	if (!(mode & S_IWUSR))
		tweak &= ~0222;
	if (mode & S_IXUSR)
		tweak |= (tweak & 0444) >> 2; /* read bits give execute bits */
	mode = shared < 0 ? mode | tweak : (mode & ~0777) | tweak;
	if (S_ISDIR(st.st_mode))
		mode |= S_ISGID;
	if ((mode & 07777) != (int)(st.st_mode & 07777))
		chmod(path, (mode_t)(mode & 07777));
}

void cr_fs_share_up(const char *path, const char *stop, int shared)
{
	char p[4096];
	size_t n = strlen(stop);

	if (!shared || snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return;
	cr_fs_share(p, shared);
	for (char *slash; (slash = strrchr(p, '/')) && (size_t)(slash - p) > n;) {
		*slash = '\0';
		cr_fs_share(p, shared);
	}
}

void cr_fs_share_dirs(const char *path, int levels, int shared)
{
	char p[4096];

	if (!shared || snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return;
	cr_fs_share(p, shared);
	for (int i = 0; i < levels; i++) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			return;
		*slash = '\0';
		cr_fs_share(p, shared);
	}
}
