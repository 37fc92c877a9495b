/*
 * Ledger commits signed as git signs commits: from git's configuration as
 * git reads it (gpg.format, user.signingKey, gpg.ssh.program; git -c
 * included, config_env.c), by running the program git runs
 * (`ssh-keygen -Y sign -n git`), the signature in the commit's gpgsig
 * header, so that `git log --show-signature` and `git verify-commit`
 * understand it. SSH signatures only: gpg.format openpgp (git's default,
 * when no format is set but a key is) is refused with what to set.
 * The program is started with posix_spawn, never a fork of the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "adapters/git/ledger_internal.h"

extern char **environ;

static int config_string(git_repository *repo, const char *key, bool path, char *out, size_t len)
{
	git_config *cfg = NULL;
	git_buf b = {0};
	int rc = CR_ENOT_FOUND;

	out[0] = '\0';
	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    (path ? git_config_get_path(&b, cfg, key) : git_config_get_string_buf(&b, cfg, key)) == 0 && b.ptr &&
	    b.ptr[0]) {
		snprintf(out, len, "%s", b.ptr);
		rc = 0;
	}
	git_buf_dispose(&b);
	git_config_free(cfg);
	git_error_clear();
	return rc;
}

bool cr_git_sign_all(git_repository *repo)
{
	git_config *cfg = NULL;
	int v = 0;
	if (git_repository_config_snapshot(&cfg, repo) == 0 && git_config_get_bool(&v, cfg, "cleanrelease.signall") < 0)
		v = 0;
	git_config_free(cfg);
	git_error_clear();
	return v != 0;
}

/* Run PROG ARGV with IN on its stdin; *OUT (malloc'd) gets its stdout. The
 * exit status, or a negative error when it could not run. */
static int run(const char *const *argv, const char *in, size_t inlen, char **out, size_t *outlen)
{
	int ip[2] = {-1, -1}, op[2] = {-1, -1}, status = 0, rc;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char *buf = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	if (pipe2(ip, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0) {
		rc = cr_error_set(CR_ESTORAGE, "cannot run %s: %s", argv[0], strerror(errno));
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ip[0], 0);
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(ip[0]);
	close(op[1]);
	ip[0] = op[1] = -1;
	if (rc != 0) {
		rc = cr_error_set(CR_ESTORAGE, "cannot run %s: %s", argv[0], strerror(rc));
		goto done;
	}
	/* The data is small (a commit), and the signer reads it all first. */
	for (size_t w = 0; w < inlen;) {
		ssize_t k = write(ip[1], in + w, inlen - w);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		w += (size_t)k;
	}
	close(ip[1]);
	ip[1] = -1;
	for (;;) {
		if (n + 4096 > cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!p)
				break;
			buf = p;
		}
		ssize_t k = read(op[0], buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (buf)
		buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (outlen)
		*outlen = n;
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
done:
	for (int i = 0; i < 2; i++) {
		if (ip[i] >= 0)
			close(ip[i]);
		if (op[i] >= 0)
			close(op[i]);
	}
	free(buf);
	return rc;
}

/* "type base64" of an OpenSSH public key line (the comment dropped). */
static int pubkey_of_line(const char *line, char *out, size_t len)
{
	char type[64], b64[8192];
	if (sscanf(line, "%63s %8191s", type, b64) != 2 ||
	    (strncmp(type, "ssh-", 4) && strncmp(type, "ecdsa-", 6) && strncmp(type, "sk-", 3)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "user.signingKey is not an SSH public key");
	snprintf(out, len, "%s %s", type, b64);
	return 0;
}

/* The configured key: *KEYFILE the file ssh-keygen signs with ("" for a
 * literal key:: held by the agent), OUT its public key. */
static int signing_key(git_repository *repo, char *keyfile, size_t klen, char *out, size_t len)
{
	char fmt[32], key[4096], prog[1024];

	keyfile[0] = '\0';
	if (config_string(repo, "user.signingkey", false, key, sizeof(key)) < 0)
		return cr_error_set(CR_ENOT_FOUND, "no signing key is configured (git config user.signingKey)");
	if (config_string(repo, "gpg.format", false, fmt, sizeof(fmt)) < 0 || strcmp(fmt, "ssh")) {
		cr_error_set(CR_EINVALID_ARGUMENT, "gpg.format is %s: clean-release signs with SSH keys only",
			     fmt[0] ? fmt : "unset (openpgp)");
		return cr_error_hint("git config gpg.format ssh");
	}
	if (!strncmp(key, "key::", 5))
		return pubkey_of_line(key + 5, out, len);
	if (config_string(repo, "user.signingkey", true, key, sizeof(key)) < 0)
		return cr_error_set(CR_ENOT_FOUND, "no signing key is configured (git config user.signingKey)");
	snprintf(keyfile, klen, "%s", key);
	/* A public key file (the agent signs), the private key's .pub, or ssh-keygen -y. */
	char pubpath[4200], line[8192];
	FILE *f = fopen(key, "r");
	if (f && fgets(line, sizeof(line), f) && (!strncmp(line, "ssh-", 4) || !strncmp(line, "ecdsa-", 6) ||
						  !strncmp(line, "sk-", 3))) {
		fclose(f);
		return pubkey_of_line(line, out, len);
	}
	if (f)
		fclose(f);
	else
		return cr_error_set(CR_EINVALID_ARGUMENT, "user.signingKey %.1000s: %s", key, strerror(errno));
	snprintf(pubpath, sizeof(pubpath), "%s.pub", key);
	if ((f = fopen(pubpath, "r"))) {
		int ok = fgets(line, sizeof(line), f) != NULL;
		fclose(f);
		if (ok)
			return pubkey_of_line(line, out, len);
	}
	char *pub = NULL;
	if (config_string(repo, "gpg.ssh.program", false, prog, sizeof(prog)) < 0)
		snprintf(prog, sizeof(prog), "ssh-keygen");
	const char *argv[] = {prog, "-y", "-f", key, NULL};
	int rc = run(argv, "", 0, &pub, NULL);
	if (rc == 0 && pub)
		rc = pubkey_of_line(pub, out, len);
	else if (rc >= 0)
		rc = cr_error_set(CR_EINVALID_ARGUMENT, "cannot read the public key of user.signingKey %.1000s", key);
	free(pub);
	return rc;
}

int cr_git_signing_pubkey(git_repository *repo, char *out, size_t len)
{
	char keyfile[4096];
	return signing_key(repo, keyfile, sizeof(keyfile), out, len);
}

int cr_git_sign_buffer(git_repository *repo, const char *buf, size_t len, char **sig)
{
	char keyfile[4300], pub[8300], prog[1024], tmp[4200];
	bool literal;
	int rc;

	*sig = NULL;
	if ((rc = signing_key(repo, keyfile, sizeof(keyfile), pub, sizeof(pub))) < 0)
		return rc;
	if (config_string(repo, "gpg.ssh.program", false, prog, sizeof(prog)) < 0)
		snprintf(prog, sizeof(prog), "ssh-keygen");
	literal = !keyfile[0];
	if (literal) { /* key:: — the agent holds it; ssh-keygen wants a file naming it */
		const char *dir = getenv("TMPDIR");
		snprintf(tmp, sizeof(tmp), "%s/clean-release-key-XXXXXX", dir && dir[0] ? dir : "/tmp");
		int fd = mkstemp(tmp);
		if (fd < 0)
			return cr_error_set(CR_ESTORAGE, "cannot write the signing key's file: %s", strerror(errno));
		dprintf(fd, "%s\n", pub);
		close(fd);
		snprintf(keyfile, sizeof(keyfile), "%s", tmp);
	}
	const char *argv[] = {prog, "-Y", "sign", "-n", "git", "-f", keyfile, literal ? "-U" : NULL, NULL};
	char *out = NULL;
	size_t n = 0;
	rc = run(argv, buf, len, &out, &n);
	if (literal)
		unlink(tmp);
	if (rc == 0 && out && strstr(out, "-----BEGIN SSH SIGNATURE-----")) {
		*sig = out;
		return 0;
	}
	free(out);
	if (rc >= 0) {
		cr_error_set(CR_EGATE_REFUSED, "%s -Y sign failed (exit %d) with user.signingKey %.1000s", prog, rc,
			     literal ? "key::…" : keyfile);
		rc = cr_error_hint("check the key (a passphrase needs ssh-agent) with: echo x | ssh-keygen -Y sign -n git -f KEY");
	}
	return rc;
}
