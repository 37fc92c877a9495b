/* The local cache port on a directory of files (adapters/system/system.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "adapters/system/system.h"
#include "util/error.h"
#include "util/fs.h"

#define CACHE_DIR_MODE 0777 /* less the umask, as git creates $GIT_DIR entries */
#define CACHE_ENTRY_MAX (1u << 30)

/* Names are made by the services ("manifest-<oid>.bin"): one path segment,
 * nothing else. */
static int entry_path(char *buf, size_t len, const char *dir, const char *name)
{
	if (!name[0] || name[0] == '.' || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(name))
		return cr_error_set(CR_EINVALID_ARGUMENT, "bad cache entry name \"%.64s\"", name);
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return cr_error_set(CR_EINVALID_ARGUMENT, "cache path too long");
	return 0;
}

/* The port's state: the directory, and core.sharedRepository's mode. */
typedef struct cache_dir {
	char *dir;
	int shared;
} cache_dir;

static int c_get(void *vimpl, const char *name, char **buf, size_t *len)
{
	const char *impl = ((const cache_dir *)vimpl)->dir;
	char path[PATH_MAX];
	struct stat st;
	int rc;

	*buf = NULL;
	*len = 0;
	if ((rc = entry_path(path, sizeof(path), impl, name)) < 0)
		return rc;
	if (stat(path, &st) < 0)
		return cr_error_set(CR_ENOT_FOUND, "no cache entry %s", name);
	return cr_fs_read_all(path, CACHE_ENTRY_MAX, buf, len);
}

static int c_put(void *vimpl, const char *name, const char *buf, size_t len)
{
	const cache_dir *c = vimpl;
	char path[PATH_MAX];
	int rc;

	if ((rc = entry_path(path, sizeof(path), c->dir, name)) < 0 || (rc = cr_fs_mkdirs(c->dir, CACHE_DIR_MODE)) < 0)
		return rc;
	cr_fs_share_dirs(c->dir, 1, c->shared);
	if ((rc = cr_fs_write_replace(path, buf, len)) == 0)
		cr_fs_share(path, c->shared);
	return rc;
}

static const char *c_dir(void *impl)
{
	return ((const cache_dir *)impl)->dir;
}

int cr_cache_dir_open(cr_cache_port *out, const char *dir, int shared)
{
	cache_dir *c;

	memset(out, 0, sizeof(*out));
	if (!dir || !*dir)
		return cr_error_set(CR_EINVALID_ARGUMENT, "no cache directory");
	if (!(c = calloc(1, sizeof(*c))) || !(c->dir = strdup(dir))) {
		free(c);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	c->shared = shared;
	out->impl = c;
	out->get = c_get;
	out->put = c_put;
	out->dir = c_dir;
	return 0;
}

void cr_cache_dir_close(cr_cache_port *p)
{
	if (!p)
		return;
	if (p->impl)
		free(((cache_dir *)p->impl)->dir);
	free(p->impl);
	memset(p, 0, sizeof(*p));
}
