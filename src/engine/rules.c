/* Policy rules: validation, compilation (PCRE2 JIT + one Vectorscan
 * prefilter database), and the registry's host and source checks. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine/engine_internal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

/* Byte mode (data-model.md §5): no UTF, no UCP, and a pattern may not turn
 * them on with (*UTF) or (*UCP) either. */
#define PCRE2_OPTIONS (PCRE2_NEVER_UTF | PCRE2_NEVER_UCP)
/* Vectorscan prefilter: a superset of the matches, every end reported (the
 * lines they end on are the candidates PCRE2 confirms); ^ and $ at line
 * boundaries, as PCRE2 sees them on a line. */
#define HS_FLAGS (HS_FLAG_PREFILTER | HS_FLAG_MULTILINE | HS_FLAG_ALLOWEMPTY)

static int compile_pattern(pcre2_code **out, const char *pat, const char *who)
{
	int err = 0;
	PCRE2_SIZE eoff = 0;
	pcre2_code *code;

	*out = NULL;
	if (!pat || !pat[0])
		return cr_error_set(CR_EINVALID_INPUT, "%s: pattern is empty", who);
	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_OPTIONS, &err, &eoff, NULL);
	if (!code) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
			memcpy(msg, "unknown error", sizeof("unknown error"));
		return cr_error_set(CR_EINVALID_INPUT, "%s: pattern does not compile at offset %zu: %s", who,
				    (size_t)eoff, (const char *)msg);
	}
	*out = code;
	return 0;
}

/* Check rule I of P (its pattern compiles, it fits its stage, its id is new)
 * and hand its compiled pattern to *OUT when OUT is not NULL. */
static int check_rule(const cr_policy *p, size_t i, pcre2_code **out)
{
	const cr_rule *rule = &p->rules[i];
	char who[128];
	pcre2_code *code = NULL;
	int ret;

	snprintf(who, sizeof(who), "policy rule %s", rule->id);
	for (size_t j = 0; j < i; j++)
		if (strcmp(p->rules[j].id, rule->id) == 0)
			return cr_error_set(CR_EINVALID_INPUT, "%s: duplicate rule id", who);
	if (rule->matcher == CR_MATCH_ENDPOINT) {
		if (rule->stage != CR_STAGE_NO_EXTERNAL_ENDPOINTS)
			return cr_error_set(CR_EINVALID_INPUT,
					    "%s: an endpoint_pattern rule must have stage NO_EXTERNAL_ENDPOINTS", who);
	} else if (rule->matcher == CR_MATCH_PATH || rule->matcher == CR_MATCH_CONTENT) {
		if (rule->stage != CR_STAGE_DATA_PURITY && rule->stage != CR_STAGE_NO_EXTERNAL_ENDPOINTS)
			return cr_error_set(CR_EINVALID_INPUT, "%s: stage %s takes no policy rules", who,
					    cr_stage_name(rule->stage));
	} else {
		return cr_error_set(CR_EINVALID_INPUT, "%s: unknown matcher", who);
	}
	ret = compile_pattern(&code, rule->pattern, who);
	if (ret < 0)
		return ret;
	if (rule->matcher == CR_MATCH_ENDPOINT) {
		uint32_t groups = 0;
		pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
		if (groups < 1) {
			pcre2_code_free(code);
			return cr_error_set(CR_EINVALID_INPUT, "%s: endpoint_pattern needs a capture group for the host",
					    who);
		}
	}
	if (out)
		*out = code;
	else
		pcre2_code_free(code);
	return 0;
}

int cr_rules_check_policy(const cr_policy *p)
{
	pcre2_code *code = NULL;
	int ret;

	if (!p)
		return cr_error_set(CR_EINVALID_ARGUMENT, "no policy");
	for (size_t i = 0; i < p->rule_count; i++) {
		ret = check_rule(p, i, NULL);
		if (ret < 0)
			return ret;
	}
	if (!p->release_tag_pattern)
		return cr_error_set(CR_EINVALID_INPUT, "policy release_tag_pattern: missing");
	ret = compile_pattern(&code, p->release_tag_pattern, "policy release_tag_pattern");
	pcre2_code_free(code);
	return ret;
}

int cr_rules_tag_matches(const cr_policy *p, const char *ref)
{
	pcre2_code *code = NULL;
	pcre2_match_data *md = NULL;
	int rc = compile_pattern(&code, p->release_tag_pattern, "policy release_tag_pattern");

	if (rc < 0)
		return rc;
	if (!(md = pcre2_match_data_create_from_pattern(code, NULL))) {
		pcre2_code_free(code);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	rc = pcre2_match(code, (PCRE2_SPTR)ref, strlen(ref), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return cr_error_set(CR_EINVALID_INPUT, "policy release_tag_pattern cannot be matched against %.140s", ref);
	return 1;
}

/* Constructs whose meaning on a whole buffer differs from PCRE2's on one
 * line (\A \Z \z \G, "(?-m)"), or whose byte-mode classes Vectorscan may read
 * differently (\p \P \X \h \H \v \V): such a rule is not prefiltered, so
 * that the prefilter stays a superset of PCRE2's matches. Conservative: a
 * quoted "\Q\A\E" is left to PCRE2 too, which only costs speed. */
static bool needs_pcre2_only(const char *pat)
{
	for (const char *c = pat; *c; c++) {
		if (*c == '(' && c[1] == '?') {
			/* An option setting that touches m, like "(?-m)": Vectorscan
			 * would then read ^ and $ as buffer anchors. */
			for (const char *o = c + 2; *o && *o != ')' && *o != ':'; o++) {
				if (*o == 'm')
					return true;
				if (!((*o >= 'a' && *o <= 'z') || (*o >= 'A' && *o <= 'Z') || *o == '-' || *o == '^'))
					break;
			}
			continue;
		}
		if (*c != '\\')
			continue;
		c++;
		if (!*c)
			break;
		if (strchr("AZzGpPXhHvV", *c))
			return true;
	}
	return false;
}

/* The Vectorscan runtime to scan with. Debian 12's libhs 5.4.9 (a "fat"
 * library: one runtime per instruction set, picked at run time) misses
 * literal matches in its AVX-512 runtime: "MARK" after 301 bytes of '1' in
 * a database that also holds "tok_[a-z]{150}", and 113 of 40,000 random
 * cases where its AVX2 and SSE4.2 runtimes miss none. So on an AVX-512 CPU
 * use the AVX2 runtime it exports, with a database built for AVX2. */
static cr_hs_scan_fn pick_runtime(hs_platform_info_t *plat)
{
	const unsigned long long avx512 = HS_CPU_FEATURES_AVX512 | HS_CPU_FEATURES_AVX512VBMI;
	cr_hs_scan_fn fn = hs_scan;
	void *sym;

	if (!(plat->cpu_features & avx512))
		return fn;
	sym = dlsym(RTLD_DEFAULT, "avx2_hs_scan");
	if (!sym || !__builtin_cpu_supports("avx2"))
		return fn;
	memcpy(&fn, &sym, sizeof(fn));
	plat->cpu_features &= ~avx512;
	return fn;
}

static int canary_hit(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
		      void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	if (id == 0)
		*(bool *)ctx = true;
	return 0;
}

/* A known-answer test of the runtime: the case that the 5.4.9 AVX-512
 * runtime misses. A prefilter that can miss is worse than none. */
static bool runtime_finds_canary(cr_hs_scan_fn scan, const hs_platform_info_t *plat)
{
	static const char *const exprs[] = {"MARK", "tok_[a-z]{150}"};
	const unsigned flags[] = {HS_FLAGS, HS_FLAGS};
	const unsigned ids[] = {0, 1};
	static const unsigned offsets[] = {63, 301};
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;
	hs_scratch_t *scratch = NULL;
	char text[320];
	bool ok = true;

	if (hs_compile_multi(exprs, flags, ids, 2, HS_MODE_BLOCK, plat, &db, &ce) != HS_SUCCESS) {
		hs_free_compile_error(ce);
		return false;
	}
	if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
		hs_free_database(db);
		return false;
	}
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]) && ok; i++) {
		bool seen = false;
		size_t n = offsets[i];
		memset(text, '1', n);
		memcpy(text + n, "MARK tail\n", 10);
		ok = scan(db, text, (unsigned int)(n + 10), 0, scratch, canary_hit, &seen) == HS_SUCCESS && seen;
	}
	hs_free_scratch(scratch);
	hs_free_database(db);
	return ok;
}

/* A database-wide error ("Resource limit exceeded") names no pattern: find
 * the patterns that fail on their own and leave them to PCRE2. False if
 * none does (then it is the set that is too large). */
static bool drop_uncompilable(const char *const *exprs, const unsigned *ids, unsigned m,
			      const hs_platform_info_t *plat, bool *in)
{
	bool dropped = false;

	for (unsigned k = 0; k < m; k++) {
		hs_database_t *db = NULL;
		hs_compile_error_t *ce = NULL;
		if (hs_compile(exprs[k], HS_FLAGS, HS_MODE_BLOCK, plat, &db, &ce) == HS_SUCCESS) {
			hs_free_database(db);
			continue;
		}
		hs_free_compile_error(ce);
		in[ids[k]] = false;
		dropped = true;
	}
	return dropped;
}

/*
 * The prefilter cache. Compiling the database is most of a run's set-up
 * (tens of ms for ten rules), and a policy is used far more often than it
 * changes, so the serialized database is kept in a file named by the
 * SHA-256 of everything the compilation depends on: the format, the
 * Vectorscan version, the platform it was built for (after pick_runtime)
 * and every content rule's pattern, in order. Which rules made it into the
 * database follows from those, and the file records it. A file that does
 * not check out (magic, rule count, trailing SHA-256 of its bytes,
 * hs_deserialize_database's own CRC) is ignored and written again. A hit
 * skips the canary too: it passed for that version on that platform when
 * the file was written.
 *
 * File: "CRHSDB1\n", u32 rule count, one byte per rule (1: in the
 * database), u64 length, the serialized database, 64 hex of SHA-256 of
 * all that.
 */
#define CACHE_MAGIC "CRHSDB1\n"
#define CACHE_MAGIC_LEN 8
#define CACHE_MAX (256u << 20)

static void cache_key(const cr_rules *r, const hs_platform_info_t *plat, char key[65])
{
	cr_sha256 *h = cr_sha256_new();
	uint64_t fields[3] = {plat->tune, plat->cpu_features, HS_FLAGS};

	if (!h) {
		key[0] = '\0';
		return;
	}
	cr_sha256_update(h, CACHE_MAGIC, CACHE_MAGIC_LEN);
	cr_sha256_update(h, hs_version(), strlen(hs_version()) + 1);
	cr_sha256_update(h, fields, sizeof(fields));
	for (size_t i = 0; i < r->ncontent; i++) {
		const char *pat = r->content[i].rule->pattern;
		uint64_t len = strlen(pat);

		cr_sha256_update(h, &len, sizeof(len));
		cr_sha256_update(h, pat, len);
	}
	cr_sha256_final_hex(h, key);
	cr_sha256_free(h);
}

static void cache_path(char *buf, size_t len, const char *dir, const char *key)
{
	snprintf(buf, len, "%s/prefilter-%s.hsdb", dir, key);
}

/* Load the database for KEY into R->db and IN; false on any mismatch. */
static bool cache_load(cr_rules *r, const char *dir, const char *key, bool *in)
{
	char path[4096], sum[65];
	char *buf = NULL;
	size_t len = 0, at = CACHE_MAGIC_LEN;
	uint32_t n;
	uint64_t dblen;
	bool ok = false;

	cache_path(path, sizeof(path), dir, key);
	if (cr_fs_read_all(path, CACHE_MAX, &buf, &len) < 0) {
		cr_error_clear();
		return false;
	}
	if (len < CACHE_MAGIC_LEN + 4 + 8 + 64 || memcmp(buf, CACHE_MAGIC, CACHE_MAGIC_LEN))
		goto done;
	cr_sha256_hex(buf, len - 64, sum);
	if (memcmp(sum, buf + len - 64, 64))
		goto done;
	memcpy(&n, buf + at, 4);
	at += 4;
	if (n != r->ncontent || len - 64 - at < (size_t)n + 8)
		goto done;
	for (uint32_t i = 0; i < n; i++)
		in[i] = buf[at + i] == 1;
	at += n;
	memcpy(&dblen, buf + at, 8);
	at += 8;
	if (dblen != len - 64 - at || dblen == 0)
		goto done;
	ok = hs_deserialize_database(buf + at, (size_t)dblen, &r->db) == HS_SUCCESS;
	if (!ok)
		r->db = NULL;
done:
	free(buf);
	return ok;
}

/* Best effort: a cache that cannot be written costs the next run a compile. */
static void cache_store(const cr_rules *r, const char *dir, const char *key, const bool *in)
{
	char path[4096], *db = NULL, *buf;
	size_t dblen = 0, len, at = 0;
	uint32_t n = (uint32_t)r->ncontent;
	uint64_t l64;

	if (hs_serialize_database(r->db, &db, &dblen) != HS_SUCCESS)
		return;
	len = CACHE_MAGIC_LEN + 4 + n + 8 + dblen + 64;
	if ((buf = malloc(len + 1))) {
		memcpy(buf, CACHE_MAGIC, CACHE_MAGIC_LEN);
		at = CACHE_MAGIC_LEN;
		memcpy(buf + at, &n, 4);
		at += 4;
		for (uint32_t i = 0; i < n; i++)
			buf[at + i] = in[i] ? 1 : 0;
		at += n;
		l64 = dblen;
		memcpy(buf + at, &l64, 8);
		at += 8;
		memcpy(buf + at, db, dblen);
		at += dblen;
		cr_sha256_hex(buf, at, buf + at); /* writes 64 hex and a NUL */
		cache_path(path, sizeof(path), dir, key);
		if (cr_fs_mkdirs(dir, 0777) < 0 || cr_fs_write_replace(path, buf, len) < 0)
			cr_error_clear();
		free(buf);
	}
	free(db);
}

static void build_prefilter(cr_rules *r, const char *cache_dir)
{
	hs_platform_info_t plat;
	const char **exprs = calloc(r->ncontent, sizeof(*exprs));
	unsigned *flags = calloc(r->ncontent, sizeof(*flags));
	unsigned *ids = calloc(r->ncontent, sizeof(*ids));
	bool *in = calloc(r->ncontent, sizeof(*in));
	char key[65] = "";

	if (!exprs || !flags || !ids || !in)
		goto cleanup; /* no prefilter: every rule runs PCRE2 on every line */
	if (hs_populate_platform(&plat) != HS_SUCCESS)
		goto cleanup;
	r->hs_scan = pick_runtime(&plat);
	if (cache_dir)
		cache_key(r, &plat, key);
	if (key[0] && cache_load(r, cache_dir, key, in))
		goto loaded;
	memset(in, 0, r->ncontent * sizeof(*in));
	if (!runtime_finds_canary(r->hs_scan, &plat))
		goto cleanup;
	for (size_t i = 0; i < r->ncontent; i++) {
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *ce = NULL;
		const char *pat = r->content[i].rule->pattern;
		if (needs_pcre2_only(pat))
			continue;
		if (hs_expression_info(pat, HS_FLAGS, &info, &ce) != HS_SUCCESS) {
			hs_free_compile_error(ce);
			continue; /* not even approximable: PCRE2 alone */
		}
		free(info);
		in[i] = true;
	}
	for (;;) {
		hs_compile_error_t *ce = NULL;
		unsigned m = 0;
		for (size_t i = 0; i < r->ncontent; i++) {
			if (!in[i])
				continue;
			exprs[m] = r->content[i].rule->pattern;
			flags[m] = HS_FLAGS;
			ids[m] = (unsigned)i;
			m++;
		}
		if (m == 0)
			break;
		if (hs_compile_multi(exprs, flags, ids, m, HS_MODE_BLOCK, &plat, &r->db, &ce) == HS_SUCCESS)
			break;
		r->db = NULL;
		if (ce && ce->expression >= 0 && (unsigned)ce->expression < m) {
			in[ids[ce->expression]] = false; /* that one runs on PCRE2 alone; retry */
		} else if (!drop_uncompilable(exprs, ids, m, &plat, in)) {
			memset(in, 0, r->ncontent * sizeof(*in)); /* the set as a whole failed */
		}
		hs_free_compile_error(ce);
	}
	if (key[0] && r->db)
		cache_store(r, cache_dir, key, in);
loaded:
	for (size_t i = 0; i < r->ncontent; i++)
		r->content[i].prefilter = r->db && in[i];
cleanup:
	free(exprs);
	free(flags);
	free(ids);
	free(in);
}

static int compile(cr_rules **out, const cr_policy *p, const cr_registry *reg, unsigned flags, const char *cache_dir)
{
	cr_rules *r = NULL;
	int ret = 0;

	*out = NULL;
	if (!p || !reg)
		return cr_error_set(CR_EINVALID_ARGUMENT, "no policy or registry");
	r = calloc(1, sizeof(*r));
	if (!r)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	r->policy = p;
	r->registry = reg;
	r->ovec_pairs = 2;
	if (p->rule_count) {
		r->path = calloc(p->rule_count, sizeof(*r->path));
		r->content = calloc(p->rule_count, sizeof(*r->content));
		if (!r->path || !r->content) {
			ret = cr_error_set(CR_EINTERNAL, "out of memory");
			goto cleanup;
		}
	}
	for (size_t i = 0; i < p->rule_count; i++) {
		const cr_rule *rule = &p->rules[i];
		cr_crule *c = rule->matcher == CR_MATCH_PATH ? &r->path[r->npath++] : &r->content[r->ncontent++];
		uint32_t groups = 0;
		c->rule = rule;
		ret = check_rule(p, i, &c->code);
		if (ret < 0)
			goto cleanup;
		c->jit = pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE) == 0;
		pcre2_pattern_info(c->code, PCRE2_INFO_CAPTURECOUNT, &groups);
		if (groups + 1 > r->ovec_pairs)
			r->ovec_pairs = groups + 1;
		if (rule->matcher != CR_MATCH_PATH)
			r->has_content_stage[rule->stage] = true;
	}
	r->mctx = pcre2_match_context_create(NULL);
	if (!r->mctx) {
		ret = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	if (p->limits.match_limit)
		pcre2_set_match_limit(r->mctx, p->limits.match_limit);
	if (p->limits.depth_limit)
		pcre2_set_depth_limit(r->mctx, p->limits.depth_limit);
	if (r->ncontent && !(flags & CR_RULES_PCRE2_ONLY) && hs_valid_platform() == HS_SUCCESS)
		build_prefilter(r, cache_dir);
	*out = r;
	r = NULL;
cleanup:
	cr_rules_free(r);
	return ret;
}

int cr_rules_compile_ex(cr_rules **out, const cr_policy *p, const cr_registry *r, unsigned flags)
{
	return compile(out, p, r, flags, NULL);
}

int cr_rules_compile(cr_rules **out, const cr_policy *p, const cr_registry *r)
{
	return compile(out, p, r, 0, NULL);
}

int cr_rules_compile_cached(cr_rules **out, const cr_policy *p, const cr_registry *r, const char *cache_dir)
{
	return compile(out, p, r, 0, cache_dir);
}

void cr_rules_free(cr_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->npath; i++)
		pcre2_code_free(r->path[i].code);
	for (size_t i = 0; i < r->ncontent; i++)
		pcre2_code_free(r->content[i].code);
	free(r->path);
	free(r->content);
	hs_free_database(r->db);
	pcre2_match_context_free(r->mctx);
	free(r);
}

bool cr_rules_prefiltered(const cr_rules *r, const char *rule_id)
{
	for (size_t i = 0; r && i < r->ncontent; i++)
		if (strcmp(r->content[i].rule->id, rule_id) == 0)
			return r->content[i].prefilter;
	return false;
}

static bool ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

bool cr_engine_host_allowed(const cr_registry *r, const char *host, size_t len)
{
	if (!r || !host)
		return false;
	if (len > 0 && host[len - 1] == '.')
		len--; /* "example.com." is the fully qualified "example.com" */
	if (len == 0)
		return false;
	for (size_t i = 0; i < r->host_count; i++) {
		const char *h = r->hosts[i];
		size_t hl = strlen(h);
		if (hl >= 2 && h[0] == '*' && h[1] == '.') {
			/* "*.acme.internal": hosts ending in ".acme.internal", not the suffix itself */
			const char *suffix = h + 1;
			size_t sl = hl - 1;
			if (len > sl && ascii_caseeq(host + len - sl, suffix, sl))
				return true;
		} else if (hl == len && ascii_caseeq(host, h, len)) {
			return true;
		}
	}
	return false;
}

bool cr_engine_source_allowed(const cr_registry *r, const char *source)
{
	if (!r || !source)
		return false;
	for (size_t i = 0; i < r->source_count; i++) {
		const char *prefix = r->sources[i].prefix;
		if (prefix && strncmp(source, prefix, strlen(prefix)) == 0)
			return true;
	}
	return false;
}
