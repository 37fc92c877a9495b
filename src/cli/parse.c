#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "util/error.h"

/*
 * The one option parser and the help printer, both driven by the option
 * arrays of the command tables, so what `help` says is what parsing does.
 */

const struct cr_cli_global cr_cli_globals[] = {
	{'C', NULL, "DIR", false, "run as if started in DIR (before the command)", CR_CLI_G_CHDIR},
	{0, "demo", NULL, true, "use the demo namespace and its built-in policy", CR_CLI_G_DEMO},
	{0, "json", NULL, true, "print the result or the error as JSON on stdout", CR_CLI_G_JSON},
	{'q', "quiet", NULL, true, "no human output on success; errors still print", CR_CLI_G_QUIET},
	{0, "version", NULL, false, "print the version and exit", CR_CLI_G_VERSION},
	{'h', "help", NULL, true, "show help; 'help COMMAND' for one command", CR_CLI_G_HELP},
	{0, NULL, NULL, false, NULL, 0},
};

/* The exit codes of contracts/cli.md, for the help. */
static const struct {
	int code;
	const char *meaning;
} exit_codes[] = {
	{0, "success; compliance run/report: final status PASSED"},
	{1, "compliance BLOCKED: the run found BLOCKER violations"},
	{2, "usage or input error (option, argument, input file, policy)"},
	{3, "refused by a lifecycle gate in the candidate's current status"},
	{4, "not found (candidate, manifest, run, report, task), or no report yet"},
	{5, "conflict or integrity (taken id, lost update, bad ledger)"},
	{6, "compliance ERROR: a stage could not be evaluated"},
	{70, "internal error (a bug)"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const struct cr_cli_global *cr_cli_global_find(const char *arg)
{
	for (const struct cr_cli_global *g = cr_cli_globals; g->id; g++) {
		if (g->short_name && arg[0] == '-' && arg[1] == g->short_name && arg[2] == '\0')
			return g;
		if (g->long_name && !strncmp(arg, "--", 2) && !strcmp(arg + 2, g->long_name))
			return g;
	}
	return NULL;
}

int cr_cli_global_flag(cr_cli *c, const char *arg)
{
	const struct cr_cli_global *g = cr_cli_global_find(arg);

	if (!g || !g->anywhere)
		return 0;
	switch (g->id) {
	case CR_CLI_G_DEMO:
		c->demo = true;
		return 1;
	case CR_CLI_G_JSON:
		c->json = true;
		return 1;
	case CR_CLI_G_QUIET:
		c->quiet = true;
		return 1;
	default:
		return 0; /* -h is the parser's business */
	}
}

const char *cr_cli_command_name(const struct cr_cli_group *g, const struct cr_cli_command *cmd,
				char *buf, size_t len)
{
	if (cmd && cmd->name)
		snprintf(buf, len, "%s %s", g->name, cmd->name);
	else
		snprintf(buf, len, "%s", g->name);
	return buf;
}

/* "--candidate-id ID --version V [--actor A] [--detach]" into BUF. */
static void usage_args(const struct cr_cli_command *cmd, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct cr_cli_option *o = cmd->options; o && o->name; o++) {
		int n;
		if (o->type == CR_CLI_FLAG)
			n = snprintf(buf + used, len - used, " [--%s]", o->name);
		else if (o->required)
			n = snprintf(buf + used, len - used, " --%s %s", o->name, o->arg);
		else
			n = snprintf(buf + used, len - used, " [--%s %s]", o->name, o->arg);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

static void usage_line(const struct cr_cli_group *g, const struct cr_cli_command *cmd, char *buf,
		       size_t len)
{
	char name[64], args[400];

	usage_args(cmd, args, sizeof(args));
	snprintf(buf, len, "usage: %s %s%s", CR_CLI_PROG, cr_cli_command_name(g, cmd, name, sizeof(name)),
		 args);
}

int cr_cli_usage_error(const cr_cli *c, const char *fmt, ...)
{
	char msg[CR_ERROR_MSG_MAX], usage[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cr_error_set(CR_EINVALID_ARGUMENT, "%s", msg);
	usage_line(c->group, c->cmd, usage, sizeof(usage));
	return cr_error_hint("%s", usage);
}

static int option_index(const struct cr_cli_command *cmd, const char *name, size_t len)
{
	int i = 0;
	for (const struct cr_cli_option *o = cmd->options; o && o->name; o++, i++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return i;
	return -1;
}

static int parse_int(cr_cli *c, const struct cr_cli_option *o, const char *v, long *out)
{
	char *end = NULL;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < o->min || n > o->max)
		return cr_cli_usage_error(c, "--%s needs a whole number from %ld to %ld", o->name, o->min,
					  o->max);
	*out = n;
	return 0;
}

int cr_cli_parse(cr_cli *c, int argc, char **argv)
{
	const struct cr_cli_command *cmd = c->cmd;
	char name[64];
	int i, idx, rc;

	cr_cli_command_name(c->group, cmd, name, sizeof(name));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *opt, *eq, *v;
		const struct cr_cli_option *o;
		const struct cr_cli_global *g = cr_cli_global_find(a);
		size_t nlen;

		if (a[0] != '-' || !strcmp(a, "-") || !strcmp(a, "--"))
			return cr_cli_usage_error(c, "unexpected argument '%s' for '%s'", a, name);
		opt = a[1] == '-' ? a + 2 : a + 1;
		eq = strchr(opt, '=');
		nlen = eq ? (size_t)(eq - opt) : strlen(opt);
		/* The command's own options first: "candidate register --version
		 * V" is the candidate's version, not the program's. */
		idx = a[1] == '-' ? option_index(cmd, opt, nlen) : -1;
		if (idx < 0) {
			if (g && g->id == CR_CLI_G_HELP)
				return 1;
			if (cr_cli_global_flag(c, a))
				continue;
			if (g)
				return cr_cli_usage_error(c, "option %s goes before the command: %s %s%s%s %s",
							  a, CR_CLI_PROG, a, g->arg ? " " : "",
							  g->arg ? g->arg : "", name);
			return cr_cli_usage_error(c, "unknown option %s%.*s for '%s'", a[1] == '-' ? "--" : "-",
						  (int)nlen, opt, name);
		}
		o = &cmd->options[idx];
		if (c->seen[idx] && o->type != CR_CLI_LIST)
			return cr_cli_usage_error(c, "option --%s given twice", o->name);
		c->seen[idx] = true;
		if (o->type == CR_CLI_FLAG) {
			if (eq)
				return cr_cli_usage_error(c, "option --%s takes no value", o->name);
			continue;
		}
		if (eq) {
			v = eq + 1;
		} else {
			/* A value that looks like an option is a forgotten value:
			 * "--candidate-id --json". --opt=--text passes one. */
			v = i + 1 < argc && strncmp(argv[i + 1], "--", 2) ? argv[++i] : NULL;
		}
		if (!v || !*v)
			return cr_cli_usage_error(c, "option --%s needs a value", o->name);
		c->vals[idx] = v;
		if (o->type == CR_CLI_LIST) {
			if (c->nlist >= CR_CLI_LIST_MAX)
				return cr_cli_usage_error(c, "option --%s given more than %d times", o->name,
							  CR_CLI_LIST_MAX);
			c->list[c->nlist++] = v;
		}
		if (o->type == CR_CLI_INT && (rc = parse_int(c, o, v, &c->nums[idx])) < 0)
			return rc;
	}
	idx = 0;
	for (const struct cr_cli_option *o = cmd->options; o && o->name; o++, idx++)
		if (o->required && !c->seen[idx])
			return cr_cli_usage_error(c, "%s needs --%s", name, o->name);
	return 0;
}

/* The index of NAME in the command's table; a name the command does not
 * declare is a bug in the command's code, caught on its first use. */
static int declared(const cr_cli *c, const char *name)
{
	int i = option_index(c->cmd, name, strlen(name));
	if (i < 0) {
		fprintf(stderr, "%s: error: internal: option --%s is not declared for '%s'\n", CR_CLI_PROG,
			name, c->group->name);
		abort();
	}
	return i;
}

const char *cr_cli_str(const cr_cli *c, const char *name) { return c->vals[declared(c, name)]; }
bool cr_cli_flag(const cr_cli *c, const char *name) { return c->seen[declared(c, name)]; }

const char *const *cr_cli_list(const cr_cli *c, const char *name, size_t *n)
{
	*n = c->seen[declared(c, name)] ? c->nlist : 0;
	return c->list;
}

long cr_cli_int(const cr_cli *c, const char *name, long absent)
{
	int i = declared(c, name);
	return c->seen[i] ? c->nums[i] : absent;
}

/* ---- help ------------------------------------------------------------ */

static void option_rows(FILE *out, const struct cr_cli_command *cmd)
{
	for (const struct cr_cli_option *o = cmd->options; o && o->name; o++) {
		char lhs[64];
		if (o->type == CR_CLI_FLAG)
			snprintf(lhs, sizeof(lhs), "--%s", o->name);
		else
			snprintf(lhs, sizeof(lhs), "--%s %s", o->name, o->arg);
		fprintf(out, "  %-24s %s%s\n", lhs, o->help, o->required ? " (required)" : "");
	}
}

static void global_rows(FILE *out)
{
	for (const struct cr_cli_global *g = cr_cli_globals; g->id; g++) {
		char lhs[64];
		if (g->short_name && g->long_name)
			snprintf(lhs, sizeof(lhs), "-%c, --%s", g->short_name, g->long_name);
		else if (g->short_name)
			snprintf(lhs, sizeof(lhs), "-%c %s", g->short_name, g->arg ? g->arg : "");
		else
			snprintf(lhs, sizeof(lhs), "--%s", g->long_name);
		fprintf(out, "  %-24s %s\n", lhs, g->help);
	}
}

void cr_cli_help_command(FILE *out, const struct cr_cli_group *g, const struct cr_cli_command *cmd)
{
	char usage[512];

	usage_line(g, cmd, usage, sizeof(usage));
	fprintf(out, "%s\n\n%s%s\n", usage, cmd->summary,
		cmd->flags & CR_CLI_UNBUILT ? " (not yet available in this build)" : "");
	if (cmd->description)
		fprintf(out, "\n%s\n", cmd->description);
	if (cmd->options && cmd->options->name) {
		fprintf(out, "\nOptions:\n");
		option_rows(out, cmd);
	}
	fprintf(out, "\n--json, --demo and -q also work after the command; see '%s help'.\n",
		CR_CLI_PROG);
}

static void command_row(FILE *out, const struct cr_cli_group *g, const struct cr_cli_command *cmd)
{
	char name[64];

	fprintf(out, "  %-26s %s%s\n", cr_cli_command_name(g, cmd, name, sizeof(name)), cmd->summary,
		cmd->flags & CR_CLI_UNBUILT ? " (not yet available)" : "");
}

void cr_cli_help_group(FILE *out, const struct cr_cli_group *g)
{
	char usage[512];

	fprintf(out, "usage: %s %s COMMAND [OPTIONS]\n\nCommands:\n", CR_CLI_PROG, g->name);
	for (const struct cr_cli_command *cmd = g->commands; cmd->fn; cmd++)
		command_row(out, g, cmd);
	fprintf(out, "\n");
	for (const struct cr_cli_command *cmd = g->commands; cmd->fn; cmd++) {
		usage_line(g, cmd, usage, sizeof(usage));
		fprintf(out, "%s\n", usage);
	}
	fprintf(out, "\nSee '%s help %s COMMAND' for a command's options.\n", CR_CLI_PROG, g->name);
}

void cr_cli_help_all(FILE *out)
{
	fprintf(out,
		"usage: %s [-C DIR] [--demo] [--json] [-q] COMMAND [OPTIONS]\n"
		"       %s --version\n"
		"       %s help [COMMAND...]\n"
		"\nRelease compliance evidence kept in git refs: register a candidate, import its\n"
		"artifacts, freeze a manifest, check it against the trusted policy, approve and\n"
		"publish. Also run as 'git clean-release'.\n"
		"\nCommands:\n",
		CR_CLI_PROG, CR_CLI_PROG, CR_CLI_PROG);
	for (const struct cr_cli_group *const *g = cr_cli_groups; *g; g++)
		for (const struct cr_cli_command *cmd = (*g)->commands; cmd->fn; cmd++)
			command_row(out, *g, cmd);
	fprintf(out, "\nGlobal options:\n");
	global_rows(out);
	fprintf(out, "\nExit status:\n");
	for (size_t i = 0; i < NELEM(exit_codes); i++)
		fprintf(out, "  %-4d %s\n", exit_codes[i].code, exit_codes[i].meaning);
	fprintf(out, "\nSee '%s help COMMAND' for the options of a command.\n", CR_CLI_PROG);
}
