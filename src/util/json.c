#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/sha256.h"

/* 2^53: the largest magnitude below which every integer is a double. */
#define JSON_EXACT_INT_MAX 9007199254740992.0
/* Objects with more members than this are checked for duplicates by sorting. */
#define DUP_LINEAR_MAX 16
/* Longest key quoted in an error message. */
#define KEY_QUOTE_MAX 64

/* Offset of the first byte that is not part of a valid UTF-8 sequence
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), or LEN. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			/* ASCII, most of any JSON: eight bytes at a time. */
			uint64_t w;
			i++;
			while (len - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0))
				i += 8;
			continue;
		}
		size_t n;
		unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
		if (c >= 0xC2 && c <= 0xDF) {
			n = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 3;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 4;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return i; /* continuation byte, C0/C1 overlong lead, F5..FF */
		}
		if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k < n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		i += n;
	}
	return len;
}

int cr_utf8_valid(const char *buf, size_t len)
{
	return utf8_invalid_at((const unsigned char *)buf, len) == len;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_number_char(unsigned char c)
{
	return is_digit(c) || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

/* 1 if S[0..N) is exactly an RFC 8259 number. */
static int number_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else if (i < n && s[i] >= '1' && s[i] <= '9') {
		while (i < n && is_digit(s[i]))
			i++;
	} else {
		return 0;
	}
	if (i < n && s[i] == '.') {
		size_t start = ++i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == start)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t start = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == start)
			return 0;
	}
	return i == n;
}

/* Bytes that a JSON string must escape: '"', '\\' and C0 controls. */
static const unsigned char needs_escape[256] = {
	[0 ... 0x1F] = 1, ['"'] = 1, ['\\'] = 1,
};

/*
 * What cJSON accepts but strict JSON does not: leading zeros, "1.", "+1",
 * raw control characters in strings, and \u0000 (which would silently cut a
 * C string short). Also bounds the nesting before cJSON recurses. Structure
 * errors are left to cJSON.
 */
static int lex_check(const unsigned char *s, size_t len, const char *what)
{
	size_t depth = 0;
	int in_string = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (in_string) {
			/* Plain string bytes, most of the input: skip them in one go. */
			while (!needs_escape[c] && ++i < len)
				c = s[i];
			if (i == len)
				break;
			if (c == '"') {
				in_string = 0;
			} else if (c == '\\') {
				if (i + 5 < len && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4))
					return cr_error_set(CR_EINVALID_INPUT,
							    "%s: \\u0000 in a string at byte %zu", what, i);
				i++; /* the escaped character; cJSON checks the rest */
			} else if (c < 0x20) {
				return cr_error_set(CR_EINVALID_INPUT,
						    "%s: control character in a string at byte %zu",
						    what, i);
			}
			continue;
		}
		if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > CR_JSON_MAX_DEPTH)
				return cr_error_set(CR_EINVALID_INPUT,
						    "%s: nesting deeper than %d levels at byte %zu",
						    what, CR_JSON_MAX_DEPTH, i);
		} else if (c == ']' || c == '}') {
			if (depth > 0)
				depth--;
		} else if (c == '-' || is_digit(c)) {
			size_t start = i;
			while (i < len && is_number_char(s[i]))
				i++;
			if (!number_valid(s + start, i - start))
				return cr_error_set(CR_EINVALID_INPUT,
						    "%s: malformed number at byte %zu", what, start);
			i--; /* the loop's i++ */
		}
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

static int dup_error(const char *what, const char *key)
{
	return cr_error_set(CR_EINVALID_INPUT, "%s: duplicate key \"%.*s%s\"", what,
			    KEY_QUOTE_MAX, key, strlen(key) > KEY_QUOTE_MAX ? "..." : "");
}

static int check_duplicates(const cJSON *obj, const char *what)
{
	size_t n = 0;
	for (const cJSON *c = obj->child; c; c = c->next)
		n++;
	if (n <= DUP_LINEAR_MAX) {
		for (const cJSON *a = obj->child; a; a = a->next)
			for (const cJSON *b = a->next; b; b = b->next)
				if (!strcmp(a->string, b->string))
					return dup_error(what, a->string);
		return 0;
	}
	const cJSON **v = malloc(n * sizeof(*v));
	if (!v)
		return cr_error_set(CR_EINTERNAL, "%s: out of memory", what);
	size_t i = 0;
	for (const cJSON *c = obj->child; c; c = c->next)
		v[i++] = c;
	qsort(v, n, sizeof(*v), key_cmp);
	int rc = 0;
	for (i = 1; i < n; i++)
		if (!strcmp(v[i - 1]->string, v[i]->string)) {
			rc = dup_error(what, v[i]->string);
			break;
		}
	free(v);
	return rc;
}

/* Duplicate keys and non-finite numbers, anywhere in the tree. */
static int tree_check(const cJSON *v, const char *what, int depth)
{
	if (depth > CR_JSON_MAX_DEPTH)
		return cr_error_set(CR_EINVALID_INPUT, "%s: nesting deeper than %d levels", what,
				    CR_JSON_MAX_DEPTH);
	if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
		return cr_error_set(CR_EINVALID_INPUT, "%s: number out of range", what);
	if (cJSON_IsObject(v)) {
		int rc = check_duplicates(v, what);
		if (rc)
			return rc;
	}
	for (const cJSON *c = v->child; c; c = c->next) {
		int rc = tree_check(c, what, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

int cr_json_parse(cJSON **out, const char *buf, size_t len, const char *what)
{
	const unsigned char *s = (const unsigned char *)buf;
	cJSON *doc = NULL;
	int rc;

	*out = NULL;
	if (!what)
		what = "JSON";
	if (!buf)
		return cr_error_set(CR_EINVALID_ARGUMENT, "%s: no input", what);
	const unsigned char *nul = memchr(s, '\0', len);
	if (nul)
		return cr_error_set(CR_EINVALID_INPUT, "%s: NUL byte at byte %zu", what,
				    (size_t)(nul - s));
	size_t bad = utf8_invalid_at(s, len);
	if (bad != len)
		return cr_error_set(CR_EINVALID_INPUT, "%s: invalid UTF-8 at byte %zu", what, bad);
	if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
		return cr_error_set(CR_EINVALID_INPUT, "%s: byte order mark at byte 0", what);
	rc = lex_check(s, len, what);
	if (rc)
		return rc;

	/* cJSON's require_null_terminated wants the terminator inside LEN, which
	 * BUF need not have: parse without it and require that only whitespace
	 * follows the value. */
	const char *end = NULL;
	doc = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!doc) {
		size_t at = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
		return cr_error_set(CR_EINVALID_INPUT, "%s: malformed JSON near byte %zu", what, at);
	}
	size_t at = (size_t)(end - buf);
	while (at < len && (s[at] == ' ' || s[at] == '\t' || s[at] == '\n' || s[at] == '\r'))
		at++;
	if (at != len) {
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: malformed JSON near byte %zu", what, at);
		goto cleanup;
	}
	rc = tree_check(doc, what, 0);
	if (rc)
		goto cleanup;
	*out = doc;
	doc = NULL;
cleanup:
	cJSON_Delete(doc);
	return rc;
}

int cr_json_read_file(cJSON **out, const char *path, size_t max_bytes, const char *what)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = cr_fs_read_input(path, what, max_bytes, &buf, &len)) < 0)
		return rc;
	rc = cr_json_parse(out, buf, len, what ? what : path);
	free(buf);
	return rc;
}

void cr_sb_put(cr_sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len < n + 1) {
		size_t ncap = b->cap ? b->cap : 256;
		while (ncap - b->len < n + 1) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = 1;
				return;
			}
			ncap *= 2;
		}
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void cr_sb_reserve(cr_sbuf *b, size_t n)
{
	if (!b->oom && b->cap - b->len < n + 1) {
		size_t len = b->len;
		cr_sb_put(b, "", 0); /* allocates when empty */
		if (!b->oom && b->cap - len < n + 1) {
			char *np = realloc(b->p, len + n + 1);
			if (!np) {
				b->oom = 1;
				return;
			}
			b->p = np;
			b->cap = len + n + 1;
		}
	}
}

void cr_sb_puts(cr_sbuf *b, const char *s)
{
	cr_sb_put(b, s, strlen(s));
}

void cr_sb_free(cr_sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Whether none of the eight bytes of W is a control byte, '"' or '\\'
 * (false positives only: then the bytes are looked at one by one). */
static int word_plain(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
	uint64_t hit = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs);

	return (hit & high) == 0;
}

void cr_sb_json_str(cr_sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	const unsigned char *run = p;
	size_t n = strlen((const char *)p), i = 0;
	uint64_t w;

	cr_sb_reserve(b, n + 2);
	cr_sb_put(b, "\"", 1);
	/* Most strings need no escape: skip them eight bytes at a time. */
	while (n - i >= 8 && (memcpy(&w, p + i, 8), word_plain(w)))
		i += 8;
	for (p += i;; p++) {
		unsigned char c = *p;
		if (!needs_escape[c])
			continue;
		cr_sb_put(b, (const char *)run, (size_t)(p - run));
		if (!c)
			break;
		run = p + 1;
		char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
		size_t elen = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			elen = 6;
		}
		cr_sb_put(b, esc, elen);
	}
	cr_sb_put(b, "\"", 1);
}

void cr_sb_json_num(cr_sbuf *b, double d)
{
	char num[64];
	if (!isfinite(d)) {
		cr_sb_puts(b, "null"); /* not representable in JSON; what cJSON prints too */
		return;
	}
	if (floor(d) == d && fabs(d) <= JSON_EXACT_INT_MAX) {
		/* Integers, most numbers here: digits by hand, as %lld prints them. */
		long long v = (long long)d;
		unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
		char *e = num + sizeof(num), *q = e;
		do
			*--q = (char)('0' + u % 10);
		while (u /= 10);
		if (v < 0)
			*--q = '-';
		cr_sb_put(b, q, (size_t)(e - q));
		return;
	} else {
		snprintf(num, sizeof(num), "%.17g", d);
		for (char *q = num; *q; q++)
			if (*q == ',') /* a locale's decimal comma */
				*q = '.';
	}
	cr_sb_puts(b, num);
}

static void put_value(cr_sbuf *b, const cJSON *v)
{
	if (cJSON_IsObject(v)) {
		size_t n = 0;
		for (const cJSON *c = v->child; c; c = c->next)
			n++;
		const cJSON *small[16];
		const cJSON **keys = n <= 16 ? small : malloc(n * sizeof(*keys));
		if (!keys) {
			b->oom = 1;
			return;
		}
		size_t i = 0;
		for (const cJSON *c = v->child; c; c = c->next)
			keys[i++] = c;
		qsort(keys, n, sizeof(*keys), key_cmp);
		cr_sb_put(b, "{", 1);
		for (i = 0; i < n; i++) {
			if (i)
				cr_sb_put(b, ",", 1);
			cr_sb_json_str(b, keys[i]->string);
			cr_sb_put(b, ":", 1);
			put_value(b, keys[i]);
		}
		cr_sb_put(b, "}", 1);
		if (keys != small)
			free(keys);
	} else if (cJSON_IsArray(v)) {
		cr_sb_put(b, "[", 1);
		for (const cJSON *c = v->child; c; c = c->next) {
			if (c != v->child)
				cr_sb_put(b, ",", 1);
			put_value(b, c);
		}
		cr_sb_put(b, "]", 1);
	} else if (cJSON_IsString(v)) {
		cr_sb_json_str(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		cr_sb_json_num(b, v->valuedouble);
	} else if (cJSON_IsTrue(v)) {
		cr_sb_puts(b, "true");
	} else if (cJSON_IsFalse(v)) {
		cr_sb_puts(b, "false");
	} else if (cJSON_IsRaw(v) && v->valuestring) {
		cr_sb_puts(b, v->valuestring); /* the caller vouches for raw JSON */
	} else {
		cr_sb_puts(b, "null");
	}
}

char *cr_json_canonical(const cJSON *v, size_t *len)
{
	cr_sbuf b = {0};
	put_value(&b, v);
	if (!b.oom && !b.p)
		cr_sb_put(&b, "", 0);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}

int cr_json_digest(const cJSON *v, char out[65])
{
	size_t len;
	char *s = cr_json_canonical(v, &len);
	out[0] = '\0';
	if (!s)
		return cr_error_set(CR_EINTERNAL, "out of memory serializing JSON");
	cr_sha256_hex(s, len, out);
	free(s);
	return 0;
}

const char *cr_json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t cr_json_int(const cJSON *obj, const char *key, int64_t fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsNumber(v))
		return fallback;
	double d = v->valuedouble;
	/* -2^63 is exact; 2^63 is the first value out of range. */
	if (!isfinite(d) || floor(d) != d || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0)
		return fallback;
	return (int64_t)d;
}

cJSON *cr_json_add_str(cJSON *obj, const char *key, const char *s)
{
	return s ? cJSON_AddStringToObject(obj, key, s) : cJSON_AddNullToObject(obj, key);
}

cJSON *cr_json_add_int(cJSON *obj, const char *key, int64_t v)
{
	return cJSON_AddNumberToObject(obj, key, (double)v);
}
