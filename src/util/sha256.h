#ifndef CR_UTIL_SHA256_H
#define CR_UTIL_SHA256_H
/* SHA-256 through OpenSSL EVP (which picks the SHA-NI path itself). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cr_sha256 cr_sha256;

cr_sha256 *cr_sha256_new(void);
void cr_sha256_update(cr_sha256 *c, const void *buf, size_t len);
/* Finish into lowercase hex; the context may be reused after cr_sha256_reset. */
void cr_sha256_final_hex(cr_sha256 *c, char out[65]);
void cr_sha256_reset(cr_sha256 *c);
void cr_sha256_free(cr_sha256 *c);

/* One-shot digest of a buffer. */
void cr_sha256_hex(const void *buf, size_t len, char out[65]);
/* true when A and B (N bytes each) are equal, in time that depends on N
 * only (for comparing secrets' digests). */
bool cr_ct_equal(const void *a, const void *b, size_t n);

/* Digest and size of the regular file at PATH, read in constant memory
 * (read() into a reused buffer for small files, mmap in windows for large).
 * Returns 0, or CR_EINVALID_INPUT naming PATH when it cannot be read. */
int cr_sha256_file(const char *path, char out[65], uint64_t *size);

/* The same for an already open FD (e.g. from cr_fs_open_beneath), hashed
 * from offset 0 whatever the fd's offset; NAME is used in messages. The
 * caller keeps FD. CR_EINVALID_INPUT when the file changed while it was
 * read (size, inode, mtime or ctime differ after from before). */
int cr_sha256_fd(int fd, const char *name, char out[65], uint64_t *size);

#endif
