#ifndef CR_ENGINE_INTERNAL_H
#define CR_ENGINE_INTERNAL_H
/* Private to src/engine/: the compiled rules, the scanner and the text
 * helpers shared by rules.c, scan.c and check.c. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs.h>
#include <openssl/evp.h>
#include <pcre2.h>
#include <stdarg.h>
#include "engine/engine.h"

/* hs_scan, or the variant of it that the engine trusts on this CPU. */
typedef hs_error_t (*cr_hs_scan_fn)(const hs_database_t *db, const char *data, unsigned int length,
				    unsigned int flags, hs_scratch_t *scratch, match_event_handler on_event,
				    void *ctx);

/* One compiled rule. */
typedef struct cr_crule {
	const cr_rule *rule;
	pcre2_code *code;
	bool jit;       /* JIT-compiled: use pcre2_jit_match */
	bool prefilter; /* in the Vectorscan database (content/endpoint rules) */
} cr_crule;

struct cr_rules {
	const cr_policy *policy;
	const cr_registry *registry;
	cr_crule *path;     /* path rules, policy order */
	size_t npath;
	cr_crule *content;  /* content and endpoint rules; Vectorscan ids index this */
	size_t ncontent;
	bool has_content_stage[CR_STAGE__COUNT]; /* stages with a content/endpoint rule */
	hs_database_t *db;  /* NULL: no rule is prefiltered */
	cr_hs_scan_fn hs_scan;
	pcre2_match_context *mctx; /* limits; each scanner copies it and adds its JIT stack */
	uint32_t ovec_pairs;       /* largest capture count + 1 */
};

/* Per content rule, per file / per window. */
typedef struct rule_state {
	uint64_t last_end; /* absolute end of the rule's last accepted match */
	size_t cache_ls, cache_le; /* window line [ls, le] last added as a candidate */
	uint32_t ncand;    /* candidates added in this window */
	bool cached;
	bool off;          /* hit a limit on this file: not run again on it */
	bool dense;        /* run on every line of this window */
} rule_state;

typedef struct cand {
	uint32_t ls;   /* line start in the window */
	uint32_t rule; /* content rule index */
} cand;

/* A match of a secret rule on the current line (window offsets). */
typedef struct line_match {
	uint32_t rule;
	size_t s, e;   /* the match */
	size_t hs, he; /* group 1 (endpoint rules), hs == he == SIZE_MAX when unset */
} line_match;

struct cr_scanner {
	const cr_rules *r;
	unsigned char *buf; /* CR_ENGINE_SMALL_FILE bytes, for read() */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
	hs_scratch_t *scratch;
	EVP_MD *sha;
	EVP_MD_CTX *sha_ctx;

	rule_state *rs;   /* ncontent */
	cand *cands;
	size_t ncands, capcands;
	uint32_t *line_rules; /* ncontent: the rules to run on the current line */
	line_match *lm;   /* secret matches of the current line */
	size_t nlm, caplm;
	bool lm_overflow;
	bool secret_off;  /* a secret rule stopped on this file: its matches are unknown */

	/* The artifact being checked. */
	const cr_artifact *a;
	cr_finding_fn fn;
	void *ctx;
	cr_outcome *out;
	int stop;   /* non-zero: the callback's stop code, or a scanner failure */

	/* The window being scanned: W[0..WLEN) is the file at offset WBASE.
	 * Matches starting before OWN_FROM belong to the previous window,
	 * those starting at or after OWN_TO to the next. */
	const unsigned char *w;
	size_t wlen;
	uint64_t wbase, own_from, own_to;

	/* Line cursor: POS is on line LINE, which starts at LS (absolute). The
	 * snapshot W* is the cursor at the window's first byte. */
	uint64_t cur_pos, cur_line, cur_ls;
	uint64_t wcur_line, wcur_ls;

	char msg[CR_ENGINE_MESSAGE_MAX + 1];
	char excerpt[CR_ENGINE_EXCERPT_MAX + 1];
	unsigned char xbuf[CR_ENGINE_EXCERPT_MAX + 8];
};

/* text.c */
/* Copy SRC[0..N) into OUT (at most MAX bytes + NUL) as valid UTF-8 with no
 * control characters: invalid bytes, C0/C1 controls and DEL become '?'.
 * CUT_END: SRC is a cut of a longer text, so a multi-byte sequence that
 * SRC truncates (or that does not fit) is dropped rather than replaced.
 * Returns the bytes written. */
size_t cr_text_clean(char *out, size_t max, const unsigned char *src, size_t n, bool cut_end);
/* printf into OUT (CAP bytes) through cr_text_clean: one line, valid UTF-8,
 * never a cut multi-byte sequence. */
void cr_text_printf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cr_text_vprintf(char *out, size_t cap, const char *fmt, va_list ap);

/* scan.c */
/* Read the open regular file FD (SIZE bytes by its fstat) once: hash it
 * into S->out and, if SCAN, run the content and endpoint rules over it. */
int cr_scan_file(cr_scanner *s, int fd, uint64_t size, bool scan);
/* Report a finding through the callback; sets S->stop when it says stop. */
/* No secret in a string that reaches evidence: mask the user:password of
 * every URL in TEXT[0..N) (all but its first 4 bytes), in place. */
void cr_scan_mask_userinfo(char *text, size_t n);
/* Mask what the policy's secret rules match in TEXT[FROM..TO), as in an
 * excerpt (all but the first 4 bytes of each match), in place; all of it
 * when a rule cannot say (a match limit). */
void cr_scan_mask_secrets(cr_scanner *s, char *text, size_t from, size_t to);
void cr_scan_emit(cr_scanner *s, cr_stage stage, const char *rule_id, cr_severity sev,
		  const char *message, const cr_location *loc, const char *excerpt);
/* Mark STAGE as not evaluated for this artifact; the first reason is kept. */
void cr_scan_stage_error(cr_scanner *s, cr_stage stage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Run compiled rule C on SUBJECT[0..LEN) from OFFSET; the PCRE2 return code. */
int cr_scan_match(cr_scanner *s, const cr_crule *c, const unsigned char *subject, size_t len,
		  size_t offset);
/* The reason a PCRE2 error code stopped a rule ("match limit", …). */
void cr_scan_rule_failed(cr_scanner *s, const cr_crule *c, int rc);

#endif
