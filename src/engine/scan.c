/* Reading an artifact once: hash every byte, and run the content and
 * endpoint rules line by line where the Vectorscan prefilter says they can
 * match (every line for the rules it does not carry). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "engine/engine_internal.h"
#include "util/error.h"

#define CAND_MAX 65536   /* candidate lines kept per window before the busiest rule goes dense */
#define LM_MAX 65536     /* secret matches kept per line before excerpts are dropped */
#define JIT_STACK_START (32u * 1024u)
#define JIT_STACK_MAX (8u * 1024u * 1024u) /* ripgrep gives 10 MiB */
#define EXCERPT_BEFORE 20 /* bytes of a long line kept before the match */

/* ---- scanner ---- */

int cr_scanner_new(cr_scanner **out, const cr_rules *r)
{
	cr_scanner *s;
	int ret = 0;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	s->r = r;
	s->buf = malloc(CR_ENGINE_SMALL_FILE);
	s->md = pcre2_match_data_create(r->ovec_pairs, NULL);
	s->mctx = pcre2_match_context_copy(r->mctx);
	s->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
	s->sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->sha_ctx = EVP_MD_CTX_new();
	s->rs = calloc(r->ncontent + 1, sizeof(*s->rs));
	s->line_rules = calloc(r->ncontent + 1, sizeof(*s->line_rules));
	s->capcands = 1024;
	s->cands = malloc(s->capcands * sizeof(*s->cands));
	s->caplm = 64;
	s->lm = malloc(s->caplm * sizeof(*s->lm));
	if (!s->buf || !s->md || !s->mctx || !s->jit_stack || !s->sha || !s->sha_ctx || !s->rs ||
	    !s->line_rules || !s->cands || !s->lm) {
		ret = cr_error_set(CR_EINTERNAL, "cannot create a scanner: out of memory");
		goto cleanup;
	}
	/* JIT stacks are not shareable between concurrent matchers: one per
	 * scanner, in this scanner's own match context. */
	pcre2_jit_stack_assign(s->mctx, NULL, s->jit_stack);
	if (r->db && hs_alloc_scratch(r->db, &s->scratch) != HS_SUCCESS) {
		ret = cr_error_set(CR_EINTERNAL, "cannot create a scanner: no Vectorscan scratch");
		goto cleanup;
	}
	*out = s;
	s = NULL;
cleanup:
	cr_scanner_free(s);
	return ret;
}

void cr_scanner_free(cr_scanner *s)
{
	if (!s)
		return;
	free(s->buf);
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	pcre2_jit_stack_free(s->jit_stack);
	hs_free_scratch(s->scratch);
	EVP_MD_free(s->sha);
	EVP_MD_CTX_free(s->sha_ctx);
	free(s->rs);
	free(s->line_rules);
	free(s->cands);
	free(s->lm);
	free(s);
}

/* ---- findings and errors ---- */

void cr_scan_emit(cr_scanner *s, cr_stage stage, const char *rule_id, cr_severity sev,
		  const char *message, const cr_location *loc, const char *excerpt)
{
	cr_finding f;
	int rc;

	if (s->stop)
		return;
	memset(&f, 0, sizeof(f));
	f.stage = stage;
	f.rule_id = rule_id;
	f.severity = sev;
	f.message = message;
	f.has_location = loc != NULL;
	if (loc)
		f.location = *loc;
	f.excerpt = excerpt;
	rc = s->fn ? s->fn(&f, s->ctx) : 0;
	if (rc)
		s->stop = rc;
}

void cr_scan_stage_error(cr_scanner *s, cr_stage stage, const char *fmt, ...)
{
	va_list ap;

	s->out->stage_error[stage] = true;
	if (s->out->error[0])
		return;
	va_start(ap, fmt);
	cr_text_vprintf(s->out->error, sizeof(s->out->error), fmt, ap);
	va_end(ap);
}

int cr_scan_match(cr_scanner *s, const cr_crule *c, const unsigned char *subject, size_t len,
		  size_t offset)
{
	if (c->jit)
		return pcre2_jit_match(c->code, subject, len, offset, 0, s->md, s->mctx);
	return pcre2_match(c->code, subject, len, offset, 0, s->md, s->mctx);
}

void cr_scan_rule_failed(cr_scanner *s, const cr_crule *c, int rc)
{
	const char *what = NULL;
	PCRE2_UCHAR msg[256];

	switch (rc) {
	case PCRE2_ERROR_MATCHLIMIT: what = "match limit"; break;
	case PCRE2_ERROR_DEPTHLIMIT: what = "depth limit"; break;
	case PCRE2_ERROR_HEAPLIMIT: what = "heap limit"; break;
	case PCRE2_ERROR_JIT_STACKLIMIT: what = "JIT stack limit"; break;
	default: break;
	}
	if (what) {
		cr_scan_stage_error(s, c->rule->stage, "rule %s hit the PCRE2 %s on %s", c->rule->id, what,
				    s->a->path);
		return;
	}
	if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
		memcpy(msg, "unknown error", sizeof("unknown error"));
	cr_scan_stage_error(s, c->rule->stage, "rule %s failed on %s: %s", c->rule->id, s->a->path,
			    (const char *)msg);
}

/* ---- line numbers ---- */

static uint64_t count_nl(const unsigned char *p, size_t n)
{
	uint64_t c = 0;
	size_t i = 0;
#ifdef __SSE2__
	/* Per-byte counters (0 - (-1) per newline), summed every 255 blocks
	 * before a lane can overflow. */
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
	while (i + 16 <= n) {
		__m128i acc = zero, sum;
		size_t end = n - i > 255 * 16 ? i + 255 * 16 : n;
		for (; i + 16 <= end; i += 16)
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), nl));
		sum = _mm_sad_epu8(acc, zero);
		c += (uint64_t)_mm_cvtsi128_si64(sum) + (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
	}
#endif
	for (; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* Move the line cursor to the absolute offset TARGET of the current window. */
static void cursor_move(cr_scanner *s, uint64_t target)
{
	const unsigned char *p, *last;
	size_t n;

	if (target < s->cur_pos) {
		/* Back: restart from the window's first byte (rare). */
		s->cur_pos = s->wbase;
		s->cur_line = s->wcur_line;
		s->cur_ls = s->wcur_ls;
	}
	if (target == s->cur_pos)
		return;
	p = s->w + (s->cur_pos - s->wbase);
	n = (size_t)(target - s->cur_pos);
	last = memrchr(p, '\n', n);
	if (last) {
		s->cur_line += count_nl(p, (size_t)(last - p) + 1);
		s->cur_ls = s->cur_pos + (uint64_t)(last - p) + 1;
	}
	s->cur_pos = target;
}

/* ---- findings of content and endpoint rules ---- */

static size_t line_end(const cr_scanner *s, size_t p)
{
	const unsigned char *nl = memchr(s->w + p, '\n', s->wlen - p);
	return nl ? (size_t)(nl - s->w) : s->wlen;
}

/* ---- no secret in any string that reaches evidence ---- */

/* The end of the authority of a URL whose "//" ends at P (exclusive) in
 * [P, END): where the path, query, fragment or the text around it starts. */
static const unsigned char *authority_end(const unsigned char *p, const unsigned char *end)
{
	while (p < end && !strchr("/?#\\ \t\r\n\"'<>`()[]{},;", *p) && *p >= 0x20)
		p++;
	return p;
}

void cr_scan_mask_userinfo(char *text, size_t n)
{
	/* user:password@ of every URL: all but its first 4 bytes. */
	unsigned char *t = (unsigned char *)text, *end = t + n;
	for (unsigned char *p = t; (p = memmem(p, (size_t)(end - p), "://", 3)); ) {
		unsigned char *a = p + 3, *ae = (unsigned char *)authority_end(a, end), *at = NULL;
		for (unsigned char *q = a; q < ae; q++)
			if (*q == '@')
				at = q;
		/* user:password@host: the credentials, all but 4 bytes. */
		for (unsigned char *q = a + 4; at && q < at; q++)
			*q = '*';
		p = ae > a ? ae : a;
	}
}

void cr_scan_mask_secrets(cr_scanner *s, char *text, size_t from, size_t to)
{
	const unsigned char *subject = (const unsigned char *)text + from;
	size_t len = to - from;

	for (uint32_t i = 0; i < s->r->ncontent; i++) {
		const cr_crule *c = &s->r->content[i];
		size_t off = 0;
		if (!c->rule->secret)
			continue;
		while (off <= len) {
			int rc = cr_scan_match(s, c, subject, len, off);
			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
			size_t ms = rc < 0 ? 0 : ov[0], me = rc < 0 ? len : (ov[1] < ov[0] ? ov[0] : ov[1]);
			for (size_t j = ms + 4; j < me; j++)
				text[from + j] = '*';
			if (rc < 0)
				break;
			off = me > off ? me : off + 1;
		}
	}
}

/* The excerpt of a match at [MS, ME) on line [LS, LE): at most 120 bytes of
 * the line around the match start, every secret match on the line masked
 * after its first 4 bytes. NULL when the line's secrets are not all known. */
static const char *build_excerpt(cr_scanner *s, size_t ls, size_t le, size_t ms, bool secret_on_line)
{
	size_t xs = ls, xe = le, n;

	if ((secret_on_line && s->lm_overflow) || s->secret_off)
		return NULL; /* a secret might show in clear */
	if (le - ls > CR_ENGINE_EXCERPT_MAX) {
		xs = ms > ls + EXCERPT_BEFORE ? ms - EXCERPT_BEFORE : ls;
		xe = xs + CR_ENGINE_EXCERPT_MAX;
		if (xe > le) {
			xe = le;
			xs = le - CR_ENGINE_EXCERPT_MAX;
		}
		/* Do not start inside a character the cut went through. */
		for (int k = 0; k < 3 && xs > ls && xs < xe && (s->w[xs] & 0xC0) == 0x80; k++)
			xs++;
	}
	n = xe - xs;
	memcpy(s->xbuf, s->w + xs, n);
	for (size_t i = 0; i < s->nlm; i++) {
		size_t a = s->lm[i].s + 4, b = s->lm[i].e;
		if (a < xs)
			a = xs;
		if (b > xe)
			b = xe;
		for (size_t j = a; j < b; j++)
			s->xbuf[j - xs] = '*';
	}
	cr_text_clean(s->excerpt, CR_ENGINE_EXCERPT_MAX, s->xbuf, n, xe < le);
	cr_scan_mask_userinfo(s->excerpt, strlen(s->excerpt));
	return s->excerpt;
}

static void emit_match(cr_scanner *s, const line_match *m, size_t ls, size_t le, bool secret_on_line)
{
	const cr_crule *c = &s->r->content[m->rule];
	const cr_rule *rule = c->rule;
	cr_location loc;
	const char *excerpt;

	if (rule->matcher == CR_MATCH_ENDPOINT) {
		const char *host = "";
		size_t hl = 0;
		char clean[CR_ENGINE_MESSAGE_MAX];
		unsigned char raw[CR_ENGINE_MESSAGE_MAX];
		if (m->hs != SIZE_MAX) {
			host = (const char *)s->w + m->hs;
			hl = m->he - m->hs;
		}
		/* user:password@host names the host after the '@': the
		 * credentials are neither the host nor said anywhere. */
		const unsigned char *sl = memmem(s->w + m->s, le - m->s, "//", 2);
		if (sl && m->hs != SIZE_MAX) {
			const unsigned char *a = sl + 2, *ae = authority_end(a, s->w + le), *at = NULL;
			for (const unsigned char *q = a; q < ae; q++)
				if (*q == '@')
					at = q;
			if (at && (const unsigned char *)host <= at) {
				const unsigned char *h = at + 1, *he = h;
				while (he < ae && (isalnum(*he) || *he == '.' || *he == '-'))
					he++;
				host = (const char *)h;
				hl = (size_t)(he - h);
			}
		}
		if (cr_engine_host_allowed(s->r->registry, host, hl))
			return;
		/* Hosts are not secret, unless the rule says so. */
		bool cut = hl > 900;
		if (cut)
			hl = 900;
		memcpy(raw, host, hl);
		size_t hoff = (size_t)((const unsigned char *)host - s->w);
		if (rule->secret) {
			/* The host is part of the match: mask it like the match. */
			size_t keep = hoff - m->s < 4 ? 4 - (hoff - m->s) : 0;
			for (size_t j = keep; j < hl; j++)
				raw[j] = '*';
		}
		/* A secret of the line inside the host is masked as in the excerpt. */
		for (size_t i = 0; i < s->nlm; i++)
			for (size_t j = s->lm[i].s + 4; j < s->lm[i].e; j++)
				if (j >= hoff && j < hoff + hl)
					raw[j - hoff] = '*';
		cr_text_clean(clean, 900, raw, hl, cut);
		size_t pre = strlen("endpoint host ");
		cr_text_printf(s->msg, sizeof(s->msg), "endpoint host %s is not an allowed host", clean);
		cr_scan_mask_secrets(s, s->msg, pre, pre + strlen(clean));
	} else {
		cr_text_printf(s->msg, sizeof(s->msg), "content matches %srule %s: %s",
			       rule->secret ? "secret " : "", rule->id, rule->description ? rule->description : "");
	}
	cursor_move(s, s->wbase + ls);
	loc.line = s->cur_line;
	loc.offset = s->wbase + m->s;
	loc.column = loc.offset - s->cur_ls + 1;
	excerpt = build_excerpt(s, ls, le, m->s, secret_on_line);
	cr_scan_emit(s, rule->stage, rule->id, rule->severity, s->msg, &loc, excerpt);
}

/* Run content rule RI over line [LS, LE). COLLECT: keep the matches in
 * S->lm (a secret rule, whose matches every excerpt of the line masks);
 * otherwise report each at once. */
static void run_rule(cr_scanner *s, uint32_t ri, size_t ls, size_t le, bool collect, bool secret_on_line)
{
	const cr_crule *c = &s->r->content[ri];
	rule_state *rs = &s->rs[ri];
	const unsigned char *subject = s->w + ls;
	size_t len = le - ls, off = 0;

	if (rs->off)
		return;
	/* Matches are not overlapping: in a window that overlaps the previous
	 * one, start after the rule's last match there. */
	if (rs->last_end > s->wbase + ls) {
		uint64_t skip = rs->last_end - (s->wbase + ls);
		if (skip > len)
			return;
		off = (size_t)skip;
	}
	while (off <= len && !s->stop) {
		PCRE2_SIZE *ov;
		line_match m;
		size_t ms, me, next;
		int rc = cr_scan_match(s, c, subject, len, off);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			cr_scan_rule_failed(s, c, rc);
			rs->off = true; /* stop this rule on this file; the others go on */
			if (c->rule->secret)
				s->secret_off = true;
			return;
		}
		ov = pcre2_get_ovector_pointer(s->md);
		ms = ov[0];
		me = ov[1] < ms ? ms : ov[1];
		if (s->wbase + ls + ms >= s->own_to)
			break; /* the next window has it, with its whole context */
		m.rule = ri;
		m.s = ls + ms;
		m.e = ls + me;
		m.hs = m.he = SIZE_MAX;
		if (rc >= 2 && ov[2] != PCRE2_UNSET && ov[3] >= ov[2]) {
			m.hs = ls + ov[2];
			m.he = ls + ov[3];
		}
		if (!collect) {
			emit_match(s, &m, ls, le, secret_on_line);
		} else if (s->nlm < s->caplm || s->caplm < LM_MAX) {
			if (s->nlm == s->caplm) {
				line_match *n = realloc(s->lm, s->caplm * 2 * sizeof(*s->lm));
				if (!n) {
					s->stop = cr_error_set(CR_EINTERNAL, "out of memory");
					return;
				}
				s->lm = n;
				s->caplm *= 2;
			}
			s->lm[s->nlm++] = m;
		} else {
			/* Too many secrets on one line to mask them all: report
			 * them without excerpts. */
			s->lm_overflow = true;
			emit_match(s, &m, ls, le, secret_on_line);
		}
		rs->last_end = s->wbase + ls + me;
		next = me == ms ? me + 1 : me; /* step over an empty match */
		off = next > off ? next : off + 1;
	}
}

/* Run RULES[0..N) (content rule indices) over the window line starting at LS. */
static void process_line(cr_scanner *s, size_t ls, const uint32_t *rules, size_t n)
{
	size_t le = line_end(s, ls);
	bool secret = false;

	if (s->wbase + ls >= s->own_to)
		return;
	s->nlm = 0;
	s->lm_overflow = false;
	for (size_t i = 0; i < n; i++)
		if (s->r->content[rules[i]].rule->secret)
			secret = true;
	/* Secrets first: every excerpt of the line masks all of them. */
	if (secret) {
		for (size_t i = 0; i < n && !s->stop; i++)
			if (s->r->content[rules[i]].rule->secret)
				run_rule(s, rules[i], ls, le, true, true);
		for (size_t i = 0; i < s->nlm && !s->stop; i++)
			emit_match(s, &s->lm[i], ls, le, true);
	}
	for (size_t i = 0; i < n && !s->stop; i++)
		if (!s->r->content[rules[i]].rule->secret)
			run_rule(s, rules[i], ls, le, false, secret);
}

/* ---- the prefilter ---- */

/* The busiest rule of the window stops collecting candidates: it runs on
 * every line instead, which keeps the candidate list bounded. */
static void make_busiest_dense(cr_scanner *s)
{
	uint32_t best = 0;
	size_t j = 0;

	for (uint32_t i = 1; i < s->r->ncontent; i++)
		if (s->rs[i].ncand > s->rs[best].ncand)
			best = i;
	s->rs[best].dense = true;
	for (size_t i = 0; i < s->ncands; i++)
		if (!s->rs[s->cands[i].rule].dense)
			s->cands[j++] = s->cands[i];
	s->ncands = j;
}

static int add_cand(cr_scanner *s, size_t ls, uint32_t rule)
{
	if (s->ncands == s->capcands) {
		if (s->capcands < CAND_MAX) {
			cand *n = realloc(s->cands, s->capcands * 2 * sizeof(*s->cands));
			if (!n) {
				s->stop = cr_error_set(CR_EINTERNAL, "out of memory");
				return 1;
			}
			s->cands = n;
			s->capcands *= 2;
		} else {
			make_busiest_dense(s);
			if (s->rs[rule].dense)
				return 0;
		}
	}
	s->cands[s->ncands].ls = (uint32_t)ls;
	s->cands[s->ncands].rule = rule;
	s->ncands++;
	s->rs[rule].ncand++;
	return 0;
}

/* Vectorscan reports the end TO of a possible match of rule ID: the line it
 * ends on becomes a candidate line of that rule. */
static int on_prefilter(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
			void *ctx)
{
	cr_scanner *s = ctx;
	rule_state *rs = &s->rs[id];
	size_t p = (size_t)to, ls, le;
	const unsigned char *nl;

	(void)from;
	(void)flags;
	if (rs->dense || rs->off)
		return 0;
	/* The last byte of the match is at TO-1. A match ending just after a
	 * newline can only be, on a line, an empty match at TO. */
	if (p > 0 && s->w[p - 1] != '\n')
		p--;
	if (p >= s->wlen)
		return 0; /* empty, after the window's last newline: no line there */
	if (rs->cached && p >= rs->cache_ls && p <= rs->cache_le)
		return 0;
	nl = p ? memrchr(s->w, '\n', p) : NULL;
	ls = nl ? (size_t)(nl - s->w) + 1 : 0;
	le = line_end(s, p);
	rs->cached = true;
	rs->cache_ls = ls;
	rs->cache_le = le;
	return add_cand(s, ls, id);
}

static int cand_cmp(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	if (x->ls != y->ls)
		return x->ls < y->ls ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Scan W[0..WLEN), the file at offset WBASE; matches starting at or after
 * OWN_TO are left to the next window. The line cursor is at WBASE. */
static void scan_window(cr_scanner *s, const unsigned char *w, size_t wlen, uint64_t wbase, uint64_t own_to)
{
	const cr_rules *r = s->r;
	bool dense = false;
	size_t ci = 0;

	s->w = w;
	s->wlen = wlen;
	s->wbase = wbase;
	s->own_to = own_to;
	s->wcur_line = s->cur_line;
	s->wcur_ls = s->cur_ls;
	s->ncands = 0;
	for (size_t i = 0; i < r->ncontent; i++) {
		rule_state *rs = &s->rs[i];
		rs->dense = !r->content[i].prefilter;
		rs->cached = false;
		rs->ncand = 0;
	}
	if (wlen == 0)
		return;
	if (r->db) {
		hs_error_t e = r->hs_scan(r->db, (const char *)w, (unsigned int)wlen, 0, s->scratch, on_prefilter, s);
		if (s->stop)
			return;
		if (e != HS_SUCCESS) {
			s->stop = cr_error_set(CR_EINTERNAL, "Vectorscan failed (%d) on %s", (int)e, s->a->path);
			return;
		}
	}
	for (size_t i = 0; i < r->ncontent; i++)
		if (s->rs[i].dense && !s->rs[i].off)
			dense = true;
	if (s->ncands > 1)
		qsort(s->cands, s->ncands, sizeof(*s->cands), cand_cmp);
	if (!dense) {
		while (ci < s->ncands && !s->stop) {
			size_t ls = s->cands[ci].ls, n = 0;
			for (; ci < s->ncands && s->cands[ci].ls == ls; ci++)
				if (n == 0 || s->line_rules[n - 1] != s->cands[ci].rule)
					s->line_rules[n++] = s->cands[ci].rule;
			process_line(s, ls, s->line_rules, n);
		}
		return;
	}
	/* Some rule runs on every line: walk them all. */
	for (size_t ls = 0; ls < wlen && !s->stop;) {
		size_t le = line_end(s, ls), n = 0;
		for (uint32_t i = 0; i < r->ncontent; i++)
			if (s->rs[i].dense && !s->rs[i].off)
				s->line_rules[n++] = i;
		for (; ci < s->ncands && s->cands[ci].ls == ls; ci++)
			if (n == 0 || s->line_rules[n - 1] != s->cands[ci].rule)
				s->line_rules[n++] = s->cands[ci].rule;
		if (n)
			process_line(s, ls, s->line_rules, n);
		ls = le + 1;
	}
}

/* ---- reading ---- */

static int read_error(cr_scanner *s, int err)
{
	return cr_error_set(CR_EINVALID_INPUT, "%s: cannot read: %s", s->a->path, strerror(err));
}

static int finish_hash(cr_scanner *s, uint64_t total)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (EVP_DigestFinal_ex(s->sha_ctx, md, &mdlen) != 1 || mdlen != 32)
		return cr_error_set(CR_EINTERNAL, "SHA-256 failed");
	for (unsigned i = 0; i < mdlen; i++) {
		s->out->sha256[2 * i] = hex[md[i] >> 4];
		s->out->sha256[2 * i + 1] = hex[md[i] & 15];
	}
	s->out->sha256[64] = '\0';
	s->out->size = total;
	return 0;
}

static int read_small(cr_scanner *s, int fd, uint64_t size, bool scan)
{
	size_t n = 0;

	while (n < size) {
		ssize_t got = read(fd, s->buf + n, (size_t)size - n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return read_error(s, errno);
		}
		if (got == 0)
			break; /* shrank since fstat: the bytes read are what counts */
		n += (size_t)got;
	}
	if (EVP_DigestUpdate(s->sha_ctx, s->buf, n) != 1)
		return cr_error_set(CR_EINTERNAL, "SHA-256 failed");
	if (scan)
		scan_window(s, s->buf, n, 0, UINT64_MAX);
	if (s->stop)
		return 0;
	return finish_hash(s, n);
}

static int read_windows(cr_scanner *s, int fd, uint64_t size, bool scan)
{
	uint64_t off = 0, page = (uint64_t)sysconf(_SC_PAGESIZE);

	while (off < size && !s->stop) {
		uint64_t moff = off & ~(page - 1), next;
		size_t delta = (size_t)(off - moff), maplen, wlen, use;
		const unsigned char *w;
		void *map;

		maplen = delta + CR_ENGINE_WINDOW;
		if (moff + maplen > size)
			maplen = (size_t)(size - moff);
		/* MAP_POPULATE: one fault-in for the whole window. */
		map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, (off_t)moff);
		if (map == MAP_FAILED) {
			if (errno == ENOMEM)
				return cr_error_set(CR_EINTERNAL, "%s: cannot map: out of memory", s->a->path);
			return read_error(s, errno);
		}
		w = (const unsigned char *)map + delta;
		wlen = maplen - delta;
		use = wlen;
		next = off + wlen;
		if (next < size) {
			const unsigned char *nl = memrchr(w, '\n', wlen);
			if (nl) {
				use = (size_t)(nl - w) + 1; /* end after the last newline */
				next = off + use;
			} else {
				next = off + wlen - CR_ENGINE_OVERLAP; /* a line longer than a window */
			}
		}
		/* Hash each byte once: the overlap was hashed with the window before. */
		if (EVP_DigestUpdate(s->sha_ctx, w, (size_t)(next - off)) != 1) {
			munmap(map, maplen);
			return cr_error_set(CR_EINTERNAL, "SHA-256 failed");
		}
		if (scan) {
			/* The last window owns everything to the end, including an
			 * empty match at the very end. */
			scan_window(s, w, use, off, next < size ? next : UINT64_MAX);
			if (next < size && !s->stop)
				cursor_move(s, next); /* the next window starts there */
		}
		munmap(map, maplen);
		off = next;
	}
	if (s->stop)
		return 0;
	return finish_hash(s, off);
}

int cr_scan_file(cr_scanner *s, int fd, uint64_t size, bool scan)
{
	if (EVP_DigestInit_ex(s->sha_ctx, s->sha, NULL) != 1)
		return cr_error_set(CR_EINTERNAL, "SHA-256 failed");
	for (size_t i = 0; i < s->r->ncontent; i++) {
		s->rs[i].last_end = 0;
		s->rs[i].off = false;
	}
	s->secret_off = false;
	s->cur_pos = 0;
	s->cur_line = 1;
	s->cur_ls = 0;
	if (s->r->ncontent == 0)
		scan = false;
	if (size < CR_ENGINE_SMALL_FILE)
		return read_small(s, fd, size, scan);
	return read_windows(s, fd, size, scan);
}
