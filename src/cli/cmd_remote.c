/* clean-release remote setup | fetch | push: the evidence refs between
 * clones, through the git program (the user's transports, credentials and
 * configuration); see docs/distributed.md. No refspec here forces: the
 * ledger only moves forward, so a fetch never overwrites local entries
 * and a push never rewinds the remote's. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cli.h"
#include "util/error.h"

extern char **environ;

#define ARGV_MAX 24

static const struct cr_cli_option remote_opts[] = {
	CR_OPT_STRING("remote", CR_CLI_OPTIONAL, "NAME", "the git remote (default: origin)"),
	CR_OPT_END,
};

/* Run git with ARGV (NULL-terminated, without "git"); its exit status, or
 * a negative error when it could not run. OUT_LINE (may be NULL: git
 * reports on our stderr) gets the first line it prints on stdout, and its
 * stderr is dropped. */
static int git(const char *const *argv, char *out_line, size_t len)
{
	const char *full[ARGV_MAX + 2] = {"git"};
	posix_spawn_file_actions_t fa;
	int pipefd[2] = {-1, -1}, status = 0, rc;
	pid_t pid;
	size_t n = 1;

	for (; argv[n - 1] && n <= ARGV_MAX; n++)
		full[n] = argv[n - 1];
	full[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	if (out_line) {
		if (pipe(pipefd) < 0)
			return cr_error_set(CR_ESTORAGE, "cannot run git: %s", strerror(errno));
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
		/* A probe: its complaints are ours to word. */
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addclose(&fa, pipefd[0]);
		posix_spawn_file_actions_addclose(&fa, pipefd[1]);
	} else {
		/* git's own report goes where ours does not: stdout stays --json's. */
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
	}
	rc = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)full, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out_line) {
		close(pipefd[1]);
		FILE *in = rc == 0 ? fdopen(pipefd[0], "r") : NULL;
		out_line[0] = '\0';
		if (in) {
			char buf[4096];
			if (fgets(buf, sizeof(buf), in)) {
				size_t k = strcspn(buf, "\n");
				k = k < len - 1 ? k : len - 1;
				memcpy(out_line, buf, k);
				out_line[k] = '\0';
			}
			while (fgets(buf, sizeof(buf), in))
				;
			fclose(in);
		} else {
			close(pipefd[0]);
		}
	}
	if (rc != 0)
		return cr_error_set(CR_ESTORAGE, "cannot run git: %s", strerror(rc));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cr_error_set(CR_ESTORAGE, "cannot wait for git: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int cr_cli_the_remote(const cr_cli *c, const char **out)
{
	const char *r = cr_cli_str(c, "remote");
	char url[1024];
	int rc;

	*out = r ? r : "origin";
	if ((rc = cr_facade_remote_name_check(*out)) < 0)
		return rc;
	const char *argv[] = {"remote", "get-url", *out, NULL};
	if ((rc = git(argv, url, sizeof(url))) < 0)
		return rc;
	if (rc != 0) {
		cr_error_set(CR_EINVALID_ARGUMENT, "no git remote \"%s\"", *out);
		return cr_error_hint("add it (git remote add %s URL) or name another with --remote NAME", *out);
	}
	return 0;
}

/* The refspecs, for NS "clean-release" and "clean-release-demo". */
static void fetch_specs(const char *remote, char specs[3][400])
{
	snprintf(specs[0], 400, "refs/clean-release/*:refs/clean-release-remotes/%s/clean-release/*", remote);
	snprintf(specs[1], 400, "refs/clean-release-demo/*:refs/clean-release-remotes/%s/clean-release-demo/*", remote);
	snprintf(specs[2], 400, "refs/notes/clean-release*:refs/clean-release-remotes/%s/notes/clean-release*", remote);
}

static const char *const push_specs[] = {
	"refs/clean-release/*:refs/clean-release/*",
	"refs/clean-release-demo/*:refs/clean-release-demo/*",
	"refs/notes/clean-release*:refs/notes/clean-release*",
};

/* Refspecs the docs of earlier versions recommended: they force (+), so a
 * plain `git fetch` overwrote local entries not pushed yet. */
static const char *const forcing_specs[] = {
	"+refs/clean-release/*:refs/clean-release/*",
	"+refs/notes/clean-release:refs/notes/clean-release",
	"+refs/clean-release-demo/*:refs/clean-release-demo/*",
	"+refs/notes/clean-release-demo:refs/notes/clean-release-demo",
};

/* `git config --get-all KEY` holds VALUE exactly. */
static int has_value(const char *key, const char *value)
{
	char line[8];
	const char *argv[] = {"config", "--fixed-value", "--get-all", key, value, NULL};
	int rc = git(argv, line, sizeof(line));
	return rc < 0 ? rc : rc == 0;
}

static int config_add(const cr_cli *c, const char *key, const char *value)
{
	int rc = has_value(key, value);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	const char *argv[] = {"config", "--add", key, value, NULL};
	if ((rc = git(argv, NULL, 0)) != 0)
		return rc < 0 ? rc : cr_error_set(CR_ESTORAGE, "git config --add %s failed", key);
	cr_cli_out(c, "added %s %s\n", key, value);
	return 0;
}

static int cmd_remote_setup(cr_cli *c)
{
	const char *remote;
	char key[200], specs[3][400], line[8];
	int rc;

	if ((rc = cr_cli_the_remote(c, &remote)) < 0)
		return rc;
	snprintf(key, sizeof(key), "remote.%s.fetch", remote);
	for (size_t i = 0; i < sizeof(forcing_specs) / sizeof(forcing_specs[0]); i++) {
		if ((rc = has_value(key, forcing_specs[i])) < 0)
			return rc;
		if (rc == 0)
			continue;
		const char *argv[] = {"config", "--fixed-value", "--unset-all", key, forcing_specs[i], NULL};
		if ((rc = git(argv, NULL, 0)) != 0)
			return rc < 0 ? rc : cr_error_set(CR_ESTORAGE, "git config --unset-all %s failed", key);
		cr_cli_out(c, "removed %s %s (it forced: a fetch overwrote local entries)\n", key, forcing_specs[i]);
	}
	fetch_specs(remote, specs);
	for (int i = 0; i < 3; i++)
		if ((rc = config_add(c, key, specs[i])) < 0)
			return rc;
	/* With any remote.<name>.push, a plain `git push` pushes only those:
	 * HEAD first keeps it pushing the current branch. */
	snprintf(key, sizeof(key), "remote.%s.push", remote);
	const char *argv[] = {"config", "--get-all", key, NULL};
	if ((rc = git(argv, line, sizeof(line))) < 0)
		return rc;
	if (rc != 0 && (rc = config_add(c, key, "HEAD")) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(push_specs) / sizeof(push_specs[0]); i++)
		if ((rc = config_add(c, key, push_specs[i])) < 0)
			return rc;
	cr_cli_out(c, "remote %s carries the evidence: git fetch / git push, or git clean-release fetch / push / sync\n",
		   remote);
	return 0;
}

/* Fetch REMOTE's evidence into its remote-tracking refs. */
static int fetch(const cr_cli *c, const char *remote)
{
	char specs[3][400];
	fetch_specs(remote, specs);
	const char *argv[] = {"fetch", "--no-tags", c->quiet ? "-q" : "--no-progress", remote, specs[0], specs[1], specs[2], NULL};
	int rc = git(argv, NULL, 0);
	if (rc > 0) {
		cr_error_set(CR_ECONFLICT, "git fetch %s failed (exit %d)", remote, rc);
		return cr_error_hint("a remote-tracking ref that cannot fast-forward means the remote's evidence was "
				     "rewritten: compare git log refs/clean-release-remotes/%s/ with the remote", remote);
	}
	return rc;
}

/* A progress line: on stdout, or on stderr when stdout is --json's. */
static void note(const cr_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const cr_cli *c, const char *fmt, ...)
{
	va_list ap;
	if (c->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(c->json ? stderr : stdout, fmt, ap);
	va_end(ap);
}

static void say_adopt(const cr_cli *c, const char *ns, const cr_adopt_result *a)
{
	if (a->ledger == CR_ADOPT_ABSENT && a->policy == CR_ADOPT_ABSENT && a->notes == CR_ADOPT_ABSENT)
		return;
	note(c, "%s: ledger %s", ns, cr_facade_adopt_state(a->ledger));
	if (a->commits)
		note(c, " (%llu commits verified)", (unsigned long long)a->commits);
	note(c, ", policy %s, notes %s\n", cr_facade_adopt_state(a->policy), cr_facade_adopt_state(a->notes));
}

int cr_cli_fetch_adopt(cr_cli *c, const char *remote, cr_adopt_result res[2])
{
	int rc;
	if ((rc = fetch(c, remote)) < 0)
		return rc;
	for (int demo = 0; demo < 2; demo++) {
		cr_facade_opts o = {.demo = demo == 1};
		if ((rc = cr_facade_adopt(&o, remote, &res[demo])) < 0)
			return rc;
		say_adopt(c, demo ? "demo" : "real", &res[demo]);
	}
	return 0;
}

static int cmd_fetch(cr_cli *c)
{
	const char *remote;
	cr_adopt_result res[2];
	int rc;

	if ((rc = cr_cli_the_remote(c, &remote)) < 0 || (rc = cr_cli_fetch_adopt(c, remote, res)) < 0)
		return rc;
	for (int demo = 0; demo < 2; demo++)
		if (res[demo].ledger == CR_ADOPT_DIVERGED || res[demo].notes == CR_ADOPT_DIVERGED ||
		    res[demo].policy == CR_ADOPT_DIVERGED)
			fprintf(stderr, "clean-release: the %s evidence here and on %s both moved: git clean-release "
				"sync%s replays the local operations on top of the remote's\n",
				demo ? "demo" : "real", remote, demo ? " --demo" : "");
	return 0;
}

int cr_cli_push_evidence(const cr_cli *c, const char *remote, bool *rejected)
{
	const char *argv[] = {"push", "--atomic", c->quiet ? "-q" : "--no-progress", remote, push_specs[0], push_specs[1],
			      push_specs[2], NULL};
	int rc = git(argv, NULL, 0);
	if (rejected)
		*rejected = rc > 0;
	if (rc > 0 && !rejected) {
		cr_error_set(CR_ECONFLICT, "git push %s was refused (exit %d): nothing was pushed", remote, rc);
		return cr_error_hint("the remote's evidence moved meanwhile: git clean-release sync");
	}
	return rc > 0 ? 0 : rc;
}

static int cmd_push(cr_cli *c)
{
	const char *remote;
	int rc;
	if ((rc = cr_cli_the_remote(c, &remote)) < 0)
		return rc;
	return cr_cli_push_evidence(c, remote, NULL);
}

#define SYNC_ATTEMPTS 5

int cr_cli_sync_with(cr_cli *c, const char *remote)
{
	cr_adopt_result res[2];
	int rc;

	for (int attempt = 1; attempt <= SYNC_ATTEMPTS; attempt++) {
		bool rejected = false;
		if ((rc = cr_cli_fetch_adopt(c, remote, res)) < 0)
			return rc;
		for (int demo = 0; demo < 2; demo++) {
			cr_facade_opts o = {.demo = demo == 1};
			cr_sync_result sr;
			if ((rc = cr_facade_sync_replay(&o, remote, &sr)) < 0)
				return rc;
			if (sr.ledger == CR_ADOPT_DIVERGED)
				note(c, "%s: %zu local commits replayed on %s's ledger: %zu operations replayed, %zu "
					   "recorded REFUSED, %zu run commits dropped, %zu ids renumbered\n",
					   demo ? "demo" : "real", sr.commits, remote, sr.replayed, sr.refused, sr.dropped,
					   sr.renumbered);
		}
		if ((rc = cr_cli_push_evidence(c, remote, &rejected)) < 0)
			return rc;
		if (!rejected) {
			note(c, "in sync with %s\n", remote);
			return 0;
		}
		fprintf(stderr, "clean-release: %s moved meanwhile; fetching again (attempt %d of %d)\n", remote,
			attempt + 1, SYNC_ATTEMPTS);
		usleep((useconds_t)(100000 * attempt + (getpid() % 97) * 1000));
	}
	cr_error_set(CR_ECONFLICT, "%s kept moving: the evidence is not pushed after %d attempts", remote, SYNC_ATTEMPTS);
	return cr_error_hint("run git clean-release sync again; the local operations are kept");
}

static int cmd_sync(cr_cli *c)
{
	const char *remote;
	int rc = cr_cli_the_remote(c, &remote);
	return rc < 0 ? rc : cr_cli_sync_with(c, remote);
}

static const struct cr_cli_command setup_cmds[] = {
	{"setup", cmd_remote_setup, remote_opts, "make plain git fetch / push carry the evidence",
	 "Adds to remote.NAME.fetch the refspecs that fetch the evidence into\n"
	 "refs/clean-release-remotes/NAME/ (never over local refs), and to\n"
	 "remote.NAME.push those that push it (with HEAD first, so that git push still\n"
	 "pushes the current branch). Removes the forcing (+) refspecs older docs gave.", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct cr_cli_command fetch_cmds[] = {
	{NULL, cmd_fetch, remote_opts, "fetch a remote's evidence and take what only adds",
	 "git fetch of every clean-release ref into refs/clean-release-remotes/NAME/,\n"
	 "then each local ref that is absent or behind fast-forwards (the ledger once\n"
	 "what it gains verifies). Local entries not pushed yet are never lost: a\n"
	 "ledger that diverged is left for git clean-release sync.", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct cr_cli_command push_cmds[] = {
	{NULL, cmd_push, remote_opts, "push every clean-release ref, atomically, fast-forward only",
	 "git push --atomic of the ledger, policy and notes refs of both namespaces:\n"
	 "all or none, and only forward (exit 5 when the remote moved: sync first).", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct cr_cli_command sync_cmds[] = {
	{NULL, cmd_sync, remote_opts, "fetch, replay the local operations on the remote's, push",
	 "For a clone whose local appends raced with another's: fetch, replay each local\n"
	 "operation on top of the fetched ledger through its gate again (one the merge\n"
	 "made invalid is recorded REFUSED), renumber the ids, rebuild the status notes\n"
	 "on the fetched ones, push atomically, and start over when the remote moved\n"
	 "meanwhile. Nothing is lost or recorded twice. See docs/distributed.md.", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_remote = {"remote", setup_cmds};
const struct cr_cli_group cr_cli_sync = {"sync", sync_cmds};
const struct cr_cli_group cr_cli_fetch = {"fetch", fetch_cmds};
const struct cr_cli_group cr_cli_push = {"push", push_cmds};
