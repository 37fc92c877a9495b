#ifndef CR_TESTS_CODEC_HELPERS_H
#define CR_TESTS_CODEC_HELPERS_H
/*
 * What the codec tests share (test_codec.c, test_dto.c, test_run_event.c,
 * test_manifest_pack.c, test_task_json.c): the fixtures (copies of
 * spec/examples, read from the repository root), canonical comparison, and
 * the round-trip macros. Include after <cmocka.h>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/error.h"
#include "util/json.h"

#define FIX(name) "tests/unit/fixtures/" name

static inline cJSON *load(const char *path)
{
	cJSON *j = NULL;
	if (cr_json_read_file(&j, path, 1 << 20, path) < 0)
		fail_msg("%s: %s", path, cr_error_last()->message);
	return j;
}

static inline char *canon(const cJSON *j)
{
	char *s;
	assert_non_null(j);
	s = cr_json_canonical(j, NULL);
	assert_non_null(s);
	return s;
}

static inline cJSON *reparse(const char *text)
{
	cJSON *j = NULL;
	if (cr_json_parse(&j, text, strlen(text), "canonical") < 0)
		fail_msg("reparse: %s", cr_error_last()->message);
	return j;
}

/* Compare the canonical forms of A and B; frees B (the built one). */
static inline void assert_same_json(const cJSON *expect, cJSON *got)
{
	char *e = canon(expect), *g;
	if (!got)
		fail_msg("to_json failed: %s", cr_error_last()->message);
	g = canon(got);
	if (strcmp(e, g) != 0)
		fail_msg("JSON differs\nwant %s\ngot  %s", e, g);
	free(e);
	free(g);
	cJSON_Delete(got);
}

/*
 * For a (from_json, to_json, clear) triple: the example comes back exactly,
 * and one more trip through canonical text changes nothing.
 */
#define EXAMPLE_ROUND_TRIP(type, file, from, to, clear)                             \
	do {                                                                          \
		cJSON *ex_ = load(FIX(file));                                        \
		type a_ = {0}, b_ = {0};                                              \
		cJSON *out_, *re_;                                                    \
		char *text_;                                                          \
		if (from(ex_, &a_) < 0)                                               \
			fail_msg("%s: %s", file, cr_error_last()->message);          \
		out_ = to(&a_);                                                       \
		assert_non_null(out_);                                                \
		text_ = canon(out_);                                                  \
		assert_same_json(ex_, out_);                                          \
		re_ = reparse(text_);                                                 \
		if (from(re_, &b_) < 0)                                               \
			fail_msg("%s (again): %s", file, cr_error_last()->message);  \
		assert_same_json(re_, to(&b_));                                       \
		free(text_);                                                          \
		cJSON_Delete(re_);                                                    \
		cJSON_Delete(ex_);                                                    \
		clear(&a_);                                                           \
		clear(&b_);                                                           \
	} while (0)

/* A hand-built struct through to_json -> text -> from_json -> to_json. */
#define STRUCT_ROUND_TRIP(type, value_ptr, from, to, clear)                      \
	do {                                                                    \
		cJSON *first_ = to(value_ptr), *re_;                            \
		type b_ = {0};                                                  \
		char *text_;                                                    \
		if (!first_)                                                    \
			fail_msg("to_json: %s", cr_error_last()->message);     \
		text_ = canon(first_);                                          \
		re_ = reparse(text_);                                           \
		if (from(re_, &b_) < 0)                                         \
			fail_msg("from_json: %s", cr_error_last()->message);   \
		assert_same_json(first_, to(&b_));                              \
		free(text_);                                                    \
		cJSON_Delete(re_);                                              \
		cJSON_Delete(first_);                                           \
		clear(&b_);                                                     \
	} while (0)


static inline cJSON *parse_text(const char *text)
{
	return reparse(text);
}

static inline char *dup(const char *s) { return s ? strdup(s) : NULL; }

#endif
