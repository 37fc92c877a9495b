#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "util/error.h"
#include "util/sha256.h"

/* Files below this size are read(), through a buffer of at most this size. */
#define SMALL_FILE_MAX (256u * 1024u)
/* Larger files are mapped this much at a time: constant memory for any size,
 * and small enough that an import hashing a 4 GiB artifact (each of its
 * threads one window) stays well under 64 MiB of RSS (tests/e2e/t24). */
#define MAP_WINDOW ((uint64_t)16 * 1024 * 1024)

struct cr_sha256 {
	EVP_MD_CTX *ctx;
};

static void to_hex(const unsigned char *md, unsigned n, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < n && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xF];
	}
	out[64] = '\0';
}

cr_sha256 *cr_sha256_new(void)
{
	cr_sha256 *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ctx = EVP_MD_CTX_new();
	if (!c->ctx || EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL) != 1) {
		cr_sha256_free(c);
		return NULL;
	}
	return c;
}

void cr_sha256_update(cr_sha256 *c, const void *buf, size_t len)
{
	if (len)
		EVP_DigestUpdate(c->ctx, buf, len);
}

void cr_sha256_final_hex(cr_sha256 *c, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (EVP_DigestFinal_ex(c->ctx, md, &n) != 1 || n != 32) {
		out[0] = '\0';
		return;
	}
	to_hex(md, n, out);
}

void cr_sha256_reset(cr_sha256 *c)
{
	EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL);
}

void cr_sha256_free(cr_sha256 *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->ctx);
	free(c);
}

void cr_sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		out[0] = '\0';
		return;
	}
	to_hex(md, n, out);
}

bool cr_ct_equal(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

static int read_error(const char *name, int err)
{
	return cr_error_set(CR_EINVALID_INPUT, "%s: cannot read: %s", name, strerror(err));
}

/* Hash FD from offset 0 to EOF with pread() (the fd's offset is untouched),
 * through a buffer of this call's own, sized to the file as fstat saw it
 * (it may still grow: the loop reads to EOF). */
static int hash_read(EVP_MD_CTX *ctx, int fd, const char *name, uint64_t size, uint64_t *total)
{
	size_t cap = size < SMALL_FILE_MAX ? (size_t)size + 1 : SMALL_FILE_MAX;
	unsigned char *buf = malloc(cap);
	int rc = 0;
	if (!buf)
		return cr_error_set(CR_EINTERNAL, "%s: out of memory", name);
	for (;;) {
		ssize_t n = pread(fd, buf, cap, (off_t)*total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = read_error(name, errno);
			break;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			rc = cr_error_set(CR_EINTERNAL, "%s: SHA-256 update failed", name);
			break;
		}
		*total += (uint64_t)n;
	}
	free(buf);
	return rc;
}

/* Hash the first SIZE bytes of FD one mapped window at a time. Falls back to
 * read() when the file system cannot map (returns 1 then, nothing hashed). */
static int hash_mapped(EVP_MD_CTX *ctx, int fd, const char *name, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += MAP_WINDOW) {
		size_t len = (size_t)(size - off < MAP_WINDOW ? size - off : MAP_WINDOW);
		void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)off);
		if (p == MAP_FAILED) {
			if (off == 0 && (errno == ENODEV || errno == EINVAL || errno == EACCES))
				return 1;
			return read_error(name, errno);
		}
		madvise(p, len, MADV_SEQUENTIAL);
		int ok = EVP_DigestUpdate(ctx, p, len) == 1;
		munmap(p, len);
		if (!ok)
			return cr_error_set(CR_EINTERNAL, "%s: SHA-256 update failed", name);
	}
	return 0;
}

int cr_sha256_fd(int fd, const char *name, char out[65], uint64_t *size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	struct stat st;
	uint64_t total = 0;
	int rc;

	out[0] = '\0';
	if (fstat(fd, &st) < 0)
		return read_error(name, errno);
	if (!S_ISREG(st.st_mode))
		return cr_error_set(CR_EINVALID_INPUT, "%s: not a regular file", name);
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = cr_error_set(CR_EINTERNAL, "%s: cannot initialize SHA-256", name);
		goto cleanup;
	}
	if ((uint64_t)st.st_size < SMALL_FILE_MAX) {
		rc = hash_read(ctx, fd, name, (uint64_t)st.st_size, &total);
	} else {
		rc = hash_mapped(ctx, fd, name, (uint64_t)st.st_size);
		if (rc == 1) {
			rc = hash_read(ctx, fd, name, (uint64_t)st.st_size, &total);
		} else {
			total = (uint64_t)st.st_size;
		}
	}
	if (rc)
		goto cleanup;
	/* A file written to while it was read has a digest of a state that
	 * never existed: say so rather than record it. */
	struct stat after;
	if (fstat(fd, &after) < 0) {
		rc = read_error(name, errno);
		goto cleanup;
	}
	if (after.st_size != st.st_size || after.st_ino != st.st_ino || after.st_dev != st.st_dev ||
	    after.st_mtim.tv_sec != st.st_mtim.tv_sec || after.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
	    after.st_ctim.tv_sec != st.st_ctim.tv_sec || after.st_ctim.tv_nsec != st.st_ctim.tv_nsec ||
	    total != (uint64_t)st.st_size) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s changed while it was being hashed", name);
		cr_error_hint("import it again once nothing writes to it");
		goto cleanup;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		rc = cr_error_set(CR_EINTERNAL, "%s: SHA-256 final failed", name);
		goto cleanup;
	}
	to_hex(md, mdlen, out);
	if (size)
		*size = total;
cleanup:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int cr_sha256_file(const char *path, char out[65], uint64_t *size)
{
	out[0] = '\0';
	/* O_NONBLOCK: opening a FIFO must not hang before fstat refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return cr_error_set(CR_EINVALID_INPUT, "%s: no such file", path);
		return read_error(path, errno);
	}
	int rc = cr_sha256_fd(fd, path, out, size);
	close(fd);
	return rc;
}
