/* Bearer tokens of the REST API (api/internal.h): the tokens file, the
 * lookup, and fresh tokens for `clean-release token new`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "api/internal.h"
#include "domain/ids.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/sha256.h"

#define TOKENS_FILE_MAX ((size_t)1024 * 1024)

static const char *const role_names[] = {"none", "viewer", "releaser", "approver"};

const char *cr_api_role_name(cr_api_role r) { return role_names[r]; }

cr_api_role cr_api_role_parse(const char *name)
{
	for (int r = CR_ROLE_VIEWER; r <= CR_ROLE_APPROVER; r++)
		if (!strcmp(name, role_names[r]))
			return (cr_api_role)r;
	return CR_ROLE_NONE;
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

/* One line "<digest> <actor> <role>" (fields split by blanks) into T. */
static int parse_line(char *line, const char *path, unsigned lineno, cr_api_token *t)
{
	char *save = NULL, *digest, *actor, *role, *extra;
	const char *why;

	digest = strtok_r(line, " \t", &save);
	actor = strtok_r(NULL, " \t", &save);
	role = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (!digest || !actor || !role || extra)
		return cr_error_set(CR_EINVALID_ARGUMENT,
				    "%s:%u: malformed line: want \"<sha256 hex of the token> <actor> <role>\"", path,
				    lineno);
	if (strlen(digest) != 64 || !lower_hex(digest, 64))
		return cr_error_set(CR_EINVALID_ARGUMENT, "%s:%u: the digest is not 64 lowercase hex characters",
				    path, lineno);
	if ((why = cr_actor_invalid(actor)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "%s:%u: invalid actor: %s", path, lineno, why);
	if ((t->role = cr_api_role_parse(role)) == CR_ROLE_NONE)
		return cr_error_set(CR_EINVALID_ARGUMENT, "%s:%u: unknown role %s: viewer, releaser or approver", path,
				    lineno, role);
	memcpy(t->digest, digest, 65);
	snprintf(t->actor, sizeof(t->actor), "%s", actor);
	return 0;
}

int cr_api_tokens_load(cr_api_tokens *out, const char *path)
{
	struct stat st;
	char *buf = NULL, *line;
	size_t len = 0, cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) < 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "tokens file %s: %s", path, strerror(errno));
	if (st.st_mode & 077)
		return cr_error_set(CR_EINVALID_ARGUMENT,
				    "tokens file %s is readable or writable by others (mode %04o): chmod 600 %s", path,
				    (unsigned)(st.st_mode & 07777), path);
	if ((rc = cr_fs_read_input(path, "tokens file", TOKENS_FILE_MAX, &buf, &len)) < 0)
		return rc;
	if (memchr(buf, '\0', len)) {
		free(buf);
		return cr_error_set(CR_EINVALID_ARGUMENT, "tokens file %s holds a NUL byte: not a text file", path);
	}
	/* Lines, split in place: the buffer is NUL-terminated by the reader. */
	for (char *p = buf; p && *p; p = line) {
		char *end = strchr(p, '\n');
		char *start = p;

		line = end ? end + 1 : NULL;
		if (end)
			*end = '\0';
		lineno++;
		while (*start == ' ' || *start == '\t')
			start++;
		if (*start == '\0' || *start == '#')
			continue;
		if ((rc = cr_grow((void **)&out->v, &cap, out->n + 1, sizeof(*out->v))) < 0 ||
		    (rc = parse_line(start, path, lineno, &out->v[out->n])) < 0)
			goto fail;
		for (size_t i = 0; i < out->n; i++)
			if (!strcmp(out->v[i].digest, out->v[out->n].digest)) {
				rc = cr_error_set(CR_EINVALID_ARGUMENT, "%s:%u: the same token as the line for %s", path,
						  lineno, out->v[i].actor);
				goto fail;
			}
		out->n++;
	}
	if (out->n == 0) {
		rc = cr_error_set(CR_EINVALID_ARGUMENT, "tokens file %s grants no token", path);
		goto fail;
	}
	free(buf);
	return 0;
fail:
	free(buf);
	cr_api_tokens_free(out);
	return rc;
}

void cr_api_tokens_free(cr_api_tokens *t)
{
	if (t->v)
		explicit_bzero(t->v, t->n * sizeof(*t->v));
	free(t->v);
	memset(t, 0, sizeof(*t));
}

const cr_api_token *cr_api_tokens_find(const cr_api_tokens *t, const char *token, size_t len)
{
	char digest[65];
	const cr_api_token *found = NULL;

	cr_sha256_hex(token, len, digest);
	/* Every entry is compared, whichever matches. */
	for (size_t i = 0; i < t->n; i++)
		if (cr_ct_equal(digest, t->v[i].digest, 64) && !found)
			found = &t->v[i];
	explicit_bzero(digest, sizeof(digest));
	return found;
}

int cr_api_token_new(const char *actor, const char *role, char token[65], char *line, size_t linelen)
{
	unsigned char raw[32];
	char digest[65];
	const char *why;
	size_t got = 0;

	if ((why = cr_actor_invalid(actor)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid actor: %s", why);
	if (cr_api_role_parse(role) == CR_ROLE_NONE)
		return cr_error_set(CR_EINVALID_ARGUMENT, "unknown role %s: viewer, releaser or approver", role);
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cr_error_set(CR_EINTERNAL, "getrandom: %s", strerror(errno));
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	cr_sha256_hex(token, 64, digest);
	snprintf(line, linelen, "%s %s %s", digest, actor, role);
	return 0;
}
