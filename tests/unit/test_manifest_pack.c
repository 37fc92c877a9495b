/*
 * The packed manifest of the local cache (services/manifest_pack.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec_helpers.h"
#include "domain/codec.h"
#include "services/manifest_pack.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"

/* The packed manifest of the cache gives back what the JSON gives, and
 * anything damaged is refused. */
static void manifest_pack_round_trip(void **s)
{
	(void)s;
	cJSON *ex = load(FIX("manifest.json"));
	cr_manifest m = {0}, u = {0};
	cr_sbuf b = {0};
	char *want, *got;

	assert_int_equal(cr_manifest_from_json(ex, &m), 0);
	free(m.artifacts[0].kind);
	m.artifacts[0].kind = dup("file"); /* an optional field set, one absent */
	assert_int_equal(cr_manifest_pack(&m, &b), 0);
	assert_int_equal(cr_manifest_unpack(b.p, b.len, &u), 0);
	assert_non_null(u.strings);
	{
		cJSON *jm = cr_manifest_to_json(&m), *ju = cr_manifest_to_json(&u);
		want = canon(jm);
		got = canon(ju);
		cJSON_Delete(jm);
		cJSON_Delete(ju);
	}
	assert_string_equal(got, want);
	assert_null(u.artifacts[1].kind);
	assert_null(u.artifact_root);
	free(want);
	free(got);
	cr_manifest_clear(&u);

	/* every single flipped byte, and every cut, is refused */
	for (size_t i = 0; i < b.len; i += 7) {
		b.p[i] ^= 0x20;
		assert_int_equal(cr_manifest_unpack(b.p, b.len, &u), CR_EINVALID_INPUT);
		b.p[i] ^= 0x20;
	}
	for (size_t n = 0; n < b.len; n += 13)
		assert_int_equal(cr_manifest_unpack(b.p, n, &u), CR_EINVALID_INPUT);
	assert_int_equal(cr_manifest_unpack(b.p, b.len, &u), 0);
	cr_manifest_clear(&u);
	/* well summed but cut inside the body, or with bytes to spare: malformed */
	for (size_t cut = 1; cut < 40; cut += 3) {
		size_t body = b.len - 64 - cut;
		char *c = malloc(body + 65);
		memcpy(c, b.p, body);
		cr_sha256_hex(c, body, c + body);
		assert_int_equal(cr_manifest_unpack(c, body + 64, &u), CR_EINVALID_INPUT);
		free(c);
	}
	{
		size_t body = b.len - 64;
		char *c = malloc(body + 8 + 65);
		memcpy(c, b.p, body);
		memset(c + body, 0, 8);
		cr_sha256_hex(c, body + 8, c + body + 8);
		assert_int_equal(cr_manifest_unpack(c, body + 8 + 64, &u), CR_EINVALID_INPUT);
		free(c);
	}
	cr_sb_free(&b);
	cr_manifest_clear(&m);
	cJSON_Delete(ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(manifest_pack_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
