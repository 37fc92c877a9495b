/* Identifier rules of data-model.md section 1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "domain/ids.h"

static void prefixes(void **state)
{
	(void)state;
	static const char *const want[CR_ID__COUNT] = {"imp", "man", "run", "rpt", "apr", "pub", "evt"};
	for (int k = 0; k < CR_ID__COUNT; k++)
		assert_string_equal(cr_id_prefix((cr_idkind)k), want[k]);
	assert_null(cr_id_prefix(CR_ID__COUNT));
}

static void format(void **state)
{
	(void)state;
	char buf[32];

	cr_id_format(buf, sizeof(buf), CR_ID_IMPORT, 1);
	assert_string_equal(buf, "imp-001");
	cr_id_format(buf, sizeof(buf), CR_ID_MANIFEST, 0);
	assert_string_equal(buf, "man-000");
	cr_id_format(buf, sizeof(buf), CR_ID_RUN, 999);
	assert_string_equal(buf, "run-999");
	cr_id_format(buf, sizeof(buf), CR_ID_RUN, 1000);
	assert_string_equal(buf, "run-1000");
	cr_id_format(buf, sizeof(buf), CR_ID_EVENT, 1234567);
	assert_string_equal(buf, "evt-1234567");
	cr_id_format(buf, sizeof(buf), CR_ID_REPORT, 42);
	assert_string_equal(buf, "rpt-042");
	cr_id_format(buf, sizeof(buf), CR_ID_EVENT, UINT64_MAX);
	assert_string_equal(buf, "evt-18446744073709551615");

	cr_violation_id_format(buf, sizeof(buf), "run-001", 1);
	assert_string_equal(buf, "run-001-v000001");
	cr_violation_id_format(buf, sizeof(buf), "run-1000", 1234567);
	assert_string_equal(buf, "run-1000-v1234567");
}

static void parse_valid(void **state)
{
	(void)state;
	uint64_t n = 0;

	assert_true(cr_id_parse("imp-001", CR_ID_IMPORT, &n));
	assert_int_equal(n, 1);
	assert_true(cr_id_parse("run-999", CR_ID_RUN, &n));
	assert_int_equal(n, 999);
	assert_true(cr_id_parse("run-1000", CR_ID_RUN, &n));
	assert_int_equal(n, 1000);
	assert_true(cr_id_parse("man-000", CR_ID_MANIFEST, &n));
	assert_int_equal(n, 0);
	assert_true(cr_id_parse("evt-18446744073709551615", CR_ID_EVENT, &n));
	assert_true(n == UINT64_MAX);
	assert_true(cr_id_parse("pub-010", CR_ID_PUBLICATION, NULL));

	/* Format and parse agree. */
	for (uint64_t v = 0; v < 20000; v += 7) {
		char buf[32];
		cr_id_format(buf, sizeof(buf), CR_ID_APPROVAL, v);
		assert_true(cr_id_parse(buf, CR_ID_APPROVAL, &n));
		assert_true(n == v);
	}
}

static void parse_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"imp-01", "imp-1", "imp-0001", "imp-0100", "imp-", "imp", "", "imp001", "imp_001",
		"imp-001 ", " imp-001", "imp-00a", "imp--01", "IMP-001", "imp-+01", "imp-1e3",
		"man-001", /* another kind */
		"imp-18446744073709551616", "imp-99999999999999999999",
	};
	uint64_t n = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cr_id_parse(bad[i], CR_ID_IMPORT, &n))
			fail_msg("\"%s\" parsed as an import id", bad[i]);
	assert_int_equal(n, 77); /* untouched on failure */
	assert_false(cr_id_parse(NULL, CR_ID_IMPORT, &n));
	assert_false(cr_id_parse("imp-001", CR_ID__COUNT, &n));
}

static void kind(void **state)
{
	(void)state;
	assert_int_equal(cr_id_kind("imp-001"), CR_ID_IMPORT);
	assert_int_equal(cr_id_kind("man-002"), CR_ID_MANIFEST);
	assert_int_equal(cr_id_kind("run-1000"), CR_ID_RUN);
	assert_int_equal(cr_id_kind("rpt-003"), CR_ID_REPORT);
	assert_int_equal(cr_id_kind("apr-004"), CR_ID_APPROVAL);
	assert_int_equal(cr_id_kind("pub-005"), CR_ID_PUBLICATION);
	assert_int_equal(cr_id_kind("evt-006"), CR_ID_EVENT);
	assert_int_equal(cr_id_kind("run-01"), -1);
	assert_int_equal(cr_id_kind("task-run-001"), -1);
	assert_int_equal(cr_id_kind(""), -1);
	assert_int_equal(cr_id_kind(NULL), -1);
}

static void fill(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void candidate_ids(void **state)
{
	(void)state;
	char buf[200];
	const char *why;

	assert_null(cr_candidate_id_invalid("2026.03.09-rc1"));
	assert_null(cr_candidate_id_invalid("a"));
	assert_null(cr_candidate_id_invalid("0"));
	assert_null(cr_candidate_id_invalid("A_b-c.d"));
	assert_null(cr_candidate_id_invalid("x.lockx"));
	assert_null(cr_candidate_id_invalid("lock"));
	fill(buf, 128, 'a');
	assert_null(cr_candidate_id_invalid(buf));

	fill(buf, 129, 'a');
	assert_string_equal(cr_candidate_id_invalid(buf), "must be 1 to 128 characters");
	assert_string_equal(cr_candidate_id_invalid(""), "must be 1 to 128 characters");
	assert_string_equal(cr_candidate_id_invalid(NULL), "must be 1 to 128 characters");
	assert_string_equal(cr_candidate_id_invalid("-rc1"), "must start with a letter or digit");
	assert_string_equal(cr_candidate_id_invalid(".rc1"), "must start with a letter or digit");
	assert_string_equal(cr_candidate_id_invalid("_rc1"), "must start with a letter or digit");
	assert_string_equal(cr_candidate_id_invalid("/rc1"), "must start with a letter or digit");

	why = cr_candidate_id_invalid("rel/1");
	assert_non_null(why);
	assert_non_null(strstr(why, "'/'"));
	assert_non_null(strstr(why, "a character other than A-Z a-z 0-9 . _ -"));
	why = cr_candidate_id_invalid("rel 1");
	assert_non_null(why);
	assert_non_null(strstr(why, "0x20"));
	why = cr_candidate_id_invalid("rel\t1");
	assert_non_null(why);
	assert_non_null(strstr(why, "0x09"));
	why = cr_candidate_id_invalid("rel\x01" "1");
	assert_non_null(why);
	assert_non_null(strstr(why, "0x01"));
	why = cr_candidate_id_invalid("rel\x7f");
	assert_non_null(why);
	assert_non_null(strstr(why, "0x7f"));
	why = cr_candidate_id_invalid("caf\xc3\xa9");
	assert_non_null(why);
	assert_non_null(strstr(why, "0xc3"));
	why = cr_candidate_id_invalid("a@{1}");
	assert_non_null(why);
	assert_non_null(strstr(why, "'@'"));
	why = cr_candidate_id_invalid("a+b");
	assert_non_null(strstr(why, "'+'"));

	assert_string_equal(cr_candidate_id_invalid("a..b"), "must not contain \"..\"");
	assert_string_equal(cr_candidate_id_invalid("a.."), "must not contain \"..\"");
	assert_string_equal(cr_candidate_id_invalid("rc1.lock"), "must not end in \".lock\"");
	assert_string_equal(cr_candidate_id_invalid("a.lock"), "must not end in \".lock\"");
	assert_string_equal(cr_candidate_id_invalid("rc1."), "must not end in \".\"");
	/* 128 characters but ending in "." */
	fill(buf, 127, 'a');
	buf[127] = '.';
	buf[128] = '\0';
	assert_string_equal(cr_candidate_id_invalid(buf), "must not end in \".\"");
}

static void task_ids(void **state)
{
	(void)state;
	char buf[200];

	assert_null(cr_task_id_invalid("task-run-001"));
	assert_null(cr_task_id_invalid("a.b_c-d"));
	/* Opaque: no ref-name rules beyond the character set. */
	assert_null(cr_task_id_invalid("a..lock"));
	fill(buf, 128, 'z');
	assert_null(cr_task_id_invalid(buf));
	fill(buf, 129, 'z');
	assert_non_null(cr_task_id_invalid(buf));
	assert_non_null(cr_task_id_invalid(""));
	assert_non_null(cr_task_id_invalid("-x"));
	assert_non_null(cr_task_id_invalid("x/y"));
	assert_non_null(cr_task_id_invalid("x y"));
}

static void versions(void **state)
{
	(void)state;
	char buf[100];

	assert_null(cr_version_invalid("1.2.0"));
	assert_null(cr_version_invalid("1.2.0-rc1+build.5~deb12"));
	assert_null(cr_version_invalid("v1_2"));
	fill(buf, 64, '1');
	assert_null(cr_version_invalid(buf));
	fill(buf, 65, '1');
	assert_string_equal(cr_version_invalid(buf), "must be 1 to 64 characters");
	assert_string_equal(cr_version_invalid(""), "must be 1 to 64 characters");
	assert_string_equal(cr_version_invalid("-1"), "must start with a letter or digit");
	assert_string_equal(cr_version_invalid("+1"), "must start with a letter or digit");
	assert_non_null(strstr(cr_version_invalid("1 2"), "0x20"));
	assert_non_null(strstr(cr_version_invalid("1/2"), "'/'"));
	assert_non_null(strstr(cr_version_invalid("1:2"), "A-Z a-z 0-9 . _ + ~ -"));
}

static void channels(void **state)
{
	(void)state;
	char buf[64];

	assert_null(cr_channel_invalid("prod"));
	assert_null(cr_channel_invalid("eu-west-2"));
	assert_null(cr_channel_invalid("a"));
	fill(buf, 32, 'a');
	assert_null(cr_channel_invalid(buf));
	fill(buf, 33, 'a');
	assert_string_equal(cr_channel_invalid(buf), "must be 1 to 32 characters");
	assert_string_equal(cr_channel_invalid(""), "must be 1 to 32 characters");
	assert_string_equal(cr_channel_invalid("Prod"), "must start with a lowercase letter");
	assert_string_equal(cr_channel_invalid("1prod"), "must start with a lowercase letter");
	assert_string_equal(cr_channel_invalid("-prod"), "must start with a lowercase letter");
	assert_non_null(strstr(cr_channel_invalid("proD"), "'D'"));
	assert_non_null(strstr(cr_channel_invalid("pro_d"), "'_'"));
	assert_non_null(strstr(cr_channel_invalid("pro.d"), "'.'"));
	assert_non_null(strstr(cr_channel_invalid("pro d"), "0x20"));
}

static void actors(void **state)
{
	(void)state;
	char buf[300];

	assert_null(cr_actor_invalid("release-bot"));
	assert_null(cr_actor_invalid("Jane Doe <jane@example.com>"));
	assert_null(cr_actor_invalid("J\xc3\xb6rg"));
	fill(buf, 256, 'x');
	assert_null(cr_actor_invalid(buf));
	fill(buf, 257, 'x');
	assert_string_equal(cr_actor_invalid(buf), "must be 1 to 256 bytes");
	assert_string_equal(cr_actor_invalid(""), "must be 1 to 256 bytes");
	assert_string_equal(cr_actor_invalid(NULL), "must be 1 to 256 bytes");
	assert_string_equal(cr_actor_invalid("bot\n"), "contains control character 0x0a");
	assert_string_equal(cr_actor_invalid("b\tot"), "contains control character 0x09");
	assert_string_equal(cr_actor_invalid("bot\x1f"), "contains control character 0x1f");
	assert_string_equal(cr_actor_invalid("bot\x7f"), "contains control character 0x7f");
}

static void tags(void **state)
{
	(void)state;
	char buf[200];

	assert_null(cr_tag_invalid("v1.2.0"));
	assert_null(cr_tag_invalid("release/v1.2.0+build-5"));
	assert_null(cr_tag_invalid("a/b/c"));
	assert_null(cr_tag_invalid("v1_2"));
	fill(buf, 128, 'v');
	assert_null(cr_tag_invalid(buf));
	fill(buf, 129, 'v');
	assert_string_equal(cr_tag_invalid(buf), "must be 1 to 128 characters");
	assert_string_equal(cr_tag_invalid(""), "must be 1 to 128 characters");
	assert_string_equal(cr_tag_invalid("/v1"), "must start with a letter or digit");
	assert_string_equal(cr_tag_invalid(".v1"), "must start with a letter or digit");
	assert_string_equal(cr_tag_invalid("-v1"), "must start with a letter or digit");
	assert_string_equal(cr_tag_invalid("v1..2"), "must not contain \"..\"");
	assert_string_equal(cr_tag_invalid("v1.lock"), "must not end in \".lock\"");
	assert_string_equal(cr_tag_invalid("v1."), "must not end in \".\"");
	assert_string_equal(cr_tag_invalid("a//b"), "must not contain \"//\"");
	assert_string_equal(cr_tag_invalid("a/b/"), "must not end in \"/\"");
	assert_non_null(strstr(cr_tag_invalid("a/.b"), "\"/.\""));
	assert_non_null(strstr(cr_tag_invalid("v1@{0}"), "'@'"));
	assert_non_null(strstr(cr_tag_invalid("v1 2"), "0x20"));
	assert_non_null(strstr(cr_tag_invalid("v1~2"), "'~'"));
	assert_non_null(strstr(cr_tag_invalid("v1:2"), "':'"));
	assert_non_null(strstr(cr_tag_invalid("v1\\2"), "'\\'"));
	assert_non_null(strstr(cr_tag_invalid("v1*"), "'*'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefixes),    cmocka_unit_test(format),   cmocka_unit_test(parse_valid),
		cmocka_unit_test(parse_invalid), cmocka_unit_test(kind),   cmocka_unit_test(candidate_ids),
		cmocka_unit_test(task_ids),    cmocka_unit_test(versions), cmocka_unit_test(channels),
		cmocka_unit_test(actors),      cmocka_unit_test(tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
