/* SHA-256: buffers, streaming, and files on each path (read, one mapped
 * window, several windows). Expected digests were computed with sha256sum. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/error.h"
#include "util/sha256.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* head -c 104857600 /dev/zero | sha256sum */
#define ZERO_100MIB_SHA "20492a4d0d84f8beb1767f6616229f85d44c2827b64bdbfb260ee12fa1109e0e"
/* (head -c 67108864 /dev/zero; printf abc) | sha256sum */
#define ZERO_64MIB_ABC_SHA "0aac357caa7e1d5150d5642975890cd4b3a818abd662d0912fe50b1333f0e3ab"
/* head -c 262144 /dev/zero | sha256sum: exactly the read/mmap boundary */
#define ZERO_256KIB_SHA "8a39d2abd3999ab73c34db2476849cddf303ce389b35826850f9a700589b4a90"
/* bytes i % 251 for i in [0, 307200) | sha256sum */
#define PATTERN_300KIB_SHA "10a6169813fcc0410b3d72574ff2dd1997936b90db821427136315967cff2bb9"
/* bytes i % 251 for i in [0, 1000) | sha256sum */
#define PATTERN_1000_SHA "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cr-test-sha256-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* A file of SIZE bytes (sparse, zeros) with TAIL written at its end. */
static void make_sparse(const char *path, uint64_t size, const char *tail)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	size_t n = tail ? strlen(tail) : 0;
	assert_int_equal(ftruncate(fd, (off_t)(size - n)), 0);
	if (n)
		assert_int_equal(pwrite(fd, tail, n, (off_t)(size - n)), (ssize_t)n);
	close(fd);
}

static void make_pattern(const char *path, size_t size)
{
	unsigned char *b = malloc(size ? size : 1);
	assert_non_null(b);
	for (size_t i = 0; i < size; i++)
		b[i] = (unsigned char)(i % 251);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, size), (ssize_t)size);
	close(fd);
	free(b);
}

static void expect_file(const char *path, const char *sha, uint64_t size)
{
	char out[65];
	uint64_t got = 0;
	assert_int_equal(cr_sha256_file(path, out, &got), 0);
	assert_string_equal(out, sha);
	assert_true(got == size);
}

static void test_buffer(void **state)
{
	(void)state;
	char out[65];
	cr_sha256_hex("", 0, out);
	assert_string_equal(out, EMPTY_SHA);
	cr_sha256_hex("abc", 3, out);
	assert_string_equal(out, ABC_SHA);
}

static void test_streaming_and_reset(void **state)
{
	(void)state;
	char out[65];
	cr_sha256 *c = cr_sha256_new();
	assert_non_null(c);
	cr_sha256_update(c, "a", 1);
	cr_sha256_update(c, "", 0);
	cr_sha256_update(c, "bc", 2);
	cr_sha256_final_hex(c, out);
	assert_string_equal(out, ABC_SHA);
	cr_sha256_reset(c);
	cr_sha256_final_hex(c, out);
	assert_string_equal(out, EMPTY_SHA);
	cr_sha256_free(c);
	cr_sha256_free(NULL);
}

static void test_empty_file(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "empty");
	make_sparse(p, 0, NULL);
	expect_file(p, EMPTY_SHA, 0);
	unlink(p);
}

static void test_small_file(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "small");
	make_pattern(p, 1000);
	expect_file(p, PATTERN_1000_SHA, 1000);
	/* Twice: the reused buffer must not leak one file into the next. */
	expect_file(p, PATTERN_1000_SHA, 1000);
	make_sparse(p, 3, "abc");
	expect_file(p, ABC_SHA, 3);
	unlink(p);
}

static void test_one_window(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "boundary");
	make_sparse(p, 256 * 1024, NULL);
	expect_file(p, ZERO_256KIB_SHA, 256 * 1024);
	path_of(p, sizeof(p), "pattern");
	make_pattern(p, 300 * 1024);
	expect_file(p, PATTERN_300KIB_SHA, 300 * 1024);
	unlink(p);
	path_of(p, sizeof(p), "boundary");
	unlink(p);
}

static void test_sparse_many_windows(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "sparse100");
	make_sparse(p, 100ull * 1024 * 1024, NULL);
	expect_file(p, ZERO_100MIB_SHA, 100ull * 1024 * 1024);
	unlink(p);
	/* The last byte sits in the second window, 3 bytes past the first. */
	path_of(p, sizeof(p), "sparse64abc");
	make_sparse(p, 64ull * 1024 * 1024 + 3, "abc");
	expect_file(p, ZERO_64MIB_ABC_SHA, 64ull * 1024 * 1024 + 3);
	unlink(p);
}

static void test_fd(void **state)
{
	(void)state;
	char p[128], out[65];
	uint64_t size = 0;
	path_of(p, sizeof(p), "fd");
	make_sparse(p, 3, "abc");
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 2, SEEK_SET), 2); /* hashed from 0 regardless */
	assert_int_equal(cr_sha256_fd(fd, "fd", out, &size), 0);
	assert_string_equal(out, ABC_SHA);
	assert_true(size == 3);
	close(fd);
	unlink(p);
}

static void test_missing_file(void **state)
{
	(void)state;
	char p[128], out[65];
	path_of(p, sizeof(p), "nope");
	assert_int_equal(cr_sha256_file(p, out, NULL), CR_EINVALID_INPUT);
	char want[160];
	snprintf(want, sizeof(want), "%s: no such file", p);
	assert_string_equal(cr_error_last()->message, want);
	assert_string_equal(out, "");
}

static void test_not_regular(void **state)
{
	(void)state;
	char out[65], want[160];
	assert_int_equal(cr_sha256_file(dir, out, NULL), CR_EINVALID_INPUT);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(cr_error_last()->message, want);

	char p[128];
	path_of(p, sizeof(p), "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(cr_sha256_file(p, out, NULL), CR_EINVALID_INPUT); /* must not hang */
	assert_non_null(strstr(cr_error_last()->message, "not a regular file"));
	unlink(p);
}

static void test_unreadable(void **state)
{
	(void)state;
	if (geteuid() == 0)
		skip(); /* root reads anything */
	char p[128], out[65];
	path_of(p, sizeof(p), "secret");
	make_sparse(p, 3, "abc");
	chmod(p, 0);
	assert_int_equal(cr_sha256_file(p, out, NULL), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, ": cannot read: "));
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buffer),
		cmocka_unit_test(test_streaming_and_reset),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_small_file),
		cmocka_unit_test(test_one_window),
		cmocka_unit_test(test_sparse_many_windows),
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_unreadable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
