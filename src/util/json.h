#ifndef CR_UTIL_JSON_H
#define CR_UTIL_JSON_H
/*
 * JSON at the edges: strict parsing (the whole input, valid UTF-8, no
 * duplicate keys, bounded depth) and canonical output (keys sorted bytewise,
 * no insignificant whitespace, UTF-8 kept as is). cJSON does the work.
 */
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define CR_JSON_MAX_DEPTH 64

/* Parse BUF[0..LEN) strictly into *OUT (caller frees with cJSON_Delete).
 * On failure sets CR_EINVALID_INPUT with a one-line message that starts with
 * WHAT (e.g. "artifacts.json") and names the problem. */
int cr_json_parse(cJSON **out, const char *buf, size_t len, const char *what);

/* Read PATH (at most MAX_BYTES, else CR_EINVALID_INPUT "too large") and
 * parse it strictly as above. A missing or unreadable file is CR_EINVALID_INPUT. */
int cr_json_read_file(cJSON **out, const char *path, size_t max_bytes, const char *what);

/* Canonical JSON of V as a malloc'd NUL-terminated string; *LEN (may be NULL)
 * gets its length. Numbers that are integers print without a fraction.
 * Returns NULL on allocation failure. */
char *cr_json_canonical(const cJSON *v, size_t *len);

/* A growable output buffer for writing canonical JSON directly, where a
 * cJSON tree would cost too much (violation chunks, the manifest digest):
 * the writer puts keys in bytewise order itself and gets the very bytes
 * cr_json_canonical would give. Allocation failure is sticky in OOM and
 * checked once at the end; P is NUL-terminated once anything was put. */
typedef struct cr_sbuf {
	char *p;
	size_t len, cap;
	int oom;
} cr_sbuf;
void cr_sb_put(cr_sbuf *b, const char *s, size_t n);
void cr_sb_puts(cr_sbuf *b, const char *s);
/* Make room for N more bytes at once (a writer that knows about how much). */
void cr_sb_reserve(cr_sbuf *b, size_t n);
/* S as a JSON string, quoted and escaped as in canonical JSON (NULL: ""). */
void cr_sb_json_str(cr_sbuf *b, const char *s);
/* D as canonical JSON prints a number (integers without a fraction). */
void cr_sb_json_num(cr_sbuf *b, double d);
void cr_sb_free(cr_sbuf *b);

/* SHA-256 (lowercase hex) of the canonical JSON of V. */
int cr_json_digest(const cJSON *v, char out[65]);

/* 1 if BUF[0..LEN) is valid UTF-8 (no overlongs, no surrogates), else 0. */
int cr_utf8_valid(const char *buf, size_t len);

/* Small typed getters; NULL / fallback when absent or of another type. */
const char *cr_json_str(const cJSON *obj, const char *key);
int64_t cr_json_int(const cJSON *obj, const char *key, int64_t fallback);
/* Add a string, or null when S is NULL. */
cJSON *cr_json_add_str(cJSON *obj, const char *key, const char *s);
cJSON *cr_json_add_int(cJSON *obj, const char *key, int64_t v);

#endif
