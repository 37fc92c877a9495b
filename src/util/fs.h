#ifndef CR_UTIL_FS_H
#define CR_UTIL_FS_H
/* File helpers: safe opening beneath a root, atomic writes. */
#include <stddef.h>
#include <stdint.h>

/* Open REL (a normalized relative path) for reading beneath the directory
 * ROOT_FD, refusing any path that leaves it (a "..", an absolute symlink or
 * a symlink whose target resolves outside ROOT_FD) — openat2 RESOLVE_BENEATH,
 * with a realpath check where openat2 is not available. Returns an fd, or a
 * negative CR_E* code (CR_EINVALID_INPUT) with a message naming REL:
 * "dist/x: no such file", "dist/x: symlink leaves the artifact root",
 * "dist/x: not a regular file". */
int cr_fs_open_beneath(int root_fd, const char *rel);
/* The same without openat2 (open, then check the real path of what was
 * opened against the root's); used when openat2 is refused, exposed for
 * tests. */
int cr_fs_open_beneath_fallback(int root_fd, const char *rel);
/* cr_fs_open_beneath, also giving the file's size from the fstat it did. */
int cr_fs_open_beneath_size(int root_fd, const char *rel, uint64_t *size);

/* Write all LEN bytes to FD, retrying short writes and EINTR: 0, or -1
 * with errno set. */
int cr_fs_write_full(int fd, const void *buf, size_t len);

/* Write LEN bytes to PATH atomically (temp file in the same directory,
 * fsync, rename). Returns 0 or CR_ESTORAGE. */
int cr_fs_write_atomic(const char *path, const void *buf, size_t len);
/* The same without the fsyncs: readers see the old or the new content,
 * never a mix, but a system crash may lose the update. For state that is
 * rewritten often and rebuilt when lost (a task's progress, caches). */
int cr_fs_write_replace(const char *path, const void *buf, size_t len);

/* Read a whole file (at most MAX bytes) into a malloc'd NUL-terminated buffer. */
int cr_fs_read_all(const char *path, size_t max, char **out, size_t *len);

/* Read a user-given input file (a regular file of at most MAX bytes) into
 * a malloc'd NUL-terminated buffer. Every failure is CR_EINVALID_INPUT
 * starting with WHAT (PATH when NULL): "no such file", "is a directory",
 * "not a regular file", "file is larger than 10 MiB" (refused by its size
 * before it is read). A FIFO never blocks. */
int cr_fs_read_input(const char *path, const char *what, size_t max, char **out, size_t *len);

/* mkdir -p. */
int cr_fs_mkdirs(const char *path, int mode);

/* git's core.sharedRepository as a number: 0 (umask: modes as created),
 * CR_FS_SHARED_GROUP, CR_FS_SHARED_ALL, or an octal file mode (0660, …). */
#define CR_FS_SHARED_GROUP (-0660)
#define CR_FS_SHARED_ALL (-0664)
/* Give PATH the permissions git gives a file or directory of a shared
 * repository (git's adjust_shared_perm): the group (and others) get what
 * the owner has, directories keep their group (setgid). Best effort; a
 * no-op for SHARED 0 or a path that is not there. */
void cr_fs_share(const char *path, int shared);
/* cr_fs_share on directory PATH and the LEVELS directories above it. */
void cr_fs_share_dirs(const char *path, int levels, int shared);
/* cr_fs_share on PATH and each directory above it up to (not) STOP. */
void cr_fs_share_up(const char *path, const char *stop, int shared);

/* Normalize an artifact path: NULL if valid (relative, no "." or ".."
 * segment, no empty segment, no trailing "/", no NUL, at most 4096 bytes),
 * else a static reason. */
const char *cr_fs_path_invalid(const char *p, size_t len);

#endif
