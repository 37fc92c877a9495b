/* The engine: policy checks, every stage on real files in a temporary
 * artifact root, excerpts and secret masking, limits, windows of large
 * files, and the safe opening of files beneath the root (util/fs). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "util/error.h"
#include "util/fs.h"

static char root[64];
static int root_fd = -1;

/* ---- helpers ---- */

typedef struct got {
	cr_stage stage;
	char rule_id[80];
	cr_severity severity;
	char *message;
	bool has_location;
	cr_location location;
	char *excerpt;
} got;

typedef struct findings {
	got *v;
	size_t n, cap;
	int stop_at; /* stop (return 7) when the n-th finding arrives; 0: never */
} findings;

static int collect(const cr_finding *f, void *ctx)
{
	findings *fs = ctx;
	got *g;

	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 16;
		fs->v = realloc(fs->v, fs->cap * sizeof(*fs->v));
		assert_non_null(fs->v);
	}
	g = &fs->v[fs->n++];
	memset(g, 0, sizeof(*g));
	g->stage = f->stage;
	snprintf(g->rule_id, sizeof(g->rule_id), "%s", f->rule_id);
	g->severity = f->severity;
	g->message = strdup(f->message);
	g->has_location = f->has_location;
	g->location = f->location;
	g->excerpt = f->excerpt ? strdup(f->excerpt) : NULL;
	assert_true(strlen(f->message) >= 1 && strlen(f->message) <= CR_ENGINE_MESSAGE_MAX);
	assert_null(strchr(f->message, '\n'));
	if (f->excerpt)
		assert_true(strlen(f->excerpt) <= CR_ENGINE_EXCERPT_MAX);
	if (fs->stop_at && (int)fs->n == fs->stop_at)
		return 7;
	return 0;
}

static void findings_free(findings *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].message);
		free(fs->v[i].excerpt);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

static size_t count_rule(const findings *fs, const char *rule_id)
{
	size_t n = 0;
	for (size_t i = 0; i < fs->n; i++)
		n += strcmp(fs->v[i].rule_id, rule_id) == 0;
	return n;
}

static const got *find_rule(const findings *fs, const char *rule_id)
{
	for (size_t i = 0; i < fs->n; i++)
		if (strcmp(fs->v[i].rule_id, rule_id) == 0)
			return &fs->v[i];
	return NULL;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		if (len == 0)
			return false;
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		if (len == 1 && (*p < 0x20 || *p == 0x7F))
			return false;
		p += len;
	}
	return true;
}

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[512];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_str(const char *rel, const char *text)
{
	write_file(rel, text, strlen(text));
}

static void sha_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* SHA-256 of the file REL, read in chunks. */
static void sha_file(const char *rel, char out[65], uint64_t *size)
{
	char path[512];
	unsigned char md[32], *buf = malloc(1 << 20);
	unsigned int n = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	*size = 0;
	while ((r = read(fd, buf, 1 << 20)) > 0) {
		EVP_DigestUpdate(c, buf, (size_t)r);
		*size += (uint64_t)r;
	}
	EVP_DigestFinal_ex(c, md, &n);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(c);
	close(fd);
	free(buf);
}

/* An artifact record matching the file REL as it is now. */
static cr_artifact art_of(const char *rel, const char *source)
{
	cr_artifact a;
	memset(&a, 0, sizeof(a));
	a.path = (char *)rel;
	a.source = (char *)source;
	sha_file(rel, a.sha256, &a.size);
	return a;
}

static cr_rule rule(const char *id, cr_stage stage, cr_matcher m, const char *pattern, bool secret)
{
	cr_rule r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	r.stage = stage;
	r.severity = CR_SEV_WARNING;
	r.description = (char *)"test rule";
	r.matcher = m;
	r.pattern = (char *)pattern;
	r.secret = secret;
	return r;
}

static cr_allowed_source sources[] = {
	{"nexus", (char *)"https://nexus.acme.internal/"},
	{"npm", (char *)"npm:"},
};
static char *hosts[] = {(char *)"localhost", (char *)"example.com", (char *)"*.acme.internal",
			(char *)"www.w3.org"};
static cr_registry registry = {"test-registry", 3, sources, 2, hosts, 4};

static cr_policy policy_of(cr_rule *rules, size_t n)
{
	cr_policy p;
	memset(&p, 0, sizeof(p));
	snprintf(p.policy_id, sizeof(p.policy_id), "test-policy");
	p.version = 1;
	p.release_tag_pattern = (char *)"^refs/tags/v[0-9]+$";
	p.rules = rules;
	p.rule_count = n;
	p.limits.per_artifact_timeout_ms = 60000;
	return p;
}

/* Check artifact A against P with a fresh scanner; findings into FS. */
static int run_check(const cr_policy *p, unsigned flags, const cr_artifact *a, findings *fs, cr_outcome *out)
{
	cr_rules *r = NULL;
	cr_scanner *s = NULL;
	int rc;

	assert_int_equal(cr_rules_compile_ex(&r, p, &registry, flags), 0);
	assert_int_equal(cr_scanner_new(&s, r), 0);
	rc = cr_engine_check(s, root_fd, a, collect, fs, out);
	cr_scanner_free(s);
	cr_rules_free(r);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/cr-engine-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return root_fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	close(root_fd);
	return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- policy checks ---- */

static void policy_bad_regex_names_rule(void **state)
{
	cr_rule rules[] = {
		rule("fine", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "abc", true),
		rule("broken-rule", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "ab(c", true),
	};
	cr_policy p = policy_of(rules, 2);
	cr_rules *r = NULL;
	(void)state;
	assert_int_equal(cr_rules_check_policy(&p), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message,
			       "policy rule broken-rule: pattern does not compile at offset 4: "));
	assert_int_equal(cr_rules_compile(&r, &p, &registry), CR_EINVALID_INPUT);
	assert_null(r);
	assert_non_null(strstr(cr_error_last()->message, "policy rule broken-rule: pattern does not compile"));
}

static void policy_endpoint_needs_group(void **state)
{
	cr_rule rules[] = {rule("ep", CR_STAGE_NO_EXTERNAL_ENDPOINTS, CR_MATCH_ENDPOINT, "https?://[a-z.]+", false)};
	cr_policy p = policy_of(rules, 1);
	(void)state;
	assert_int_equal(cr_rules_check_policy(&p), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "policy rule ep: endpoint_pattern needs a capture group for the host");
	rules[0].pattern = (char *)"https?://(?:[a-z.]+)";
	assert_int_equal(cr_rules_check_policy(&p), CR_EINVALID_INPUT);
	rules[0].pattern = (char *)"https?://([a-z.]+)";
	assert_int_equal(cr_rules_check_policy(&p), 0);
	rules[0].stage = CR_STAGE_DATA_PURITY;
	assert_int_equal(cr_rules_check_policy(&p), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, "policy rule ep: "));
}

static void policy_duplicate_ids_and_stages(void **state)
{
	cr_rule rules[] = {
		rule("same", CR_STAGE_DATA_PURITY, CR_MATCH_PATH, "\\.sql$", false),
		rule("same", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "x", true),
	};
	cr_policy p = policy_of(rules, 2);
	(void)state;
	assert_int_equal(cr_rules_check_policy(&p), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "policy rule same: duplicate rule id");
	snprintf(rules[1].id, sizeof(rules[1].id), "other");
	assert_int_equal(cr_rules_check_policy(&p), 0);
	rules[1].stage = CR_STAGE_MANIFEST_CONSISTENCY;
	assert_int_equal(cr_rules_check_policy(&p), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, "policy rule other: stage"));
	rules[1].stage = CR_STAGE_NO_EXTERNAL_ENDPOINTS; /* a content rule may count there */
	assert_int_equal(cr_rules_check_policy(&p), 0);
	p.release_tag_pattern = (char *)"^refs/tags/(v";
	assert_int_equal(cr_rules_check_policy(&p), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, "policy release_tag_pattern: pattern does not compile"));
}

static void policy_byte_mode_only(void **state)
{
	cr_rule rules[] = {rule("utf", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "(*UTF)abc", true)};
	cr_policy p = policy_of(rules, 1);
	(void)state;
	assert_int_equal(cr_rules_check_policy(&p), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, "policy rule utf: pattern does not compile"));
}

/* ---- DATA_PURITY ---- */

static void path_rule_hit_and_miss(void **state)
{
	cr_rule rules[] = {rule("no-dumps", CR_STAGE_DATA_PURITY, CR_MATCH_PATH, "\\.(sql|dump)$", false)};
	cr_policy p = policy_of(rules, 1);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	write_str("db.sql", "select 1;\n");
	write_str("app.js", "x\n");
	a = art_of("db.sql", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 1);
	assert_string_equal(fs.v[0].rule_id, "no-dumps");
	assert_int_equal(fs.v[0].stage, CR_STAGE_DATA_PURITY);
	assert_string_equal(fs.v[0].message, "path matches rule no-dumps: test rule");
	assert_false(fs.v[0].has_location);
	assert_null(fs.v[0].excerpt);
	assert_true(out.read_ok);
	findings_free(&fs);
	a = art_of("app.js", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 0);
	findings_free(&fs);
}

static void content_location_exact(void **state)
{
	cr_rule rules[] = {rule("debug", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "DO-NOT-SHIP", false)};
	cr_policy p = policy_of(rules, 1);
	const char *text = "first line\nsecond\n\n  x DO-NOT-SHIP y DO-NOT-SHIP\nlast DO-NOT-SHIP";
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		write_str("loc.txt", text);
		a = art_of("loc.txt", "npm:x@1");
		assert_int_equal(run_check(&p, mode ? CR_RULES_PCRE2_ONLY : 0, &a, &fs, &out), 0);
		assert_int_equal(fs.n, 3);
		assert_true(fs.v[0].has_location);
		assert_int_equal(fs.v[0].location.line, 4);
		assert_int_equal(fs.v[0].location.column, 5);
		assert_int_equal(fs.v[0].location.offset, 23);
		assert_int_equal(fs.v[1].location.line, 4);
		assert_int_equal(fs.v[1].location.column, 19);
		assert_int_equal(fs.v[1].location.offset, 37);
		assert_int_equal(fs.v[2].location.line, 5);
		assert_int_equal(fs.v[2].location.column, 6);
		assert_int_equal(fs.v[2].location.offset, 54);
		assert_string_equal(fs.v[0].message, "content matches rule debug: test rule");
		/* Not secret: the line in clear. */
		assert_string_equal(fs.v[0].excerpt, "  x DO-NOT-SHIP y DO-NOT-SHIP");
		assert_string_equal(fs.v[2].excerpt, "last DO-NOT-SHIP");
		assert_string_equal(out.sha256, a.sha256);
		assert_int_equal(out.size, strlen(text));
		findings_free(&fs);
	}
}

static void secret_masked_everywhere(void **state)
{
	cr_rule rules[] = {
		rule("private-key", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT,
		     "-----BEGIN (?:RSA |DSA )?PRIVATE KEY-----", true),
		rule("word", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "\\bkey:", false),
	};
	cr_policy p = policy_of(rules, 2);
	const char *secret = "-----BEGIN RSA PRIVATE KEY-----";
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	write_str("key.pem", "intro\nkey: -----BEGIN RSA PRIVATE KEY----- and -----BEGIN DSA PRIVATE KEY-----\nMIIE\n");
	a = art_of("key.pem", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(count_rule(&fs, "private-key"), 2);
	assert_int_equal(count_rule(&fs, "word"), 1);
	for (size_t i = 0; i < fs.n; i++) {
		assert_null(strstr(fs.v[i].message, "BEGIN"));
		assert_null(strstr(fs.v[i].message, "PRIVATE"));
		assert_non_null(fs.v[i].excerpt);
		assert_null(strstr(fs.v[i].excerpt, "BEGIN"));
		assert_null(strstr(fs.v[i].excerpt, "PRIVATE"));
		assert_null(strstr(fs.v[i].excerpt, secret + 4));
	}
	{
		const got *g = find_rule(&fs, "private-key");
		char want[200], stars[28];
		memset(stars, '*', 27);
		stars[27] = '\0';
		/* First 4 bytes kept, the rest of the match '*'; the other key too. */
		snprintf(want, sizeof(want), "key: ----%s and ----%s", stars, stars);
		assert_string_equal(g->message, "content matches secret rule private-key: test rule");
		assert_int_equal(g->location.line, 2);
		assert_int_equal(g->location.column, 6);
		assert_string_equal(g->excerpt, want);
		g = find_rule(&fs, "word");
		assert_string_equal(g->excerpt, want);
	}
	findings_free(&fs);
}

static void long_line_excerpt_utf8(void **state)
{
	cr_rule rules[] = {rule("marker", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "MARK", false)};
	cr_policy p = policy_of(rules, 1);
	char line[1200];
	size_t n = 0;
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	/* "é" (2 bytes) and "€" (3 bytes) everywhere, so that any cut lands
	 * inside a character somewhere. */
	for (int i = 0; i < 100; i++) {
		memcpy(line + n, "\xc3\xa9\xe2\x82\xac", 5);
		n += 5;
	}
	memcpy(line + n, "MARK", 4);
	n += 4;
	for (int i = 0; i < 100; i++) {
		memcpy(line + n, "\xe2\x82\xac\xc3\xa9", 5);
		n += 5;
	}
	line[n++] = '\n';
	for (int shift = 0; shift < 5; shift++) {
		char file[1300];
		memset(file, 'x', (size_t)shift);
		memcpy(file + shift, line, n);
		write_file("long.txt", file, n + (size_t)shift);
		a = art_of("long.txt", "npm:x@1");
		assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
		assert_int_equal(fs.n, 1);
		assert_int_equal(fs.v[0].location.offset, 500 + (uint64_t)shift);
		assert_true(strlen(fs.v[0].excerpt) <= 120);
		assert_true(strlen(fs.v[0].excerpt) >= 110);
		assert_true(valid_utf8(fs.v[0].excerpt));
		assert_null(strchr(fs.v[0].excerpt, '?')); /* no character was cut into '?' */
		assert_non_null(strstr(fs.v[0].excerpt, "MARK"));
		findings_free(&fs);
	}
}

/* Where the excerpt window of a long line falls: a cut through a
 * character at its start, a match near the end, a secret cut by it. */
static void long_line_excerpt_edges(void **state)
{
	cr_rule rules[] = {
		rule("marker", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "MARK", false),
		rule("token", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "tok_[a-z]{150}", true),
	};
	cr_policy p = policy_of(rules, 2);
	char file[2000];
	size_t n;
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	for (int k = 0; k < 5; k++) {
		n = 0;
		for (int i = 0; i < 60; i++) {
			memcpy(file + n, "\xe2\x82\xac\xc3\xa9", 5);
			n += 5;
		}
		memset(file + n, 'x', (size_t)k);
		n += (size_t)k;
		memcpy(file + n, "MARK", 4);
		n += 4;
		memcpy(file + n, " tail\n", 6);
		n += 6;
		write_file("edge.txt", file, n);
		a = art_of("edge.txt", "npm:x@1");
		assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
		assert_int_equal(fs.n, 1);
		assert_true(valid_utf8(fs.v[0].excerpt));
		assert_null(strchr(fs.v[0].excerpt, '?'));
		/* Near the end: the window ends with the line. */
		assert_non_null(strstr(fs.v[0].excerpt, "MARK tail"));
		assert_true(strlen(fs.v[0].excerpt) >= 116);
		findings_free(&fs);
	}
	/* A 154-byte secret: the excerpt of a match after it cuts it, and
	 * still shows none of it past its first 4 bytes. */
	n = 0;
	memcpy(file + n, "tok_", 4);
	n += 4;
	memset(file + n, 'q', 150);
	n += 150;
	memcpy(file + n, " then MARK\n", 11);
	n += 11;
	write_file("edge.txt", file, n);
	a = art_of("edge.txt", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 2);
	for (size_t i = 0; i < fs.n; i++)
		assert_null(strstr(fs.v[i].excerpt, "qq"));
	assert_non_null(strstr(find_rule(&fs, "marker")->excerpt, "**** then MARK"));
	assert_non_null(strstr(find_rule(&fs, "token")->excerpt, "tok_****"));
	findings_free(&fs);
}

/* More secret matches on one line than the engine keeps: all reported,
 * none with an excerpt (it could not mask them all). */
static void many_secrets_on_one_line(void **state)
{
	cr_rule rules[] = {rule("pair", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "ab[0-9]", true)};
	cr_policy p = policy_of(rules, 1);
	size_t count = 70000, n = 0;
	char *buf = malloc(count * 4 + 1);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	for (size_t i = 0; i < count; i++) {
		memcpy(buf + n, "ab7 ", 4);
		n += 4;
	}
	write_file("pairs.txt", buf, n);
	free(buf);
	a = art_of("pairs.txt", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, count);
	for (size_t i = 0; i < fs.n; i++)
		assert_null(fs.v[i].excerpt);
	{
		uint64_t last = 0;
		for (size_t i = 0; i < fs.n; i++)
			if (fs.v[i].location.column > last)
				last = fs.v[i].location.column;
		assert_int_equal(last, (count - 1) * 4 + 1);
	}
	findings_free(&fs);
}

static void binary_content_matched(void **state)
{
	cr_rule rules[] = {rule("aws", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "\\bAKIA[0-9A-Z]{16}\\b", true)};
	cr_policy p = policy_of(rules, 1);
	const unsigned char data[] = "\x00\x01\xff\xfe\x80garbage\x00 AKIAIOSFODNN7EXAMPLE \xc3\x28\x00\x7f\n"
				     "\x00\x00\x00zz";
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		write_file("blob.bin", data, sizeof(data) - 1);
		a = art_of("blob.bin", "npm:x@1");
		assert_int_equal(run_check(&p, mode ? CR_RULES_PCRE2_ONLY : 0, &a, &fs, &out), 0);
		assert_int_equal(fs.n, 1);
		assert_int_equal(fs.v[0].location.line, 1);
		assert_int_equal(fs.v[0].location.offset, 14);
		assert_int_equal(fs.v[0].location.column, 15);
		assert_true(valid_utf8(fs.v[0].excerpt));
		assert_null(strstr(fs.v[0].excerpt, "IOSFODNN"));
		assert_string_equal(fs.v[0].excerpt, "?????garbage? AKIA**************** ?(??");
		findings_free(&fs);
	}
}

static void many_matches_per_line_and_file(void **state)
{
	cr_rule rules[] = {
		rule("ip", CR_STAGE_NO_EXTERNAL_ENDPOINTS, CR_MATCH_CONTENT,
		     "(?<![0-9.])(?:[0-9]{1,3}\\.){3}[0-9]{1,3}(?![0-9.])", false),
		rule("empty", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "q*", false),
	};
	cr_policy p = policy_of(rules, 1);
	const char *text = "a 10.0.0.1 b 10.0.0.2 c 1.2.3.4.5 d 192.168.1.1\nno ips\n8.8.8.8\n";
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	write_str("ips.txt", text);
	a = art_of("ips.txt", "npm:x@1");
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(run_check(&p, mode ? CR_RULES_PCRE2_ONLY : 0, &a, &fs, &out), 0);
		assert_int_equal(fs.n, 4);
		assert_int_equal(fs.v[0].location.column, 3);
		assert_int_equal(fs.v[1].location.column, 14);
		assert_int_equal(fs.v[2].location.column, 37);
		assert_int_equal(fs.v[3].location.line, 3);
		assert_int_equal(fs.v[3].location.column, 1);
		assert_int_equal(fs.v[3].stage, CR_STAGE_NO_EXTERNAL_ENDPOINTS);
		findings_free(&fs);
	}
	/* An empty-matching rule steps over each empty match: "baab" has
	 * empty, "aa", empty, empty. */
	rules[1].pattern = (char *)"a*";
	p.rules = &rules[1];
	write_str("baab.txt", "baab");
	a = art_of("baab.txt", "npm:x@1");
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(run_check(&p, mode ? CR_RULES_PCRE2_ONLY : 0, &a, &fs, &out), 0);
		assert_int_equal(fs.n, 4);
		assert_int_equal(fs.v[1].location.offset, 1);
		assert_int_equal(fs.v[3].location.offset, 4);
		findings_free(&fs);
	}
}

/* ---- NO_EXTERNAL_ENDPOINTS ---- */

static void endpoint_hosts(void **state)
{
	cr_rule rules[] = {rule("no-external-endpoint", CR_STAGE_NO_EXTERNAL_ENDPOINTS, CR_MATCH_ENDPOINT,
				"https?://([A-Za-z0-9.-]+)", false)};
	cr_policy p = policy_of(rules, 1);
	const char *text = "http://localhost:8080/x https://EXAMPLE.com/ https://api.acme.internal/v1\n"
			   "https://acme.internal/ https://Deep.Svc.ACME.Internal. https://evil.example/\n"
			   "https://example.com.evil.org/ http://www.w3.org/2000/svg\n";
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	write_str("urls.js", text);
	a = art_of("urls.js", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 3);
	assert_string_equal(fs.v[0].message, "endpoint host acme.internal is not an allowed host");
	assert_int_equal(fs.v[0].location.line, 2);
	assert_int_equal(fs.v[0].location.column, 1);
	assert_string_equal(fs.v[1].message, "endpoint host evil.example is not an allowed host");
	assert_string_equal(fs.v[2].message, "endpoint host example.com.evil.org is not an allowed host");
	assert_int_equal(fs.v[2].stage, CR_STAGE_NO_EXTERNAL_ENDPOINTS);
	/* Hosts are not secret: the excerpt is in clear. */
	assert_string_equal(fs.v[1].excerpt, "https://acme.internal/ https://Deep.Svc.ACME.Internal. https://evil.example/");
	findings_free(&fs);

	/* A secret endpoint rule masks the host like the match. */
	rules[0].secret = true;
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 3);
	assert_string_equal(fs.v[0].message, "endpoint host ************* is not an allowed host");
	for (size_t i = 0; i < fs.n; i++)
		assert_null(strstr(fs.v[i].excerpt, "evil"));
	findings_free(&fs);

	assert_true(cr_engine_host_allowed(&registry, "LocalHost", 9));
	assert_true(cr_engine_host_allowed(&registry, "a.b.acme.internal", 17));
	assert_true(cr_engine_host_allowed(&registry, "example.com.", 12));
	assert_false(cr_engine_host_allowed(&registry, "acme.internal", 13));
	assert_false(cr_engine_host_allowed(&registry, ".acme.internal", 14));
	assert_false(cr_engine_host_allowed(&registry, "xacme.internal", 14));
	assert_false(cr_engine_host_allowed(&registry, "example.co", 10));
	assert_false(cr_engine_host_allowed(&registry, "", 0));
}

/* ---- INTERNAL_SOURCES_ONLY ---- */

static void source_checks(void **state)
{
	cr_policy p = policy_of(NULL, 0);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	char longsrc[3000];
	(void)state;
	write_str("s.txt", "data\n");
	a = art_of("s.txt", NULL);
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 1);
	assert_string_equal(fs.v[0].rule_id, "builtin:source-missing");
	assert_int_equal(fs.v[0].stage, CR_STAGE_INTERNAL_SOURCES_ONLY);
	assert_int_equal(fs.v[0].severity, CR_SEV_BLOCKER);
	assert_string_equal(fs.v[0].message, "artifact has no source");
	findings_free(&fs);

	a.source = (char *)"https://nexus.acme.internal.evil.example/x";
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 1);
	assert_string_equal(fs.v[0].rule_id, "builtin:source-not-allowed");
	assert_string_equal(fs.v[0].message, "source https://nexus.acme.internal.evil.example/x matches no allowed "
					     "source of registry test-registry v3");
	findings_free(&fs);

	/* A long source is cut, on a character boundary. */
	for (size_t i = 0; i + 2 < sizeof(longsrc); i += 2)
		memcpy(longsrc + i, "\xc3\xa9", 2);
	longsrc[sizeof(longsrc) - 2] = '\0';
	a.source = longsrc;
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 1);
	assert_true(strlen(fs.v[0].message) <= 1000);
	assert_true(valid_utf8(fs.v[0].message));
	assert_non_null(strstr(fs.v[0].message, "matches no allowed source of registry test-registry v3"));
	findings_free(&fs);

	a.source = (char *)"https://nexus.acme.internal/repo/x.tgz";
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 0);
	assert_true(cr_engine_source_allowed(&registry, "npm:lodash@4"));
	assert_false(cr_engine_source_allowed(&registry, "NPM:lodash@4"));
}

/* ---- MANIFEST_CONSISTENCY ---- */

static void size_and_sha_mismatch(void **state)
{
	cr_policy p = policy_of(NULL, 0);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	char want[65];
	(void)state;
	write_str("m.txt", "hello\n");
	a = art_of("m.txt", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 0);
	sha_hex("hello\n", 6, want);
	assert_string_equal(out.sha256, want);
	assert_int_equal(out.size, 6);

	write_str("m.txt", "hello!\n");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 2);
	assert_string_equal(fs.v[0].rule_id, "builtin:size-mismatch");
	assert_string_equal(fs.v[0].message, "size is 7 bytes; the manifest records 6");
	assert_string_equal(fs.v[1].rule_id, "builtin:sha256-mismatch");
	sha_hex("hello!\n", 7, want);
	{
		char msg[300];
		snprintf(msg, sizeof(msg), "sha256 is %s; the manifest records %s", want, a.sha256);
		assert_string_equal(fs.v[1].message, msg);
	}
	assert_int_equal(fs.v[1].stage, CR_STAGE_MANIFEST_CONSISTENCY);
	assert_int_equal(fs.v[1].severity, CR_SEV_BLOCKER);
	findings_free(&fs);

	write_str("m.txt", "jello\n"); /* same size, other bytes */
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 1);
	assert_string_equal(fs.v[0].rule_id, "builtin:sha256-mismatch");
	findings_free(&fs);
}

static void missing_file(void **state)
{
	cr_rule rules[] = {rule("any", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "x", true)};
	cr_policy p = policy_of(rules, 1);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a = {0};
	(void)state;
	a.path = (char *)"dist/nothing.js";
	a.source = (char *)"npm:x@1";
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 1);
	assert_string_equal(fs.v[0].rule_id, "builtin:artifact-missing");
	assert_int_equal(fs.v[0].stage, CR_STAGE_MANIFEST_CONSISTENCY);
	assert_string_equal(fs.v[0].message, "dist/nothing.js: no such file");
	assert_false(out.read_ok);
	assert_string_equal(out.sha256, "");
	for (int st = 0; st < CR_STAGE__COUNT; st++)
		assert_false(out.stage_error[st]);
	assert_int_equal(cr_error_last()->code, 0);
	findings_free(&fs);
}

static void symlinks(void **state)
{
	cr_policy p = policy_of(NULL, 0);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	char outside[128], target[160];
	int fd;
	(void)state;
	/* A file outside the root, and links to it. */
	snprintf(outside, sizeof(outside), "%s-outside", root);
	fd = open(outside, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "secret\n", 7), 7);
	close(fd);
	assert_int_equal(symlinkat(outside, root_fd, "abs-link"), 0);
	snprintf(target, sizeof(target), "../%s", strrchr(outside, '/') + 1);
	assert_int_equal(symlinkat(target, root_fd, "rel-link"), 0);
	write_str("inside.txt", "fine\n");
	assert_int_equal(symlinkat("inside.txt", root_fd, "good-link"), 0);
	assert_int_equal(mkdirat(root_fd, "sub", 0755), 0);
	assert_int_equal(symlinkat("../inside.txt", root_fd, "sub/up-link"), 0);

	for (int i = 0; i < 2; i++) {
		const char *bad = i ? "rel-link" : "abs-link";
		a = art_of("inside.txt", "npm:x@1");
		a.path = (char *)bad;
		assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
		assert_int_equal(fs.n, 1);
		assert_string_equal(fs.v[0].rule_id, "builtin:artifact-missing");
		assert_non_null(strstr(fs.v[0].message, ": symlink leaves the artifact root"));
		assert_false(out.read_ok);
		findings_free(&fs);
		assert_int_equal(cr_fs_open_beneath(root_fd, bad), CR_EINVALID_INPUT);
		assert_int_equal(cr_fs_open_beneath_fallback(root_fd, bad), CR_EINVALID_INPUT);
		assert_non_null(strstr(cr_error_last()->message, "symlink leaves the artifact root"));
	}
	for (int i = 0; i < 2; i++) {
		const char *good = i ? "sub/up-link" : "good-link";
		a = art_of("inside.txt", "npm:x@1");
		a.path = (char *)good;
		assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
		assert_int_equal(fs.n, 0);
		assert_true(out.read_ok);
		assert_string_equal(out.sha256, a.sha256);
		fd = cr_fs_open_beneath_fallback(root_fd, good);
		assert_true(fd >= 0);
		close(fd);
	}
	/* Not a regular file; not a valid path. */
	assert_int_equal(cr_fs_open_beneath(root_fd, "sub"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "sub: not a regular file");
	assert_int_equal(cr_fs_open_beneath_fallback(root_fd, "sub"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "sub: not a regular file");
	assert_int_equal(mkfifoat(root_fd, "fifo", 0644), 0);
	assert_int_equal(cr_fs_open_beneath(root_fd, "fifo"), CR_EINVALID_INPUT); /* and does not block */
	assert_string_equal(cr_error_last()->message, "fifo: not a regular file");
	assert_int_equal(cr_fs_open_beneath(root_fd, "sub/../inside.txt"), CR_EINVALID_INPUT);
	assert_int_equal(cr_fs_open_beneath(root_fd, "nope.txt"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "nope.txt: no such file");
	assert_int_equal(cr_fs_open_beneath_fallback(root_fd, "nope.txt"), CR_EINVALID_INPUT);
	assert_string_equal(cr_error_last()->message, "nope.txt: no such file");
	unlink(outside);
}

/* ---- limits ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void catastrophic_regex_limited(void **state)
{
	cr_rule rules[] = {
		rule("evil", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "(a+)+$", true),
		rule("fine", CR_STAGE_NO_EXTERNAL_ENDPOINTS, CR_MATCH_CONTENT, "zzz", false),
	};
	cr_policy p = policy_of(rules, 2);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	double t0;
	(void)state;
	p.limits.match_limit = 10000;
	write_str("evil.txt", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab zzz\n");
	a = art_of("evil.txt", "npm:x@1");
	t0 = now_s();
	assert_int_equal(run_check(&p, CR_RULES_PCRE2_ONLY, &a, &fs, &out), 0);
	assert_true(now_s() - t0 < 1.0);
	assert_true(out.stage_error[CR_STAGE_DATA_PURITY]);
	assert_false(out.stage_error[CR_STAGE_NO_EXTERNAL_ENDPOINTS]);
	assert_string_equal(out.error, "rule evil hit the PCRE2 match limit on evil.txt");
	assert_int_equal(count_rule(&fs, "fine"), 1); /* the other rules go on */
	assert_true(out.read_ok);
	findings_free(&fs);

	/* Through the prefilter: a line it lets through, where PCRE2 blows up.
	 * The secret it would have found there stays unknown, so no excerpt
	 * may show that line. */
	rules[0].pattern = (char *)"(a+)+$|TOKEN[0-9]+";
	write_str("evil.txt", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab TOKEN1234 zzz\n");
	a = art_of("evil.txt", "npm:x@1");
	t0 = now_s();
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_true(now_s() - t0 < 1.0);
	assert_true(out.stage_error[CR_STAGE_DATA_PURITY]);
	assert_string_equal(out.error, "rule evil hit the PCRE2 match limit on evil.txt");
	assert_int_equal(count_rule(&fs, "fine"), 1);
	assert_null(find_rule(&fs, "fine")->excerpt);
	findings_free(&fs);
}

static void max_artifact_bytes(void **state)
{
	cr_rule rules[] = {rule("x", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "x", false)};
	cr_policy p = policy_of(rules, 1);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	p.limits.max_artifact_bytes = 10;
	write_str("big.txt", "xxxxxxxxxxxxxxxxxxxx\n");
	a = art_of("big.txt", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 0);
	assert_true(out.stage_error[CR_STAGE_DATA_PURITY]);
	assert_false(out.stage_error[CR_STAGE_NO_EXTERNAL_ENDPOINTS]); /* it has no content rule */
	assert_string_equal(out.error, "artifact big.txt is 21 bytes, over max_artifact_bytes 10");
	assert_true(out.read_ok);
	assert_string_equal(out.sha256, a.sha256); /* still hashed */
}

static void callback_stops(void **state)
{
	cr_rule rules[] = {rule("x", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "x", false)};
	cr_policy p = policy_of(rules, 1);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	write_str("xs.txt", "x x x x\nx\n");
	a = art_of("xs.txt", NULL);
	fs.stop_at = 3;
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 7);
	assert_int_equal(fs.n, 3);
	findings_free(&fs);
}

/* Rules Vectorscan takes, approximates or refuses, on "fb.txt". */
static void fallback_rules(cr_rule r[6])
{
	r[0] = rule("keep", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "foo\\Kbar", false);
	r[1] = rule("newline", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "x\\Ry", false);
	r[2] = rule("backref", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "(ab)\\1", false);
	r[3] = rule("behind", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "(?<=@)host", false);
	r[4] = rule("start", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "\\Abegin", false);
	r[5] = rule("caret", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "(?-m)^begin", false);
}

static void prefilter_fallback(void **state)
{
	cr_rule rules[6];
	cr_policy p;

	fallback_rules(rules);
	p = policy_of(rules, 6);
	cr_rules *r = NULL;
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	assert_int_equal(cr_rules_compile(&r, &p, &registry), 0);
	assert_false(cr_rules_prefiltered(r, "keep"));    /* \K: Vectorscan refuses it */
	assert_false(cr_rules_prefiltered(r, "newline")); /* \R likewise */
	assert_true(cr_rules_prefiltered(r, "backref"));  /* approximated */
	assert_true(cr_rules_prefiltered(r, "behind"));
	assert_false(cr_rules_prefiltered(r, "start"));   /* \A means line start here */
	assert_false(cr_rules_prefiltered(r, "caret"));   /* so does ^ without (?m) */
	cr_rules_free(r);
	/* One that Vectorscan only refuses when building the database. */
	{
		cr_rule big[] = {
			rule("normal", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "foobar", false),
			rule("huge", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "a{32767}b{32767}c{32767}", false),
		};
		cr_policy bp = policy_of(big, 2);
		bp.limits.depth_limit = 1000;
		assert_int_equal(cr_rules_compile(&r, &bp, &registry), 0);
		assert_true(cr_rules_prefiltered(r, "normal"));
		assert_false(cr_rules_prefiltered(r, "huge"));
		cr_rules_free(r);
	}
	write_str("fb.txt", "begin foobar abab x@host\nbegin again foobar\n");
	a = art_of("fb.txt", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(count_rule(&fs, "keep"), 2);
	assert_int_equal(find_rule(&fs, "keep")->location.column, 10); /* \K moved the start */
	assert_int_equal(count_rule(&fs, "backref"), 1);
	assert_int_equal(count_rule(&fs, "behind"), 1);
	assert_int_equal(find_rule(&fs, "behind")->location.column, 21);
	assert_int_equal(count_rule(&fs, "start"), 2); /* every line is a subject */
	assert_int_equal(count_rule(&fs, "caret"), 2);
	assert_int_equal(count_rule(&fs, "newline"), 0);
	assert_false(out.stage_error[CR_STAGE_DATA_PURITY]);
	findings_free(&fs);
}

/* The prefilter database kept in a cache directory: the same rules in it
 * as compiled afresh, one file per set of patterns, and a damaged file is
 * compiled again and rewritten. */
static size_t cache_files(const char *dir, char *one, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "prefilter-", 10) && strstr(e->d_name, ".hsdb")) {
			n++;
			snprintf(one, len, "%s/%s", dir, e->d_name);
		}
	closedir(d);
	return n;
}

static void check_cached(const char *dir, const cr_policy *p)
{
	static const char *const ids[] = {"keep", "newline", "backref", "behind", "start", "caret"};
	cr_rules *fresh = NULL, *cached = NULL;
	cr_scanner *s = NULL;
	findings fs = {0};
	cr_outcome out;
	cr_artifact a = art_of("fb.txt", "npm:x@1");

	assert_int_equal(cr_rules_compile(&fresh, p, &registry), 0);
	assert_int_equal(cr_rules_compile_cached(&cached, p, &registry, dir), 0);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_int_equal(cr_rules_prefiltered(fresh, ids[i]), cr_rules_prefiltered(cached, ids[i]));
	assert_int_equal(cr_scanner_new(&s, cached), 0);
	assert_int_equal(cr_engine_check(s, root_fd, &a, collect, &fs, &out), 0);
	assert_int_equal(count_rule(&fs, "keep"), 2);
	assert_int_equal(count_rule(&fs, "backref"), 1);
	assert_int_equal(count_rule(&fs, "behind"), 1);
	findings_free(&fs);
	cr_scanner_free(s);
	cr_rules_free(cached);
	cr_rules_free(fresh);
}

static void prefilter_cache(void **state)
{
	cr_rule rules[6];
	cr_policy p;
	char dir[128], file[512], *good = NULL, *again = NULL;
	size_t glen = 0, alen = 0;
	(void)state;

	fallback_rules(rules);
	p = policy_of(rules, 6);
	write_str("fb.txt", "begin foobar abab x@host\nbegin again foobar\n");
	snprintf(dir, sizeof(dir), "%s/cache/of/rules", root);
	check_cached(dir, &p); /* miss: compiled and written */
	assert_int_equal(cache_files(dir, file, sizeof(file)), 1);
	assert_int_equal(cr_fs_read_all(file, 1 << 26, &good, &glen), 0);
	assert_true(glen > 100);
	check_cached(dir, &p); /* hit */
	assert_int_equal(cache_files(dir, file, sizeof(file)), 1);

	/* One flipped byte in the database: ignored, compiled, rewritten. */
	good[glen / 2] ^= 0x55;
	assert_int_equal(cr_fs_write_atomic(file, good, glen), 0);
	good[glen / 2] ^= 0x55;
	check_cached(dir, &p);
	assert_int_equal(cr_fs_read_all(file, 1 << 26, &again, &alen), 0);
	assert_int_equal(alen, glen);
	assert_memory_equal(again, good, glen);
	free(again);
	/* Cut short: the same. */
	assert_int_equal(cr_fs_write_atomic(file, good, 20), 0);
	check_cached(dir, &p);
	assert_int_equal(cr_fs_read_all(file, 1 << 26, &again, &alen), 0);
	assert_int_equal(alen, glen);
	free(again);
	free(good);

	/* Another pattern: another file; the first stays. */
	rules[2] = rule("backref", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "(ab)\\1|zzz", false);
	check_cached(dir, &p);
	assert_int_equal(cache_files(dir, file, sizeof(file)), 2);

	/* A cache that cannot be written costs nothing but time. */
	{
		cr_rules *r = NULL;
		assert_int_equal(cr_rules_compile_cached(&r, &p, &registry, "/proc/no/such/dir"), 0);
		assert_true(cr_rules_prefiltered(r, "behind"));
		cr_rules_free(r);
	}
}

/* More candidate lines than the engine keeps per window: the busiest rule
 * then runs on every line, with the same findings. */
static void many_candidate_lines(void **state)
{
	cr_rule rules[] = {
		rule("num", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "n[0-9]+", false),
		rule("sec", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "s[A-Z]+s", true),
	};
	cr_policy p = policy_of(rules, 2);
	size_t lines = 100000, cap = lines * 24, n = 0;
	char *buf = malloc(cap);
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	for (size_t i = 0; i < lines; i++)
		n += (size_t)snprintf(buf + n, cap - n, i % 1000 ? "n%zu x\n" : "n%zu sABCDEs\n", i);
	write_file("many.txt", buf, n);
	free(buf);
	a = art_of("many.txt", "npm:x@1");
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(run_check(&p, mode ? CR_RULES_PCRE2_ONLY : 0, &a, &fs, &out), 0);
		assert_int_equal(count_rule(&fs, "num"), lines);
		assert_int_equal(count_rule(&fs, "sec"), lines / 1000);
		assert_int_equal(fs.v[fs.n - 1].location.line, lines);
		for (size_t i = 0; i < fs.n; i++)
			assert_null(strstr(fs.v[i].excerpt, "ABCDE"));
		findings_free(&fs);
	}
}

/* ---- large files ---- */

static void make_sparse(const char *rel, uint64_t size)
{
	char path[512];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void pwrite_at(const char *rel, uint64_t off, const char *text)
{
	char path[512];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, text, strlen(text), (off_t)off), (ssize_t)strlen(text));
	close(fd);
}

static void match_across_window_boundary(void **state)
{
	cr_rule rules[] = {rule("marker", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "BOUNDARY-[A-Z]+-MARK", true)};
	cr_policy p = policy_of(rules, 1);
	uint64_t size = 65ull * 1024 * 1024 + 12345;
	char *sparse2_want = NULL;
	findings fs = {0};
	cr_outcome out;
	cr_artifact a;
	(void)state;
	/* 1: no newline at all (windows overlap); the marker straddles the
	 * first window's end, and another one straddles the overlap's start. */
	make_sparse("sparse1.bin", size);
	pwrite_at("sparse1.bin", CR_ENGINE_WINDOW - 10, "BOUNDARY-ACROSS-MARK");
	pwrite_at("sparse1.bin", CR_ENGINE_WINDOW - CR_ENGINE_OVERLAP - 5, "BOUNDARY-OVERLAP-MARK");
	pwrite_at("sparse1.bin", CR_ENGINE_WINDOW - 1000, "BOUNDARY-INOVERLAP-MARK");
	pwrite_at("sparse1.bin", 3ull * CR_ENGINE_WINDOW, "BOUNDARY-LATER-MARK");
	a = art_of("sparse1.bin", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 4);
	assert_int_equal(fs.v[0].location.offset, CR_ENGINE_WINDOW - CR_ENGINE_OVERLAP - 5);
	assert_int_equal(fs.v[1].location.offset, CR_ENGINE_WINDOW - 1000);
	assert_int_equal(fs.v[2].location.offset, CR_ENGINE_WINDOW - 10);
	assert_int_equal(fs.v[2].location.line, 1);
	assert_int_equal(fs.v[2].location.column, CR_ENGINE_WINDOW - 10 + 1);
	assert_int_equal(fs.v[3].location.offset, 3ull * CR_ENGINE_WINDOW);
	assert_string_equal(out.sha256, a.sha256);
	assert_int_equal(out.size, size);
	findings_free(&fs);

	/* 2: newlines, the last one of the first window just before the
	 * marker that straddles its end. */
	make_sparse("sparse2.bin", size);
	pwrite_at("sparse2.bin", 100, "\n");
	{
		char text[200], want[200];
		char caps[61], stars[71];
		memset(caps, 'A', 60);
		caps[60] = '\0';
		memset(stars, '*', 70);
		stars[70] = '\0';
		snprintf(text, sizeof(text), "\nxx BOUNDARY-%s-MARK yy\n", caps);
		pwrite_at("sparse2.bin", CR_ENGINE_WINDOW - 50, text);
		snprintf(want, sizeof(want), "xx BOUN%s yy", stars);
		sparse2_want = strdup(want);
	}
	pwrite_at("sparse2.bin", 2ull * CR_ENGINE_WINDOW + 7, "\nBOUNDARY-LATER-MARK\n");
	a = art_of("sparse2.bin", "npm:x@1");
	assert_int_equal(run_check(&p, 0, &a, &fs, &out), 0);
	assert_int_equal(fs.n, 2);
	assert_int_equal(fs.v[0].location.offset, CR_ENGINE_WINDOW - 46);
	assert_int_equal(fs.v[0].location.line, 3);
	assert_int_equal(fs.v[0].location.column, 4);
	assert_string_equal(fs.v[0].excerpt, sparse2_want);
	free(sparse2_want);
	assert_int_equal(fs.v[1].location.line, 5);
	assert_int_equal(fs.v[1].location.column, 1);
	assert_string_equal(out.sha256, a.sha256);
	findings_free(&fs);
}

/* Peak RSS of this process's memory since exec (VmHWM). ru_maxrss would
 * also count the forked parent's pages from before the exec. */
static long peak_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

/* Run in a fresh process (the test binary re-executed with --scan-huge
 * ROOT), so that its peak RSS is the scan's alone. */
static int scan_huge(const char *dir)
{
	cr_rule rules[] = {rule("marker", CR_STAGE_DATA_PURITY, CR_MATCH_CONTENT, "NEEDLE", true)};
	cr_policy p = policy_of(rules, 1);
	cr_rules *r = NULL;
	cr_scanner *s = NULL;
	findings fs = {0};
	cr_outcome out;
	cr_artifact a = {0};
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	a.path = (char *)"huge.bin";
	a.size = 1ull << 30;
	a.source = (char *)"npm:x@1";
	if (fd < 0 || cr_rules_compile(&r, &p, &registry) != 0 || cr_scanner_new(&s, r) != 0)
		return 3;
	rc = cr_engine_check(s, fd, &a, collect, &fs, &out);
	cr_scanner_free(s);
	cr_rules_free(r);
	close(fd);
	if (rc != 0 || count_rule(&fs, "marker") != 1 || !out.read_ok || out.size != a.size)
		return 2;
	findings_free(&fs);
	fprintf(stderr, "peak RSS scanning a 1 GiB file: %ld KiB\n", peak_rss_kib());
#if !defined(__SANITIZE_ADDRESS__)
	if (peak_rss_kib() < 0 || peak_rss_kib() >= 64 * 1024)
		return 4;
#endif
	return 0;
}

static void large_file_constant_memory(void **state)
{
	uint64_t size = 1ull << 30;
	pid_t pid;
	int status = 0;
	(void)state;
	make_sparse("huge.bin", size);
	pwrite_at("huge.bin", size - 100, "NEEDLE\n");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_engine", "--scan-huge", root, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0); /* 4: peak RSS of 64 MiB or more */
	{
		char path[512];
		snprintf(path, sizeof(path), "%s/huge.bin", root);
		unlink(path);
	}
}

/* ---- text cleaning (internal) ---- */

static void text_clean_cases(void **state)
{
	char out[64];
	(void)state;
	/* C0, DEL and C1 controls, overlong forms, surrogates, > U+10FFFF. */
	cr_text_clean(out, 63, (const unsigned char *)"a\tb\x7f\xc2\x85" "c", 7, false);
	assert_string_equal(out, "a?b??c");
	cr_text_clean(out, 63, (const unsigned char *)"\xc0\xaf\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80", 12, false);
	assert_true(valid_utf8(out));
	assert_null(strstr(out, "\xc0"));
	cr_text_clean(out, 63, (const unsigned char *)"\xf0\x9f\x98\x80 \xe2\x82\xac \xc3\xa9", 11, false);
	assert_string_equal(out, "\xf0\x9f\x98\x80 \xe2\x82\xac \xc3\xa9");
	/* A cut through a character drops it; a truncated one in full text is '?'. */
	cr_text_clean(out, 63, (const unsigned char *)"ab\xe2\x82", 4, true);
	assert_string_equal(out, "ab");
	cr_text_clean(out, 63, (const unsigned char *)"ab\xe2\x82", 4, false);
	assert_string_equal(out, "ab??");
	/* The size limit never splits a character. */
	cr_text_clean(out, 4, (const unsigned char *)"abc\xc3\xa9", 5, false);
	assert_string_equal(out, "abc");
	cr_text_printf(out, 8, "%s", "abcdef\xe2\x82\xac");
	assert_string_equal(out, "abcdef");
}

/* ---- util/fs ---- */

static void fs_paths(void **state)
{
	(void)state;
	assert_null(cr_fs_path_invalid("dist/app.js", 11));
	assert_null(cr_fs_path_invalid("a", 1));
	assert_null(cr_fs_path_invalid(".hidden/..x/x..", 15));
	assert_non_null(cr_fs_path_invalid("", 0));
	assert_non_null(cr_fs_path_invalid("/abs", 4));
	assert_non_null(cr_fs_path_invalid("a//b", 4));
	assert_non_null(cr_fs_path_invalid("a/", 2));
	assert_non_null(cr_fs_path_invalid("./a", 3));
	assert_non_null(cr_fs_path_invalid("a/.", 3));
	assert_non_null(cr_fs_path_invalid("a/../b", 6));
	assert_non_null(cr_fs_path_invalid("..", 2));
	assert_non_null(cr_fs_path_invalid("a\0b", 3));
	{
		char *p = malloc(4097);
		memset(p, 'a', 4097);
		assert_null(cr_fs_path_invalid(p, 4096));
		assert_non_null(cr_fs_path_invalid(p, 4097));
		free(p);
	}
}

static void fs_write_read_mkdirs(void **state)
{
	char dir[256], path[300];
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	(void)state;
	snprintf(dir, sizeof(dir), "%s/w/x/y", root);
	assert_int_equal(cr_fs_mkdirs(dir, 0755), 0);
	assert_int_equal(cr_fs_mkdirs(dir, 0755), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "%s/f.json", dir);
	assert_int_equal(cr_fs_write_atomic(path, "{\"a\":1}", 7), 0);
	assert_int_equal(cr_fs_write_atomic(path, "{\"b\":2}\n", 8), 0);
	assert_int_equal(cr_fs_read_all(path, 100, &data, &len), 0);
	assert_int_equal(len, 8);
	assert_string_equal(data, "{\"b\":2}\n");
	free(data);
	assert_int_equal(cr_fs_read_all(path, 7, &data, &len), CR_EINVALID_INPUT);
	assert_null(data);
	assert_int_equal(cr_fs_read_all(path, 8, &data, &len), 0);
	free(data);
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(cr_fs_read_all(path, 100, &data, &len), CR_ENOT_FOUND);
	snprintf(path, sizeof(path), "%s/w/x/y/f.json/z", root);
	assert_int_equal(cr_fs_mkdirs(path, 0755), CR_ESTORAGE);
	assert_int_equal(cr_fs_write_atomic("/nonexistent-dir/x", "a", 1), CR_ESTORAGE);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy_bad_regex_names_rule),
		cmocka_unit_test(policy_endpoint_needs_group),
		cmocka_unit_test(policy_duplicate_ids_and_stages),
		cmocka_unit_test(policy_byte_mode_only),
		cmocka_unit_test(path_rule_hit_and_miss),
		cmocka_unit_test(content_location_exact),
		cmocka_unit_test(secret_masked_everywhere),
		cmocka_unit_test(long_line_excerpt_utf8),
		cmocka_unit_test(long_line_excerpt_edges),
		cmocka_unit_test(many_secrets_on_one_line),
		cmocka_unit_test(binary_content_matched),
		cmocka_unit_test(many_matches_per_line_and_file),
		cmocka_unit_test(endpoint_hosts),
		cmocka_unit_test(source_checks),
		cmocka_unit_test(size_and_sha_mismatch),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(symlinks),
		cmocka_unit_test(catastrophic_regex_limited),
		cmocka_unit_test(max_artifact_bytes),
		cmocka_unit_test(callback_stops),
		cmocka_unit_test(prefilter_fallback),
		cmocka_unit_test(prefilter_cache),
		cmocka_unit_test(large_file_constant_memory),
		cmocka_unit_test(many_candidate_lines),
		cmocka_unit_test(match_across_window_boundary),
		cmocka_unit_test(text_clean_cases),
		cmocka_unit_test(fs_paths),
		cmocka_unit_test(fs_write_read_mkdirs),
	};
	if (argc == 3 && strcmp(argv[1], "--scan-huge") == 0)
		return scan_huge(argv[2]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
