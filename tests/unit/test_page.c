/*
 * Cursors of the paged lists (domain/page.h): what is made reads back, and
 * anything malformed, altered, or of another list or filter is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domain/page.h"
#include "util/error.h"

static void assert_refused(const char *cursor, const char *prefix, const char *why)
{
	char rest[64] = "x";

	assert_int_equal(cr_cursor_read(cursor, prefix, rest, sizeof(rest)), CR_EINVALID_ARGUMENT);
	assert_string_equal(rest, "");
	if (!strstr(cr_error_last()->message, why))
		fail_msg("\"%s\" does not say \"%s\"", cr_error_last()->message, why);
}

static void round_trip(void **s)
{
	(void)s;
	char c[CR_CURSOR_MAX], rest[CR_CURSOR_PAYLOAD_MAX + 1];
	char payload[CR_CURSOR_PAYLOAD_MAX + 1];

	assert_int_equal(cr_cursor_make(c, "a||42"), 0);
	assert_int_equal(cr_cursor_read(c, "a||", rest, sizeof(rest)), 0);
	assert_string_equal(rest, "42");
	/* Opaque: nothing of the payload shows as such; the same payload
	 * always gives the same cursor. */
	assert_null(strstr(c, "42"));
	{
		char again[CR_CURSOR_MAX];
		assert_int_equal(cr_cursor_make(again, "a||42"), 0);
		assert_string_equal(again, c);
	}
	/* The longest payload fits the contract's maxLength (511). */
	memset(payload, 'z', CR_CURSOR_PAYLOAD_MAX);
	payload[CR_CURSOR_PAYLOAD_MAX] = '\0';
	assert_int_equal(cr_cursor_make(c, payload), 0);
	assert_true(strlen(c) <= 511);
	assert_int_equal(cr_cursor_read(c, "zz", rest, sizeof(rest)), 0);
	assert_int_equal(strlen(rest), CR_CURSOR_PAYLOAD_MAX - 2);
	/* Too long, or empty: the caller's bug. */
	memset(payload, 'z', CR_CURSOR_PAYLOAD_MAX);
	{
		char big[CR_CURSOR_PAYLOAD_MAX + 2];
		memset(big, 'z', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(cr_cursor_make(c, big), CR_EINTERNAL);
	}
	assert_int_equal(cr_cursor_make(c, ""), CR_EINTERNAL);
}

static void refusals(void **s)
{
	(void)s;
	char c[CR_CURSOR_MAX], bad[CR_CURSOR_MAX];

	assert_int_equal(cr_cursor_make(c, "v|run-001|-1|-1|1.7"), 0);
	/* Another list, other filters. */
	assert_refused(c, "a||", "another list or to other filters");
	assert_refused(c, "v|run-002|-1|-1|", "another list or to other filters");
	assert_refused(c, "v|run-001|0|-1|", "another list or to other filters");
	/* Every single changed character is refused. */
	for (size_t i = 0; c[i]; i++) {
		memcpy(bad, c, sizeof(bad));
		bad[i] = bad[i] == '0' ? '1' : '0';
		assert_int_equal(cr_cursor_read(bad, "v|run-001|-1|-1|", (char[64]){0}, 64), CR_EINVALID_ARGUMENT);
	}
	/* Malformed. */
	assert_refused("", "a||", "not a cursor");
	assert_refused("abc", "a||", "not a cursor");
	assert_refused(".0123456789abcdef", "a||", "not a cursor");
	assert_refused("6.0123456789abcdef", "a||", "not a cursor");
	assert_refused("zz.0123456789abcdef", "a||", "not a cursor");
	assert_refused("00.0123456789abcdef", "a||", "not a cursor");
	assert_refused("61.0123", "a||", "not a cursor");
	assert_refused(NULL, "a||", "not a cursor");
	/* Cut: the check covers the whole payload. */
	memcpy(bad, c, sizeof(bad));
	memmove(bad + 2, bad + 4, strlen(bad + 4) + 1);
	assert_refused(bad, "v|", "altered");
	/* Uppercase hex is not what was made. */
	memcpy(bad, c, sizeof(bad));
	bad[1] = bad[1] == 'a' ? 'A' : bad[1];
	for (size_t i = 0; bad[i] && bad[i] != '.'; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f') {
			bad[i] = (char)(bad[i] - 'a' + 'A');
			break;
		}
	if (strcmp(bad, c) != 0)
		assert_int_equal(cr_cursor_read(bad, "v|", (char[64]){0}, 64), CR_EINVALID_ARGUMENT);
	/* A position longer than the caller's buffer. */
	{
		char small[4];
		assert_int_equal(cr_cursor_read(c, "v|", small, sizeof(small)), CR_EINVALID_ARGUMENT);
	}
}

static void wanted(void **s)
{
	(void)s;
	cr_page_req all = {0}, page = {.limit = 1};

	assert_false(cr_page_wanted(NULL));
	assert_false(cr_page_wanted(&all));
	assert_true(cr_page_wanted(&page));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(refusals),
		cmocka_unit_test(wanted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
