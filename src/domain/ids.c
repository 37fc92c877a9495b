#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "domain/ids.h"

/*
 * data-model.md section 1 with plain character checks: these rules guard
 * ref names and paths, so they must not depend on a regex library's dialect.
 */

static const char *const prefixes[CR_ID__COUNT] = {
	[CR_ID_IMPORT] = "imp",
	[CR_ID_MANIFEST] = "man",
	[CR_ID_RUN] = "run",
	[CR_ID_REPORT] = "rpt",
	[CR_ID_APPROVAL] = "apr",
	[CR_ID_PUBLICATION] = "pub",
	[CR_ID_EVENT] = "evt",
};

const char *cr_id_prefix(cr_idkind k)
{
	if ((int)k < 0 || k >= CR_ID__COUNT)
		return NULL;
	return prefixes[k];
}

void cr_id_format(char *buf, size_t len, cr_idkind k, uint64_t n)
{
	const char *p = cr_id_prefix(k);

	if (!buf || len == 0)
		return;
	if (!p) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%s-%03" PRIu64, p, n);
}

/* The counter part of an id: exactly 3 digits, or 4 or more without a
 * leading zero (^(?:[0-9]{3}|[1-9][0-9]{3,})$), and no overflow. */
static bool parse_counter(const char *s, size_t min_digits, uint64_t *n)
{
	size_t len = strlen(s);
	uint64_t v = 0;

	if (len < min_digits || (len > min_digits && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (n)
		*n = v;
	return true;
}

bool cr_id_parse(const char *id, cr_idkind k, uint64_t *n)
{
	const char *p = cr_id_prefix(k);
	size_t plen;

	if (!id || !p)
		return false;
	plen = strlen(p);
	if (strncmp(id, p, plen) != 0 || id[plen] != '-')
		return false;
	return parse_counter(id + plen + 1, 3, n);
}

int cr_id_kind(const char *id)
{
	for (int k = 0; k < CR_ID__COUNT; k++)
		if (cr_id_parse(id, (cr_idkind)k, NULL))
			return k;
	return -1;
}

void cr_violation_id_format(char *buf, size_t len, const char *run_id, uint64_t n)
{
	if (!buf || len == 0)
		return;
	snprintf(buf, len, "%s-v%06" PRIu64, run_id ? run_id : "", n);
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/*
 * One identifier rule: length bounds, the first character, the other
 * characters (FIRST_OK/REST_OK are predicates; REST_EXTRA lists the allowed
 * punctuation), and a sentence naming the allowed set. The reason for a bad
 * character names it, so it is written into the caller's thread-local buffer.
 */
struct rule {
	size_t max;
	const char *length_reason;
	bool (*first_ok)(unsigned char);
	const char *first_reason;
	const char *rest_extra;
	const char *charset;
};

static const char *bad_char(char *why, size_t len, unsigned char c, const char *charset)
{
	if (c <= 0x20 || c >= 0x7f)
		snprintf(why, len, "contains 0x%02x, a character other than %s", c, charset);
	else
		snprintf(why, len, "contains '%c', a character other than %s", c, charset);
	return why;
}

static const char *check_rule(const struct rule *r, const char *s, char *why, size_t whylen)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > r->max)
		return r->length_reason;
	if (!r->first_ok((unsigned char)s[0]))
		return r->first_reason;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alnum(c) && !(c && strchr(r->rest_extra, c)))
			return bad_char(why, whylen, c, r->charset);
	}
	return NULL;
}

static const struct rule candidate_rule = {
	128, "must be 1 to 128 characters",
	is_alnum, "must start with a letter or digit",
	"._-", "A-Z a-z 0-9 . _ -",
};

/* The ref-name hazards shared by candidate ids and tags (git check-ref-format). */
static const char *ref_hazards(const char *s)
{
	size_t len = strlen(s);

	if (strstr(s, ".."))
		return "must not contain \"..\"";
	if (ends_with(s, len, ".lock"))
		return "must not end in \".lock\"";
	if (ends_with(s, len, "."))
		return "must not end in \".\"";
	return NULL;
}

const char *cr_candidate_id_invalid(const char *id)
{
	static _Thread_local char why[96];
	const char *r = check_rule(&candidate_rule, id, why, sizeof(why));

	return r ? r : ref_hazards(id);
}

const char *cr_task_id_invalid(const char *t)
{
	static _Thread_local char why[96];

	return check_rule(&candidate_rule, t, why, sizeof(why));
}

const char *cr_version_invalid(const char *v)
{
	static const struct rule version_rule = {
		64, "must be 1 to 64 characters",
		is_alnum, "must start with a letter or digit",
		"._+~-", "A-Z a-z 0-9 . _ + ~ -",
	};
	static _Thread_local char why[96];

	return check_rule(&version_rule, v, why, sizeof(why));
}

/* Channels: lowercase only, no '.' or '_' (^[a-z][a-z0-9-]{0,31}$). */
const char *cr_channel_invalid(const char *c)
{
	static _Thread_local char why[96];
	size_t len = c ? strlen(c) : 0;

	if (len == 0 || len > 32)
		return "must be 1 to 32 characters";
	if (!is_lower((unsigned char)c[0]))
		return "must start with a lowercase letter";
	for (size_t i = 1; i < len; i++) {
		unsigned char ch = (unsigned char)c[i];
		if (!is_lower(ch) && !(ch >= '0' && ch <= '9') && ch != '-')
			return bad_char(why, sizeof(why), ch, "a-z 0-9 -");
	}
	return NULL;
}

const char *cr_actor_invalid(const char *a)
{
	static _Thread_local char why[64];
	size_t len = a ? strlen(a) : 0;

	if (len == 0 || len > 256)
		return "must be 1 to 256 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c < 0x20 || c == 0x7f) {
			snprintf(why, sizeof(why), "contains control character 0x%02x", c);
			return why;
		}
		if (c == 0xc2 && i + 1 < len && (unsigned char)a[i + 1] >= 0x80 && (unsigned char)a[i + 1] <= 0x9f) {
			snprintf(why, sizeof(why), "contains control character U+%04X", (unsigned char)a[i + 1]);
			return why;
		}
		/* Bidirectional overrides and isolates reorder what follows on
		 * a screen: an actor shown is the actor recorded. */
		if (c == 0xe2 && i + 2 < len) {
			unsigned char b = (unsigned char)a[i + 1], d = (unsigned char)a[i + 2];
			if ((b == 0x80 && d >= 0xaa && d <= 0xae) || (b == 0x81 && d >= 0xa6 && d <= 0xa9)) {
				snprintf(why, sizeof(why), "contains the bidirectional control U+%04X",
					 0x2000 + ((b & 0x3f) << 6) + (d & 0x3f));
				return why;
			}
		}
	}
	return NULL;
}

/* ReleaseTag of publication.schema.json: a candidate-id-like ref name that
 * may also hold '/' and '+', with git's rules on components. "@{" is listed
 * by the schema but cannot occur: neither '@' nor '{' is allowed at all. */
const char *cr_tag_invalid(const char *t)
{
	static const struct rule tag_rule = {
		128, "must be 1 to 128 characters",
		is_alnum, "must start with a letter or digit",
		"._/+-", "A-Z a-z 0-9 . _ / + -",
	};
	static _Thread_local char why[96];
	const char *r = check_rule(&tag_rule, t, why, sizeof(why));
	size_t len;

	if (r || (r = ref_hazards(t)))
		return r;
	len = strlen(t);
	if (strstr(t, "//"))
		return "must not contain \"//\"";
	if (ends_with(t, len, "/"))
		return "must not end in \"/\"";
	if (strstr(t, "/."))
		return "must not contain \"/.\" (a component starting with \".\")";
	if (strstr(t, "@{"))
		return "must not contain \"@{\"";
	return NULL;
}

bool cr_has_credentials(const char *s)
{
	for (const char *p = s; (p = strstr(p, "://")); p += 3) {
		for (const char *q = p + 3; *q && !strchr("/?#\\ \t\r\n\"'<>", *q); q++)
			if (*q == '@')
				return true;
	}
	return false;
}
