/*
 * One invocation of the command line: global options, then a walk over the
 * table of command groups (groups.c), then one command. The programs'
 * entries (main.c, main_serve.c, main_tui.c) call it with the front ends
 * they hold.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "util/error.h"

#include <version.h> /* generated in the build dir: build/gen/version.h */
#ifndef CR_VERSION
#define CR_VERSION "unknown"
#endif

static const struct cr_cli_group *find_group(const char *name)
{
	for (const struct cr_cli_group *const *g = cr_cli_groups; *g; g++)
		if (!strcmp((*g)->name, name))
			return *g;
	return NULL;
}

static const struct cr_cli_command *find_command(const struct cr_cli_group *g, const char *name)
{
	for (const struct cr_cli_command *cmd = g->commands; cmd->fn; cmd++)
		if (cmd->name && name && !strcmp(cmd->name, name))
			return cmd;
	return NULL;
}

/* A group of one nameless command ("verify", "serve"). */
static const struct cr_cli_command *only_command(const struct cr_cli_group *g)
{
	return g->commands[0].fn && !g->commands[0].name ? &g->commands[0] : NULL;
}

static void command_list(const struct cr_cli_group *g, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct cr_cli_command *cmd = g->commands; cmd->fn; cmd++) {
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", cmd->name);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

static int unknown_command(const char *what, const char *help_topic)
{
	cr_error_set(CR_EINVALID_ARGUMENT, "unknown command '%s'; see '%s help%s%s'", what, CR_CLI_PROG,
		     help_topic ? " " : "", help_topic ? help_topic : "");
	return CR_EINVALID_ARGUMENT;
}

/* `help [COMMAND...]`: the same lookup as the dispatcher. */
static int help(int argc, char **argv)
{
	const struct cr_cli_group *g;
	const struct cr_cli_command *cmd;
	char what[128];

	if (argc == 0) {
		cr_cli_help_all(stdout);
		return 0;
	}
	if (!(g = find_group(argv[0])))
		return unknown_command(argv[0], NULL);
	if ((cmd = only_command(g))) {
		if (argc > 1)
			return cr_error_set(CR_EINVALID_ARGUMENT, "'%s' has no subcommands; see '%s help %s'",
					    g->name, CR_CLI_PROG, g->name);
		cr_cli_help_command(stdout, g, cmd);
		return 0;
	}
	if (argc == 1) {
		cr_cli_help_group(stdout, g);
		return 0;
	}
	if (argc > 2 || !(cmd = find_command(g, argv[1]))) {
		snprintf(what, sizeof(what), "%s %s", argv[0], argv[1]);
		return unknown_command(what, g->name);
	}
	cr_cli_help_command(stdout, g, cmd);
	return 0;
}

/* Find the command named by ARGV[*I...], skipping global flags between the
 * group and the command words ("candidate --json show"). */
static int find(cr_cli *c, int argc, char **argv, int *i)
{
	const struct cr_cli_group *g = find_group(argv[*i]);
	char list[256], what[128];

	if (!g)
		return unknown_command(argv[*i], NULL);
	c->group = g;
	(*i)++;
	if ((c->cmd = only_command(g)))
		return 0;
	while (*i < argc && cr_cli_global_flag(c, argv[*i]))
		(*i)++;
	if (*i >= argc || argv[*i][0] == '-') {
		const struct cr_cli_global *h = *i < argc ? cr_cli_global_find(argv[*i]) : NULL;
		if (h && h->id == CR_CLI_G_HELP)
			return 1;
		command_list(g, list, sizeof(list));
		cr_error_set(CR_EINVALID_ARGUMENT, "'%s' needs a command: %s", g->name, list);
		return cr_error_hint("see '%s help %s'", CR_CLI_PROG, g->name);
	}
	if (!(c->cmd = find_command(g, argv[*i]))) {
		snprintf(what, sizeof(what), "%s %s", g->name, argv[*i]);
		return unknown_command(what, g->name);
	}
	(*i)++;
	return 0;
}

/* --json anywhere on the line, so that even an error found before it is
 * reported as JSON. An option value never starts with "--" unless written
 * --opt=--value, so a bare "--json" is always the flag (but -C's value). */
static bool wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-C")) {
			i++;
			continue;
		}
		if (!strcmp(argv[i], "--json"))
			return true;
	}
	return false;
}

static int run(cr_cli *c, int argc, char **argv)
{
	const struct cr_cli_global *g;
	int i = 1, rc;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!(g = cr_cli_global_find(argv[i])))
			return cr_error_set(CR_EINVALID_ARGUMENT, "unknown option %s; see '%s help'", argv[i],
					    CR_CLI_PROG);
		switch (g->id) {
		case CR_CLI_G_CHDIR:
			if (++i >= argc || !*argv[i])
				return cr_error_set(CR_EINVALID_ARGUMENT, "option -C needs a directory");
			if (chdir(argv[i]) < 0)
				return cr_error_set(CR_EINVALID_ARGUMENT, "cannot change to '%s': %s", argv[i],
						    strerror(errno));
			break;
		case CR_CLI_G_VERSION:
			printf("%s %s\n", CR_CLI_PROG, CR_VERSION);
			return 0;
		case CR_CLI_G_HELP:
			cr_cli_help_all(stdout);
			return 0;
		default:
			cr_cli_global_flag(c, argv[i]);
			break;
		}
	}
	if (i >= argc) {
		cr_error_set(CR_EINVALID_ARGUMENT, "no command given");
		return cr_error_hint("usage: %s [-C DIR] [--demo] [--json] [-q] COMMAND [OPTIONS]; see '%s help'",
				     CR_CLI_PROG, CR_CLI_PROG);
	}
	if (!strcmp(argv[i], "help")) {
		int n = 0;
		char *words[4];
		/* Global flags may sit among the help words too. */
		for (i++; i < argc; i++)
			if (!cr_cli_global_flag(c, argv[i]) && n < 4)
				words[n++] = argv[i];
		return help(n, words);
	}
	if ((rc = find(c, argc, argv, &i)) != 0) {
		if (rc == 1)
			cr_cli_help_group(stdout, c->group);
		return rc == 1 ? 0 : rc;
	}
	/* Before its options: whatever they are, it cannot run (its help
	 * still shows). */
	if (c->cmd->flags & CR_CLI_UNBUILT) {
		for (int k = i; k < argc; k++) {
			const struct cr_cli_global *h = cr_cli_global_find(argv[k]);
			if (h && h->id == CR_CLI_G_HELP) {
				cr_cli_help_command(stdout, c->group, c->cmd);
				return 0;
			}
		}
		return cr_cli_not_built(c);
	}
	if ((rc = cr_cli_parse(c, argc - i, argv + i)) != 0) {
		if (rc == 1)
			cr_cli_help_command(stdout, c->group, c->cmd);
		return rc == 1 ? 0 : rc;
	}
	return c->cmd->fn(c);
}

int cr_cli_main(int argc, char **argv, const struct cr_cli_frontends *fe)
{
	cr_cli c = {.fe = fe, .argc = argc, .argv = argv};
	int rc;

	c.json = wants_json(argc, argv);
	cr_error_clear();
	rc = run(&c, argc, argv);
	if (rc < 0)
		rc = cr_cli_report_error(&c, rc);
	if (c.f)
		cr_facade_close(c.f);
	if (fflush(stdout) != 0 && rc == 0) {
		cr_error_set(CR_ESTORAGE, "cannot write the output: %s", strerror(errno));
		c.json = false; /* stdout is what failed */
		rc = cr_cli_report_error(&c, CR_ESTORAGE);
	}
	return rc;
}
