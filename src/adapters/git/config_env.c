/*
 * git's configuration as git hands it to a subcommand: `git -c key=value`
 * arrives in GIT_CONFIG_PARAMETERS, and GIT_CONFIG_COUNT with
 * GIT_CONFIG_KEY_<n> / GIT_CONFIG_VALUE_<n> (git >= 2.31). libgit2 reads
 * neither (libgit2 issue #3854), so they are added to every repository this
 * program opens as one read-only, in-memory backend at GIT_CONFIG_LEVEL_APP,
 * above every file: for every key, what git itself would answer.
 *
 * Order, as git applies them: the GIT_CONFIG_COUNT entries first, then
 * GIT_CONFIG_PARAMETERS left to right; the last value of a key wins.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <git2/sys/config.h>
#include "adapters/git/ledger_internal.h"

struct env_entry {
	char *name;  /* normalised: section and variable lowercased */
	char *value; /* NULL: a bare `-c key` (boolean true) */
};

struct env_backend {
	git_config_backend parent;
	struct env_entry *e;
	size_t n, cap;
};

struct env_iter {
	git_config_iterator parent;
	struct env_backend *b;
	size_t i;
	git_config_entry entry;
};

static void entries_free(struct env_backend *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].name);
		free(b->e[i].value);
	}
	free(b->e);
	b->e = NULL;
	b->n = b->cap = 0;
}

/* KEY as git names it: "section.variable" or "section.sub.section.variable",
 * section and variable lowercased, the subsection kept. NULL when KEY is
 * not a config key. */
static char *normalise(const char *key)
{
	const char *first = strchr(key, '.'), *last = strrchr(key, '.');
	if (!first || first == key || !last[1])
		return NULL;
	char *out = strdup(key);
	if (!out)
		return NULL;
	for (char *p = out; p < out + (first - key); p++) {
		if (!isalnum((unsigned char)*p) && *p != '-')
			goto bad;
		*p = (char)tolower((unsigned char)*p);
	}
	for (char *p = out + (last - key) + 1; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-')
			goto bad;
		*p = (char)tolower((unsigned char)*p);
	}
	if (!isalpha((unsigned char)out[last - key + 1]))
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

static int add(struct env_backend *b, const char *key, const char *value, const char *from)
{
	char *name = normalise(key);
	if (!name)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid config key '%.200s' in %s", key, from);
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct env_entry *e = realloc(b->e, cap * sizeof(*e));
		if (!e) {
			free(name);
			return cr_error_set(CR_ESTORAGE, "out of memory");
		}
		b->e = e;
		b->cap = cap;
	}
	char *v = value ? strdup(value) : NULL;
	if (value && !v) {
		free(name);
		return cr_error_set(CR_ESTORAGE, "out of memory");
	}
	b->e[b->n++] = (struct env_entry){name, v};
	return 0;
}

/* One single-quoted word at *P as git's sq_quote writes it ('a'\''b' is
 * a'b; '\!' is !), appended to OUT (of CAP bytes); *P moves past it. */
static int dequote(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	if (*s != '\'')
		return -1;
	for (s++;;) {
		if (!*s)
			return -1;
		if (*s != '\'') {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *s++;
			continue;
		}
		/* a closing quote: the word ends unless \' or \! and a new quote follow */
		if (s[1] == '\\' && (s[2] == '\'' || s[2] == '!') && s[3] == '\'') {
			if (n + 1 >= cap)
				return -1;
			out[n++] = s[2];
			s += 4;
			continue;
		}
		s++;
		break;
	}
	out[n] = '\0';
	*p = s;
	return 0;
}

static int parse_parameters(struct env_backend *b, const char *env)
{
	size_t cap = strlen(env) + 1;
	char *key = malloc(cap), *value = malloc(cap);
	const char *p = env;
	int rc = 0;

	if (!key || !value) {
		rc = cr_error_set(CR_ESTORAGE, "out of memory");
		goto done;
	}
	while (rc == 0) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (dequote(&p, key, cap) < 0)
			goto bogus;
		if (*p == '=') { /* 'key'='value', or 'key'= for a bare key */
			p++;
			if (*p == '\'') {
				if (dequote(&p, value, cap) < 0)
					goto bogus;
				rc = add(b, key, value, "GIT_CONFIG_PARAMETERS");
			} else {
				rc = add(b, key, NULL, "GIT_CONFIG_PARAMETERS");
			}
		} else { /* the older 'key=value' (or 'key') */
			char *eq = strchr(key, '=');
			if (eq)
				*eq = '\0';
			rc = add(b, key, eq ? eq + 1 : NULL, "GIT_CONFIG_PARAMETERS");
		}
		if (rc == 0 && *p && !isspace((unsigned char)*p))
			goto bogus;
	}
	goto done;
bogus:
	rc = cr_error_set(CR_EINVALID_ARGUMENT, "bogus format in GIT_CONFIG_PARAMETERS");
done:
	free(key);
	free(value);
	return rc;
}

static int parse_count(struct env_backend *b, const char *count)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(count, &end, 10);
	if (errno || end == count || *end || n > 100000)
		return cr_error_set(CR_EINVALID_ARGUMENT, "bogus count in GIT_CONFIG_COUNT");
	for (unsigned long i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%lu", i);
		const char *key = getenv(name);
		if (!key || !*key)
			return cr_error_set(CR_EINVALID_ARGUMENT, "missing config key %s", name);
		snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%lu", i);
		const char *value = getenv(name);
		if (!value)
			return cr_error_set(CR_EINVALID_ARGUMENT, "missing config value %s", name);
		int rc = add(b, key, value, "GIT_CONFIG_COUNT");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- the backend ------------------------------------------------------ */

static int be_open(git_config_backend *be, git_config_level_t level, const git_repository *repo)
{
	(void)be, (void)level, (void)repo;
	return 0;
}

static void entry_free(git_config_entry *e)
{
	free(e);
}

static int be_get(git_config_backend *be, const char *key, git_config_entry **out)
{
	struct env_backend *b = (struct env_backend *)be;
	for (size_t i = b->n; i-- > 0;) {
		if (strcmp(b->e[i].name, key) != 0)
			continue;
		git_config_entry *e = calloc(1, sizeof(*e));
		if (!e)
			return -1;
		e->name = b->e[i].name;
		e->value = b->e[i].value;
		e->level = GIT_CONFIG_LEVEL_APP;
		e->free = entry_free;
		*out = e;
		return 0;
	}
	return GIT_ENOTFOUND;
}

static int be_readonly(void)
{
	git_error_set_str(GIT_ERROR_CONFIG, "the configuration given by git -c cannot be written");
	return -1;
}

static int be_set(git_config_backend *be, const char *key, const char *value)
{
	(void)be, (void)key, (void)value;
	return be_readonly();
}

static int be_set_multivar(git_config_backend *be, const char *name, const char *re, const char *value)
{
	(void)be, (void)name, (void)re, (void)value;
	return be_readonly();
}

static int be_del(git_config_backend *be, const char *key)
{
	(void)be, (void)key;
	return be_readonly();
}

static int be_del_multivar(git_config_backend *be, const char *key, const char *re)
{
	(void)be, (void)key, (void)re;
	return be_readonly();
}

static int it_next(git_config_entry **out, git_config_iterator *it)
{
	struct env_iter *i = (struct env_iter *)it;
	if (i->i >= i->b->n)
		return GIT_ITEROVER;
	i->entry = (git_config_entry){.name = i->b->e[i->i].name, .value = i->b->e[i->i].value,
				      .level = GIT_CONFIG_LEVEL_APP};
	i->i++;
	*out = &i->entry;
	return 0;
}

static void it_free(git_config_iterator *it)
{
	free(it);
}

static int be_iterator(git_config_iterator **out, git_config_backend *be)
{
	struct env_iter *i = calloc(1, sizeof(*i));
	if (!i)
		return -1;
	i->parent.backend = be;
	i->parent.next = it_next;
	i->parent.free = it_free;
	i->b = (struct env_backend *)be;
	*out = &i->parent;
	return 0;
}

static int be_lock(git_config_backend *be)
{
	(void)be;
	return be_readonly();
}

static int be_unlock(git_config_backend *be, int success)
{
	(void)be, (void)success;
	return 0;
}

static void be_free(git_config_backend *be)
{
	struct env_backend *b = (struct env_backend *)be;
	if (!b)
		return;
	entries_free(b);
	free(b);
}

static struct env_backend *backend_new(void);

static int be_snapshot(git_config_backend **out, git_config_backend *be)
{
	struct env_backend *b = (struct env_backend *)be, *s = backend_new();
	if (!s)
		return -1;
	s->parent.readonly = 1;
	for (size_t i = 0; i < b->n; i++)
		if (add(s, b->e[i].name, b->e[i].value, "the snapshot") < 0) {
			be_free(&s->parent);
			return -1;
		}
	*out = &s->parent;
	return 0;
}

static struct env_backend *backend_new(void)
{
	struct env_backend *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->parent.version = GIT_CONFIG_BACKEND_VERSION;
	b->parent.readonly = 1;
	b->parent.open = be_open;
	b->parent.get = be_get;
	b->parent.set = be_set;
	b->parent.set_multivar = be_set_multivar;
	b->parent.del = be_del;
	b->parent.del_multivar = be_del_multivar;
	b->parent.iterator = be_iterator;
	b->parent.snapshot = be_snapshot;
	b->parent.lock = be_lock;
	b->parent.unlock = be_unlock;
	b->parent.free = be_free;
	return b;
}

int cr_git_config_env(git_repository *repo)
{
	const char *params = getenv("GIT_CONFIG_PARAMETERS"), *count = getenv("GIT_CONFIG_COUNT");
	struct env_backend *b;
	git_config *cfg = NULL;
	int rc = 0;

	if ((!params || !*params) && (!count || !*count))
		return 0;
	if (!(b = backend_new()))
		return cr_error_set(CR_ESTORAGE, "out of memory");
	if ((count && *count && (rc = parse_count(b, count)) < 0) ||
	    (params && *params && (rc = parse_parameters(b, params)) < 0)) {
		be_free(&b->parent);
		return rc;
	}
	if (b->n == 0) {
		be_free(&b->parent);
		return 0;
	}
	if (git_repository_config(&cfg, repo) < 0) {
		be_free(&b->parent);
		return cr_git_error("cannot read the repository's configuration");
	}
	/* On success the config owns the backend. */
	rc = git_config_add_backend(cfg, &b->parent, GIT_CONFIG_LEVEL_APP, repo, 1);
	if (rc < 0) {
		be_free(&b->parent);
		rc = cr_git_error("cannot add git -c's configuration");
	}
	git_config_free(cfg);
	return rc;
}
