/* Strict JSON parsing, file reading limits, canonical output and digests. */
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
#include "util/json.h"

/* printf '%s' '{"a":"x","z":1}' | sha256sum */
#define DIGEST_AZ "8d6a75ac86d8b51bb56acfbb96108ed81474aa3504c317f77c0c576bde387cd3"

/* Parse exactly LEN bytes from a heap copy with no terminator after them,
 * so that ASan catches any read past LEN. */
static int parse_n(cJSON **out, const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	int rc = cr_json_parse(out, copy, len, "t.json");
	free(copy);
	return rc;
}

static int parse(cJSON **out, const char *s)
{
	return parse_n(out, s, strlen(s));
}

static void expect_ok(const char *s)
{
	cJSON *doc = NULL;
	if (parse(&doc, s) != 0)
		fail_msg("rejected %s: %s", s, cr_error_last()->message);
	assert_non_null(doc);
	cJSON_Delete(doc);
}

static void expect_error_n(const char *s, size_t len, const char *msg)
{
	cJSON *doc = (cJSON *)&doc; /* must be reset to NULL */
	int rc = parse_n(&doc, s, len);
	assert_int_equal(rc, CR_EINVALID_INPUT);
	assert_null(doc);
	if (strcmp(cr_error_last()->message, msg))
		fail_msg("for %.*s: got \"%s\", want \"%s\"", (int)len, s, cr_error_last()->message,
			 msg);
}

static void expect_error(const char *s, const char *msg)
{
	expect_error_n(s, strlen(s), msg);
}

/* The canonical form of the parsed S. */
static void expect_canonical(const char *s, const char *want)
{
	cJSON *doc = NULL;
	size_t len = 0;
	if (parse(&doc, s))
		fail_msg("rejected %s: %s", s, cr_error_last()->message);
	char *out = cr_json_canonical(doc, &len);
	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
	cJSON_Delete(doc);
}

static void test_valid_documents(void **state)
{
	(void)state;
	expect_ok("{}");
	expect_ok("[]");
	expect_ok(" \t\r\n{\"a\":[1,-2,3.5,-0.25e-3,1E+2,{\"b\":null}],\"c\":\"\xc3\xa9\"} \n");
	expect_ok("\"just a string\"");
	expect_ok("0");
	expect_ok("-0");
	expect_ok("true");
	expect_ok("null");
	expect_ok("\"escapes \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"");
	expect_ok("\"\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf\"");
	expect_ok("{\"a\":1,\"A\":2,\"a \":3}"); /* keys differ by case or space */
	/* The same key in sibling objects is not a duplicate. */
	expect_ok("[{\"path\":\"a\"},{\"path\":\"b\"}]");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	expect_error("{\"path\":1,\"path\":2}", "t.json: duplicate key \"path\"");
	expect_error("{\"a\":{\"b\":1,\"c\":[{\"d\":1,\"e\":2,\"d\":3}]}}",
		     "t.json: duplicate key \"d\"");
	/* Large objects take the sorting path. */
	char big[2048];
	size_t n = 0;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "{\"x\":{");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k%02d\":%d,", i, i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k17\":0}}");
	expect_error(big, "t.json: duplicate key \"k17\"");
	big[n - 7] = '3'; /* the last key becomes "k37": the sort puts it last */
	expect_error(big, "t.json: duplicate key \"k37\"");
	big[n - 7] = '4'; /* "k47": unique */
	expect_ok(big);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(cr_utf8_valid("", 0));
	assert_true(cr_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
	assert_true(cr_utf8_valid("\xed\x9f\xbf", 3));     /* U+D7FF */
	assert_true(cr_utf8_valid("\xee\x80\x80", 3));     /* U+E000 */
	assert_true(cr_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	assert_false(cr_utf8_valid("\x80", 1));              /* lone continuation */
	assert_false(cr_utf8_valid("\xc3", 1));              /* truncated */
	assert_false(cr_utf8_valid("\xe2\x82", 2));          /* truncated */
	assert_false(cr_utf8_valid("\xc3\x28", 2));          /* bad continuation */
	assert_false(cr_utf8_valid("\xc0\xaf", 2));          /* overlong '/' */
	assert_false(cr_utf8_valid("\xc1\xbf", 2));          /* overlong */
	assert_false(cr_utf8_valid("\xe0\x80\xaf", 3));      /* overlong */
	assert_false(cr_utf8_valid("\xe0\x9f\xbf", 3));      /* overlong U+07FF */
	assert_false(cr_utf8_valid("\xf0\x80\x80\xaf", 4));  /* overlong */
	assert_false(cr_utf8_valid("\xf0\x8f\xbf\xbf", 4));  /* overlong U+FFFF */
	assert_false(cr_utf8_valid("\xed\xa0\x80", 3));      /* surrogate U+D800 */
	assert_false(cr_utf8_valid("\xed\xbf\xbf", 3));      /* surrogate U+DFFF */
	assert_false(cr_utf8_valid("\xf4\x90\x80\x80", 4));  /* U+110000 */
	assert_false(cr_utf8_valid("\xf5\x80\x80\x80", 4));  /* F5 lead */
	assert_false(cr_utf8_valid("\xff", 1));
	assert_false(cr_utf8_valid("\xf0\x9f\x98", 3));      /* truncated 4-byte */

	expect_error("{\"a\":\"\x80\"}", "t.json: invalid UTF-8 at byte 6");
	expect_error("{\"a\":\"ok\xc0\xaf\"}", "t.json: invalid UTF-8 at byte 8");
	expect_error("{\"a\":\"\xed\xa0\x80\"}", "t.json: invalid UTF-8 at byte 6");
	expect_error("{\"a\":\"\xf4\x90\x80\x80\"}", "t.json: invalid UTF-8 at byte 6");
	expect_error("{\"a\":\"\xe2\x82", "t.json: invalid UTF-8 at byte 6"); /* cut mid-character */
	expect_error("{\"\xfe\":1}", "t.json: invalid UTF-8 at byte 2");
	/* Escapes cJSON decodes are checked too. */
	expect_error("\"\\ud800\"", "t.json: malformed JSON near byte 1");
	expect_error("\"\\udc00\\ud800\"", "t.json: malformed JSON near byte 1");
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("", "t.json: malformed JSON near byte 0");
	expect_error("   ", "t.json: malformed JSON near byte 2");
	expect_error("{\"a\":[1,2", "t.json: malformed JSON near byte 8");
	expect_error("{\"a\":\"abc", "t.json: malformed JSON near byte 6");
	expect_error("{\"a\" 1}", "t.json: malformed JSON near byte 5");
	expect_error("{'a':1}", "t.json: malformed JSON near byte 2");
	expect_error("[1,]", "t.json: malformed JSON near byte 3");
	expect_error("{} x", "t.json: malformed JSON near byte 3");
	expect_error("{}{}", "t.json: malformed JSON near byte 2");
	expect_error("1 2", "t.json: malformed JSON near byte 2");
	expect_error("\"a\"\n\"b\"", "t.json: malformed JSON near byte 4");
	expect_error("\xef\xbb\xbf{}", "t.json: byte order mark at byte 0");
	expect_error_n("{\"a\":\"x\0y\"}", 11, "t.json: NUL byte at byte 7");
	expect_error_n("{}\0", 3, "t.json: NUL byte at byte 2");
	expect_error("\"a\\u0000b\"", "t.json: \\u0000 in a string at byte 2");
	expect_error("\"tab\there\"", "t.json: control character in a string at byte 4");
	expect_error("\"a\nb\"", "t.json: control character in a string at byte 2");
	/* Numbers cJSON would take but JSON does not allow. */
	expect_error("[01]", "t.json: malformed number at byte 1");
	expect_error("[1.]", "t.json: malformed number at byte 1");
	expect_error("[-]", "t.json: malformed number at byte 1");
	expect_error("[-.5]", "t.json: malformed number at byte 1");
	expect_error("[1e]", "t.json: malformed number at byte 1");
	expect_error("[1e+]", "t.json: malformed number at byte 1");
	expect_error("[1-2]", "t.json: malformed number at byte 1");
	expect_error("[+1]", "t.json: malformed JSON near byte 1");
	expect_error("[.5]", "t.json: malformed JSON near byte 1");
	expect_error("[1e999]", "t.json: number out of range");
	expect_error("NaN", "t.json: malformed JSON near byte 0");
	/* A NULL WHAT still gives a message. */
	cJSON *doc;
	assert_int_equal(cr_json_parse(&doc, "[", 1, NULL), CR_EINVALID_INPUT);
	assert_null(doc);
	assert_non_null(strstr(cr_error_last()->message, "malformed JSON"));
}

static void test_depth(void **state)
{
	(void)state;
	char buf[2 * (CR_JSON_MAX_DEPTH + 1) + 1];
	size_t d = CR_JSON_MAX_DEPTH;
	memset(buf, '[', d);
	memset(buf + d, ']', d);
	buf[2 * d] = '\0';
	expect_ok(buf);
	d = CR_JSON_MAX_DEPTH + 1;
	memset(buf, '[', d);
	memset(buf + d, ']', d);
	buf[2 * d] = '\0';
	expect_error(buf, "t.json: nesting deeper than 64 levels at byte 64");
	/* Brackets inside strings do not count. */
	char str[300];
	memset(str, '[', sizeof(str));
	str[0] = '"';
	str[sizeof(str) - 2] = '"';
	str[sizeof(str) - 1] = '\0';
	expect_ok(str);
	/* A huge nesting is refused quickly, without recursion. */
	size_t huge = 1000000;
	char *h = malloc(huge);
	assert_non_null(h);
	memset(h, '{', huge);
	h[0] = '[';
	expect_error_n(h, huge, "t.json: nesting deeper than 64 levels at byte 64");
	free(h);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void test_read_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/cr-test-json-XXXXXX";
	char p[128];
	cJSON *doc = NULL;
	assert_non_null(mkdtemp(dir));

	snprintf(p, sizeof(p), "%s/ok.json", dir);
	write_file(p, "{\"artifacts\": [{\"path\": \"a\"}]}\n");
	assert_int_equal(cr_json_read_file(&doc, p, 1024, "ok.json"), 0);
	assert_string_equal(cr_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "artifacts"), 0),
					"path"),
			    "a");
	cJSON_Delete(doc);
	/* Exactly at the limit is fine; one byte more is not. */
	assert_int_equal(cr_json_read_file(&doc, p, 31, "ok.json"), 0);
	cJSON_Delete(doc);
	assert_int_equal(cr_json_read_file(&doc, p, 30, "ok.json"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "ok.json: file is larger than 30 bytes");
	assert_int_equal(cr_json_read_file(&doc, p, 30, NULL), CR_EINVALID_INPUT);
	char want[256];
	snprintf(want, sizeof(want), "%s: file is larger than 30 bytes", p);
	assert_string_equal(cr_error_last()->message, want);

	/* A big file is refused from its size, without being read. */
	snprintf(p, sizeof(p), "%s/big.json", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 10 * 1024 * 1024 + 1), 0);
	close(fd);
	assert_int_equal(cr_json_read_file(&doc, p, 10 * 1024 * 1024, "big.json"),
			 CR_EINVALID_INPUT);
	assert_null(doc);
	assert_string_equal(cr_error_last()->message, "big.json: file is larger than 10 MiB");
	assert_int_equal(cr_json_read_file(&doc, p, 64 * 1024, "big.json"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "big.json: file is larger than 64 KiB");
	unlink(p);

	snprintf(p, sizeof(p), "%s/bad.json", dir);
	write_file(p, "{\"a\":1,\"a\":2}");
	assert_int_equal(cr_json_read_file(&doc, p, 1024, "bad.json"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "bad.json: duplicate key \"a\"");
	unlink(p);

	snprintf(p, sizeof(p), "%s/missing.json", dir);
	assert_int_equal(cr_json_read_file(&doc, p, 1024, "missing.json"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "missing.json: no such file");
	assert_int_equal(cr_json_read_file(&doc, dir, 1024, "dir"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "dir: is a directory");

	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(cr_json_read_file(&doc, p, 1024, "fifo"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "fifo: not a regular file");
	unlink(p);

	snprintf(p, sizeof(p), "%s/ok.json", dir);
	unlink(p);
	assert_int_equal(rmdir(dir), 0);
}

static void test_canonical_sorting(void **state)
{
	(void)state;
	expect_canonical("{\"b\": 1, \"a\": {\"d\": [3, {\"z\": 1, \"y\": 2}], \"c\": \"x\"}}",
			 "{\"a\":{\"c\":\"x\",\"d\":[3,{\"y\":2,\"z\":1}]},\"b\":1}");
	/* Bytewise: "" < "B" < "a" < "aa" < "b" < "é" (0xC3...). */
	expect_canonical("{\"\xc3\xa9\":1,\"b\":2,\"aa\":3,\"a\":4,\"B\":5,\"\":6}",
			 "{\"\":6,\"B\":5,\"a\":4,\"aa\":3,\"b\":2,\"\xc3\xa9\":1}");
	expect_canonical(" { } ", "{}");
	expect_canonical("[ ]", "[]");
	expect_canonical("[true, false, null, [], {}]", "[true,false,null,[],{}]");
	/* Array order is kept. */
	expect_canonical("[3,1,2]", "[3,1,2]");
	/* More members than the small-array fast path. */
	expect_canonical("{\"t\":0,\"s\":0,\"r\":0,\"q\":0,\"p\":0,\"o\":0,\"n\":0,\"m\":0,\"l\":0,"
			 "\"k\":0,\"j\":0,\"i\":0,\"h\":0,\"g\":0,\"f\":0,\"e\":0,\"d\":0,\"c\":0}",
			 "{\"c\":0,\"d\":0,\"e\":0,\"f\":0,\"g\":0,\"h\":0,\"i\":0,\"j\":0,\"k\":0,"
			 "\"l\":0,\"m\":0,\"n\":0,\"o\":0,\"p\":0,\"q\":0,\"r\":0,\"s\":0,\"t\":0}");
}

static void test_canonical_strings(void **state)
{
	(void)state;
	expect_canonical("\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001F \\/ \\u007f\"",
			 "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f / \x7f\"");
	/* Non-ASCII stays raw, whether written raw or escaped. */
	expect_canonical("\"\\u00e9 \xc3\xa9 \\ud83d\\ude00 \xf0\x9f\x98\x80 \\u2028\"",
			 "\"\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80 \xf0\x9f\x98\x80 \xe2\x80\xa8\"");
	expect_canonical("{\"k\\n\":\"v\"}", "{\"k\\n\":\"v\"}");
}

/* The writer's string path skips plain bytes eight at a time: every
 * special byte at every offset around a word boundary is still escaped,
 * bytes >= 0x80 and DEL pass, and numbers print as %lld/%.17g would. */
static void ref_json_str(char *out, const unsigned char *s)
{
	char *o = out;
	*o++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			*o++ = '\\';
			*o++ = (char)*s;
		} else if (*s < 0x20) {
			const char *named = *s == '\b' ? "b" : *s == '\f' ? "f" : *s == '\n' ? "n" : *s == '\r' ? "r" : *s == '\t' ? "t" : NULL;
			if (named)
				o += snprintf(o, 8, "\\%s", named);
			else
				o += snprintf(o, 8, "\\u%04x", *s);
		} else {
			*o++ = (char)*s;
		}
	}
	*o++ = '"';
	*o = 0;
}

static void test_sb_writer(void **state)
{
	static const unsigned char specials[] = {'"', '\\', '\n', '\t', 0x01, 0x1f, 0x7f, 0xc3, 0x80, 0xff, ' ', '~'};
	(void)state;
	for (size_t len = 0; len < 26; len++) {
		for (size_t at = 0; at <= len; at++) {
			for (size_t k = 0; k < sizeof(specials); k++) {
				unsigned char in[40];
				char want[300];
				cr_sbuf b = {0};

				memset(in, 'a', len);
				in[len] = 0;
				if (at < len)
					in[at] = specials[k];
				ref_json_str(want, in);
				cr_sb_json_str(&b, (const char *)in);
				assert_false(b.oom);
				assert_string_equal(b.p, want);
				cr_sb_free(&b);
			}
		}
	}
	{
		static const double nums[] = {0, 1, -1, 9, 10, 123456789, -9007199254740992.0, 9007199254740992.0, 0.5, 1e300};
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			char want[64];
			cr_sbuf b = {0};
			double d = nums[i];

			if (d == (double)(long long)d && d <= 9007199254740992.0 && d >= -9007199254740992.0)
				snprintf(want, sizeof(want), "%lld", (long long)d);
			else
				snprintf(want, sizeof(want), "%.17g", d);
			cr_sb_json_num(&b, d);
			assert_string_equal(b.p, want);
			cr_sb_free(&b);
		}
	}
}

static void test_canonical_numbers(void **state)
{
	(void)state;
	expect_canonical("[0, -1, 16384, 9007199254740992, -9007199254740992]",
			 "[0,-1,16384,9007199254740992,-9007199254740992]");
	expect_canonical("[-0, 1.0, 1e3, 2.5E1, 100e-2]", "[0,1,1000,25,1]");
	expect_canonical("[1.5, 0.1, -0.25]", "[1.5,0.10000000000000001,-0.25]");
	expect_canonical("[1e300, 18014398509481984]",
			 "[1.0000000000000001e+300,18014398509481984]");
	/* Built, not parsed. */
	cJSON *o = cJSON_CreateObject();
	cr_json_add_int(o, "size", 4294967296LL);
	cr_json_add_int(o, "neg", -7);
	cr_json_add_str(o, "s", "x");
	cr_json_add_str(o, "n", NULL);
	char *s = cr_json_canonical(o, NULL);
	assert_string_equal(s, "{\"n\":null,\"neg\":-7,\"s\":\"x\",\"size\":4294967296}");
	free(s);
	cJSON_Delete(o);
}

static void test_digest(void **state)
{
	(void)state;
	cJSON *doc = NULL;
	char out[65];
	assert_int_equal(parse(&doc, "{\n  \"z\": 1.0,\n  \"a\": \"x\"\n}\n"), 0);
	assert_int_equal(cr_json_digest(doc, out), 0);
	assert_string_equal(out, DIGEST_AZ);
	cJSON_Delete(doc);
}

static void test_getters(void **state)
{
	(void)state;
	cJSON *doc = NULL;
	assert_int_equal(parse(&doc, "{\"s\":\"str\",\"i\":42,\"f\":1.5,\"neg\":-3,"
				     "\"big\":9007199254740992,\"huge\":1e19,\"n\":null}"),
			 0);
	assert_string_equal(cr_json_str(doc, "s"), "str");
	assert_null(cr_json_str(doc, "i"));
	assert_null(cr_json_str(doc, "missing"));
	assert_null(cr_json_str(NULL, "s"));
	assert_int_equal(cr_json_int(doc, "i", -1), 42);
	assert_int_equal(cr_json_int(doc, "neg", 0), -3);
	assert_true(cr_json_int(doc, "big", 0) == 9007199254740992LL);
	assert_int_equal(cr_json_int(doc, "f", -1), -1);
	assert_int_equal(cr_json_int(doc, "s", -1), -1);
	assert_int_equal(cr_json_int(doc, "n", -1), -1);
	assert_int_equal(cr_json_int(doc, "huge", -1), -1);
	assert_int_equal(cr_json_int(doc, "missing", 7), 7);
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_documents),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_canonical_sorting),
		cmocka_unit_test(test_canonical_strings),
		cmocka_unit_test(test_canonical_numbers),
		cmocka_unit_test(test_sb_writer),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_getters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
