#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"
#include "facade/dto.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

int cr_cli_begin(cr_cli *c)
{
	int rc;

	cr_facade_opts o = {
		.demo = c->demo,
		.read_only = (c->cmd->flags & CR_CLI_READS) != 0,
		.ledger_at = c->ledger_at,
		.policy_root = c->policy_root,
		.require_signatures = c->require_signatures,
		/* Faults for the tests (tests/e2e): a worker checking this
		 * artifact crashes, or hangs. */
		.test_crash_path = getenv("CR_TEST_WORKER_CRASH"),
		.test_hang_path = getenv("CR_TEST_WORKER_HANG"),
		.test_pause_path = getenv("CR_TEST_WORKER_PAUSE"),
		.test_publish_stop = getenv("CR_TEST_PUBLISH_STOP") != NULL,
		.test_task_enospc = getenv("CR_TEST_TASK_ENOSPC") != NULL,
	};
	if (!c->f && (rc = cr_facade_open(&c->f, &o)) < 0)
		return rc;
	for (const struct cr_cli_option *o = c->cmd->options; o && o->name; o++)
		if (!strcmp(o->name, "actor") && !(c->cmd->flags & CR_CLI_OWN_ACTOR))
			return cr_facade_actor(c->f, cr_cli_str(c, "actor"), c->actor, sizeof(c->actor));
	return 0;
}

int cr_cli_print_json(cJSON *doc)
{
	char *s;
	size_t len = 0;

	if (!doc) {
		const cr_error *e = cr_error_last();
		return e->code ? e->code : cr_error_set(CR_EINTERNAL, "cannot build the JSON output");
	}
	s = cr_json_canonical(doc, &len);
	cJSON_Delete(doc);
	if (!s)
		return cr_error_set(CR_EINTERNAL, "out of memory printing the JSON output");
	fwrite(s, 1, len, stdout);
	fputc('\n', stdout);
	free(s);
	return 0;
}

int cr_cli_report_error(const cr_cli *c, int code)
{
	cr_error e;
	int status;

	/* Copy first: building the JSON below may set another error. */
	cr_error_save(&e);
	if (code >= 0)
		code = CR_EINTERNAL;
	if (!e.message[0])
		snprintf(e.message, sizeof(e.message), "internal error: a command failed (%s) without a message",
			 cr_error_name(code));
	if (code == CR_EINTERNAL && !e.hint[0])
		snprintf(e.hint, sizeof(e.hint), "this is a bug in %s; please report it with the command line",
			 CR_CLI_PROG);
	fflush(stdout);
	fprintf(stderr, "%s: error: %s\n", CR_CLI_PROG, e.message);
	if (e.hint[0])
		fprintf(stderr, "hint: %s\n", e.hint);
	if (c && c->json) {
		cJSON *doc = cr_error_to_json(code, e.message, e.status, e.allowed);
		char *s = doc ? cr_json_canonical(doc, NULL) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(doc);
	}
	cr_error_restore(&e);
	status = cr_error_exit(code);
	/* Codes of the API alone (401, 403, 413, 410) have no exit status: a
	 * CLI that meets one has a bug. */
	return status > 0 ? status : 70;
}

void cr_cli_out(const cr_cli *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
}

void cr_cli_page(const cr_cli *c, cr_page_req *out)
{
	out->limit = (size_t)cr_cli_int(c, "limit", 0);
	out->cursor = cr_cli_str(c, "cursor");
	if (out->cursor && out->limit == 0)
		out->limit = CR_PAGE_LIMIT_DEFAULT;
}

void cr_cli_next_line(const cr_cli *c, const char *next)
{
	if (next && *next)
		cr_cli_out(c, "next_cursor: %s\n", next);
}

/* ---- files ------------------------------------------------------------ */

int cr_cli_read_input(const char *path, const char *what, char **out, size_t *len)
{
	return cr_fs_read_input(path, what, CR_CLI_INPUT_MAX, out, len);
}

int cr_cli_file_dir(const char *path, char **out)
{
	char *copy = strdup(path), *dir;
	int rc = 0;

	*out = NULL;
	if (!copy)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	dir = realpath(dirname(copy), NULL);
	if (!dir)
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: cannot resolve its directory: %s", path,
				  strerror(errno));
	*out = dir;
	free(copy);
	return rc;
}

int cr_cli_absolute(const char *path, char **out)
{
	char *cwd, *abs;
	size_t n;

	*out = NULL;
	if (path[0] == '/') {
		if (!(*out = strdup(path)))
			return cr_error_set(CR_EINTERNAL, "out of memory");
		return 0;
	}
	if (!(cwd = getcwd(NULL, 0)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "%s: cannot read the current directory: %s", path,
				    strerror(errno));
	n = strlen(cwd) + 1 + strlen(path) + 1;
	if (!(abs = malloc(n))) {
		free(cwd);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	snprintf(abs, n, "%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/", path);
	free(cwd);
	*out = abs;
	return 0;
}

/* ---- human text -------------------------------------------------------- */

const char *cr_cli_abbrev(const char *hex, size_t n, char *buf, size_t len)
{
	if (!hex || !*hex)
		return "-";
	if (strlen(hex) <= n)
		snprintf(buf, len, "%s", hex);
	else
		snprintf(buf, len, "%.*s…", (int)n, hex);
	return buf;
}

const char *cr_cli_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 " ms", ms);
	else if (ms < 600000)
		snprintf(buf, len, "%.1f s", (double)ms / 1000.0);
	else
		snprintf(buf, len, "%" PRIu64 " min %" PRIu64 " s", ms / 60000, (ms / 1000) % 60);
	return buf;
}

const char *cr_cli_or_dash(const char *s) { return s && *s ? s : "-"; }

const char *cr_cli_clean(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	if (len == 0)
		return "";
	for (; *p && o + 1 < len; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			buf[o++] = '?';
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			buf[o++] = '?'; /* a C1 control in UTF-8 */
			p++;
		} else {
			buf[o++] = (char)*p;
		}
	}
	/* Never end inside a UTF-8 sequence when truncated. */
	if (*p)
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
	if (*p && o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
		o--;
	buf[o] = '\0';
	return buf;
}

void cr_cli_table(const cr_cli *c, size_t ncols, size_t nrows, const char *const *cells)
{
	size_t width[16] = {0};

	if (c->quiet || ncols == 0 || ncols > sizeof(width) / sizeof(width[0]))
		return;
	for (size_t r = 0; r < nrows; r++)
		for (size_t k = 0; k < ncols; k++) {
			size_t n = strlen(cr_cli_or_dash(cells[r * ncols + k]));
			if (n > width[k])
				width[k] = n;
		}
	for (size_t r = 0; r < nrows; r++) {
		for (size_t k = 0; k < ncols; k++) {
			const char *cell = cr_cli_or_dash(cells[r * ncols + k]);
			if (k + 1 < ncols)
				printf("%-*s  ", (int)width[k], cell);
			else
				printf("%s\n", cell);
		}
	}
}

int cr_cli_bad_choice(const char *opt, const char *value, const char *choices)
{
	char clean[80];

	cr_error_set(CR_EINVALID_ARGUMENT, "unknown --%s '%s'", opt, cr_cli_clean(value, clean, sizeof(clean)));
	return cr_error_hint("--%s is one of: %s", opt, choices);
}

int cr_cli_not_built(cr_cli *c)
{
	char name[64];

	return cr_error_set(CR_EINVALID_ARGUMENT, "'%s' is not available in this build yet",
			    cr_cli_command_name(c->group, c->cmd, name, sizeof(name)));
}
