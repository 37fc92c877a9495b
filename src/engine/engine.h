#ifndef CR_ENGINE_ENGINE_H
#define CR_ENGINE_ENGINE_H
/*
 * The compliance engine: per-artifact stage checks. It runs inside worker
 * processes and knows nothing of git or the ledger: it gets (artifact,
 * compiled rules) and reports findings through a callback.
 *
 * Patterns are PCRE2 in byte mode (no PCRE2_UTF/UCP), compiled once per run
 * with JIT and with the policy's match and depth limits; a Vectorscan
 * multi-pattern database (HS_FLAG_PREFILTER) says which content/endpoint
 * rules can match a file, and PCRE2 confirms — PCRE2 is the engine of record.
 *
 * Content and endpoint rules match line by line, as `rg -a -P --no-unicode`
 * does: each line (its bytes up to, not including, '\n') is one PCRE2
 * subject, so ^ $ \A \z and lookbehinds see the line, and a match never
 * spans lines. Vectorscan, over the whole buffer, names the lines where a
 * rule can match; PCRE2 then finds every non-overlapping match on them.
 */
#include <stdbool.h>
#include <stdint.h>
#include "domain/entities.h"
#include "domain/finding.h"

typedef struct cr_rules cr_rules;     /* compiled policy + registry, read-only, shared across fork (ports/rules.h) */
typedef struct cr_scanner cr_scanner; /* per-process scratch (buffers, match data, hs scratch) */

/* How artifacts are read: files below CR_ENGINE_SMALL_FILE bytes with read()
 * into the scanner's buffer, larger ones mmap'ed CR_ENGINE_WINDOW bytes at a
 * time (the peak RSS of a scan stays near one window). A window ends after
 * its last newline and the next starts there; a window with no newline
 * overlaps the next by CR_ENGINE_OVERLAP bytes. */
#define CR_ENGINE_SMALL_FILE (256u * 1024u)
#define CR_ENGINE_WINDOW (16u * 1024u * 1024u)
#define CR_ENGINE_OVERLAP (64u * 1024u)
#define CR_ENGINE_EXCERPT_MAX 120
#define CR_ENGINE_MESSAGE_MAX 1000

/* cr_rules_compile_ex flags. PCRE2_ONLY: no Vectorscan prefilter, every
 * content rule runs PCRE2 on every line (the fallback of a CPU without
 * SSE4.2; for tests and benchmarks). */
#define CR_RULES_PCRE2_ONLY 0x1u

/* 1 if REF (a full ref name, "refs/tags/v1.2.0") matches P's
 * release_tag_pattern, 0 if not; CR_EINVALID_INPUT if the pattern does not
 * compile or cannot be run on it. */
int cr_rules_tag_matches(const cr_policy *p, const char *ref);
/* Check a policy without compiling for a run (policy publish): every rule's
 * pattern and release_tag_pattern compile in byte mode, every
 * endpoint_pattern has a capture group, rule ids are unique, stage fits the
 * matcher. CR_EINVALID_INPUT naming the rule otherwise. */
int cr_rules_check_policy(const cr_policy *p);

/* Compile P's rules and keep R's allowed sources and hosts. P and R must
 * outlive the result. */
int cr_rules_compile(cr_rules **out, const cr_policy *p, const cr_registry *r);
int cr_rules_compile_ex(cr_rules **out, const cr_policy *p, const cr_registry *r, unsigned flags);
/* cr_rules_compile with the Vectorscan prefilter database kept in
 * CACHE_DIR (created when needed), under a name derived from everything
 * that went into it: a run with a policy seen before deserializes it
 * instead of compiling it (most of a run's set-up). A cache file that does
 * not check out is ignored and written again; one that cannot be written
 * costs only time. */
int cr_rules_compile_cached(cr_rules **out, const cr_policy *p, const cr_registry *r, const char *cache_dir);
void cr_rules_free(cr_rules *r);
/* true if the content/endpoint rule RULE_ID is in the Vectorscan prefilter
 * (false: PCRE2 runs it on every line, or no such rule). */
bool cr_rules_prefiltered(const cr_rules *r, const char *rule_id);

int cr_scanner_new(cr_scanner **out, const cr_rules *r);
void cr_scanner_free(cr_scanner *s);


/* Check artifact A (path relative to the directory ROOT_FD) against every
 * stage: DATA_PURITY (path and content rules), INTERNAL_SOURCES_ONLY (source
 * against allowed_sources: builtin:source-missing / source-not-allowed),
 * NO_EXTERNAL_ENDPOINTS (endpoint rules, host against allowed_hosts),
 * MANIFEST_CONSISTENCY per artifact (builtin:artifact-missing,
 * size-mismatch, sha256-mismatch against A's recorded size/sha256).
 * Reads the file once, in constant memory. Returns 0 (findings and
 * per-stage errors are in the callback and *OUT), or a negative code on
 * a failure of the scanner itself. */
int cr_engine_check(cr_scanner *s, int root_fd, const cr_artifact *a,
		    cr_finding_fn fn, void *ctx, cr_outcome *out);

/* true if HOST is allowed by R's allowed_hosts (exact, or "*.suffix" for
 * hosts ending in ".suffix"; case-insensitive). */
bool cr_engine_host_allowed(const cr_registry *r, const char *host, size_t len);
/* true if SOURCE starts (bytewise) with an allowed source prefix. */
bool cr_engine_source_allowed(const cr_registry *r, const char *source);

#endif
