/* clean-release serve: the REST API (schemas/clean-release-api.openapi.yaml),
 * served by the api front end (src/api/) in the program clean-release-serve. */
#include <stdio.h>
#include <unistd.h>
#include "api/api.h"
#include "cli/cli.h"
#include "util/error.h"
#include <version.h> /* generated in the build dir: build/gen/version.h */
#ifndef CR_VERSION
#define CR_VERSION "unknown"
#endif

static const struct cr_cli_option serve_opts[] = {
	CR_OPT_STRING("listen", CR_CLI_OPTIONAL, "ADDR:PORT",
		      "where to listen (default 127.0.0.1:8080; [::1]:8080 for IPv6; port 0: any free one)"),
	CR_OPT_STRING("tokens", CR_CLI_OPTIONAL, "FILE",
		      "bearer tokens, lines \"<sha256 of the token> <actor> <role>\" (without: loopback only)"),
	CR_OPT_LIST("artifact-root", "DIR", "imports may read beneath DIR only (repeatable; default: the work tree)"),
	CR_OPT_INT("threads", CR_CLI_OPTIONAL, "N", 1, 256, "request threads (default: online CPUs)"),
	CR_OPT_INT("timeout", CR_CLI_OPTIONAL, "S", 1, 3600, "close a connection idle or slower than S seconds (default 30)"),
	CR_OPT_INT("max-connections", CR_CLI_OPTIONAL, "N", 1, 65536, "connections at once (default 256)"),
	CR_OPT_STRING("actor", CR_CLI_OPTIONAL, "A", "without --tokens: who writes (default: git config user.email)"),
	CR_OPT_END,
};

static int cmd_serve(cr_cli *c)
{
	size_t nroots = 0;
	const char *const *roots = cr_cli_list(c, "artifact-root", &nroots);
	cr_api_opts o = {
		.demo = c->demo,
		.listen = cr_cli_str(c, "listen"),
		.tokens_path = cr_cli_str(c, "tokens"),
		.actor = cr_cli_str(c, "actor"),
		.roots = roots,
		.nroots = nroots,
		.threads = (unsigned)cr_cli_int(c, "threads", 0),
		.timeout_s = (unsigned)cr_cli_int(c, "timeout", 30),
		.max_connections = (unsigned)cr_cli_int(c, "max-connections", 256),
		.reap_s = 5,
		.version = CR_VERSION,
		.log = stderr,
	};

	if (o.tokens_path && o.actor)
		return cr_error_set(CR_EINVALID_ARGUMENT, "--actor is for a server without tokens: with --tokens, "
				    "each token names its actor");
	if (!c->fe->serve)
		return cr_cli_exec_frontend(c, "clean-release-serve");
	setvbuf(stderr, NULL, _IOLBF, 0); /* one access-log line a write */
	return c->fe->serve(&o);
}

static const struct cr_cli_command commands[] = {
	{NULL, cmd_serve, serve_opts, "serve the REST API",
	 "Answers " "/api/clean-release/..." " as schemas/clean-release-api.openapi.yaml says, until SIGTERM\n"
	 "or SIGINT. Without --tokens it listens on loopback only and acts as --actor\n"
	 "with role approver; with them, each request names its token. See docs/api.md.",
	 CR_CLI_OWN_ACTOR},
	{NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cr_cli_group cr_cli_serve = {"serve", commands};
