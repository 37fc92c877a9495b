#ifndef CR_CLI_CLI_H
#define CR_CLI_CLI_H
/*
 * The command-line front end. Each command group is one file exporting a
 * `const struct cr_cli_group` with a static table of commands; each command
 * declares its options in a static array. One generic parser (parse.c) reads
 * those arrays and also prints the usage and help from them, so usage text
 * and parsing cannot drift apart. main.c walks the table of groups.
 *
 * A command function returns an exit status (>= 0: 0, or 1/6 for a BLOCKED
 * or ERROR compliance verdict) or a negative CR_E* code with cr_error_last()
 * set; main.c alone prints the error and maps the code to an exit status.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "api/api.h"
#include "facade/facade.h"
#include "tui/tui.h"

/* Input files the CLI reads itself (--input, --policy, --registry). */
#define CR_CLI_INPUT_MAX ((size_t)10 * 1024 * 1024)
#define CR_CLI_INPUT_MAX_TEXT "10 MiB"
/* Options of one command, at most. */
#define CR_CLI_MAX_OPTS 12
#define CR_CLI_PROG "clean-release"

enum cr_cli_opt_type {
	CR_CLI_STRING = 'S', /* --name VALUE or --name=VALUE */
	CR_CLI_FLAG = 'F',   /* --name */
	CR_CLI_INT = 'I',    /* --name N, a whole number within [min, max] */
	CR_CLI_LIST = 'L',   /* --name VALUE, repeatable (one such option a command) */
};
enum { CR_CLI_OPTIONAL = 0, CR_CLI_REQUIRED = 1 };

struct cr_cli_option {
	const char *name; /* long name without "--"; NULL ends a table */
	char type;        /* enum cr_cli_opt_type */
	bool required;
	const char *arg;  /* value placeholder in usage ("ID"); NULL for flags */
	const char *help;
	long min, max;    /* CR_CLI_INT only */
};

#define CR_OPT_STRING(name, req, arg, help) {name, CR_CLI_STRING, req, arg, help, 0, 0}
#define CR_OPT_FLAG(name, help) {name, CR_CLI_FLAG, false, NULL, help, 0, 0}
#define CR_OPT_INT(name, req, arg, min, max, help) {name, CR_CLI_INT, req, arg, help, min, max}
#define CR_OPT_LIST(name, arg, help) {name, CR_CLI_LIST, false, arg, help, 0, 0}
#define CR_CLI_LIST_MAX 16
#define CR_OPT_END {NULL, 0, false, NULL, NULL, 0, 0}
/* The actor of every state-changing command. */
#define CR_OPT_ACTOR CR_OPT_STRING("actor", CR_CLI_OPTIONAL, "A", \
	"who does it (default: git config user.email)")
/* The page of every paged list (candidate list, audit log, compliance violations). */
#define CR_OPT_LIMIT CR_OPT_INT("limit", CR_CLI_OPTIONAL, "N", 1, CR_PAGE_LIMIT_MAX, \
	"one page of at most N (1-1000; default: everything)")
#define CR_OPT_CURSOR CR_OPT_STRING("cursor", CR_CLI_OPTIONAL, "C", \
	"the page that starts after C, a next_cursor (--limit defaults to 100)")

typedef struct cr_cli cr_cli;
typedef int (*cr_cli_fn)(cr_cli *c);

/* Command flags. */
enum {
	CR_CLI_UNBUILT = 1 << 0, /* listed in the help, refused when run */
	CR_CLI_OWN_ACTOR = 1 << 1, /* --actor is passed on as given: the command has a default of its own */
	CR_CLI_READS = 1 << 2, /* reads only: the repository is opened read-only */
};

struct cr_cli_command {
	const char *name;       /* "register"; NULL for a one-word group ("verify") */
	cr_cli_fn fn;
	const struct cr_cli_option *options; /* ends with CR_OPT_END */
	const char *summary;    /* one line, for the command list */
	const char *description; /* a few lines for `help COMMAND`; may be NULL */
	unsigned flags;
};

struct cr_cli_group {
	const char *name;
	const struct cr_cli_command *commands; /* ends with an entry whose fn is NULL */
};

/* The groups, in help order (defined in their cmd_*.c files). */
extern const struct cr_cli_group cr_cli_candidate;
extern const struct cr_cli_group cr_cli_manifest;
extern const struct cr_cli_group cr_cli_compliance;
extern const struct cr_cli_group cr_cli_release;
extern const struct cr_cli_group cr_cli_policy;
extern const struct cr_cli_group cr_cli_audit;
extern const struct cr_cli_group cr_cli_task;
extern const struct cr_cli_group cr_cli_verify;
extern const struct cr_cli_group cr_cli_repair;
extern const struct cr_cli_group cr_cli_serve;
extern const struct cr_cli_group cr_cli_token;
extern const struct cr_cli_group cr_cli_tui;
extern const struct cr_cli_group cr_cli_hook;
extern const struct cr_cli_group cr_cli_ci;
extern const struct cr_cli_group cr_cli_remote;
extern const struct cr_cli_group cr_cli_fetch;
extern const struct cr_cli_group cr_cli_push;
extern const struct cr_cli_group cr_cli_sync;

/* All groups, NULL-terminated, in help order (groups.c). */
extern const struct cr_cli_group *const cr_cli_groups[];

/* The front ends a program holds beside the CLI (NULL: not this one). The
 * REST server and the terminal client link libraries of their own
 * (libmicrohttpd with GnuTLS, ncurses) that every other command would load
 * at start; each is a program of its own, which the command runs in place
 * of this one (cr_cli_exec_frontend). */
struct cr_cli_frontends {
	int (*serve)(const cr_api_opts *o);
	int (*tui)(const cr_tui_opts *o);
};

/* Run the command line ARGV with the front ends FE; the exit status. */
int cr_cli_main(int argc, char **argv, const struct cr_cli_frontends *fe);

/* One invocation: global options, the command, its parsed option values,
 * the facade (opened by cr_cli_begin) and the resolved actor. */
struct cr_cli {
	const struct cr_cli_frontends *fe;
	int argc;
	char **argv; /* the whole command line, for cr_cli_exec_frontend */
	bool json, quiet, demo;
	const struct cr_cli_group *group;
	const struct cr_cli_command *cmd;
	const char *vals[CR_CLI_MAX_OPTS]; /* by option index; NULL when absent */
	long nums[CR_CLI_MAX_OPTS];
	bool seen[CR_CLI_MAX_OPTS];
	const char *list[CR_CLI_LIST_MAX]; /* the values of the CR_CLI_LIST option */
	size_t nlist;
	cr_facade *f;
	const char *ledger_at; /* read the ledger at this commit (set before cr_cli_begin) */
	const char *policy_root; /* verify: the pinned policy root (set before cr_cli_begin) */
	bool require_signatures; /* verify --require-signatures (set before cr_cli_begin) */
	char actor[1100]; /* 256 characters of UTF-8, at most */
};

/* ---- parse.c: options, usage and help from the tables ---------------- */

/* The global options: before the command; --json, --demo and -q also
 * anywhere after it. One table for main.c's parsing and for the help. */
enum cr_cli_global_id {
	CR_CLI_G_CHDIR = 1, CR_CLI_G_DEMO, CR_CLI_G_JSON, CR_CLI_G_QUIET,
	CR_CLI_G_VERSION, CR_CLI_G_HELP,
};
struct cr_cli_global {
	char short_name;       /* 'C', or 0 */
	const char *long_name; /* "json", or NULL */
	const char *arg;       /* "DIR", or NULL for a flag */
	bool anywhere;         /* also accepted after the command words */
	const char *help;
	enum cr_cli_global_id id;
};
extern const struct cr_cli_global cr_cli_globals[]; /* ends with id 0 */
/* The global option spelled ARG ("-C", "--json", "-q"), or NULL. */
const struct cr_cli_global *cr_cli_global_find(const char *arg);

/* "candidate register" or "verify" into BUF. */
const char *cr_cli_command_name(const struct cr_cli_group *g, const struct cr_cli_command *cmd,
				char *buf, size_t len);
/* Parse ARGV[0..ARGC) as C->cmd's options (plus --json, --demo, -q anywhere).
 * 1 when -h/--help was given (the caller prints the help), 0 when parsed,
 * or CR_EINVALID_ARGUMENT with a one-line message and the usage as hint. */
int cr_cli_parse(cr_cli *c, int argc, char **argv);
/* A global flag valid anywhere on the line (--json, --demo, -q): 1 and set
 * on C when ARG is one, else 0. */
int cr_cli_global_flag(cr_cli *c, const char *arg);
/* Set CR_EINVALID_ARGUMENT with the command's usage as the hint. */
int cr_cli_usage_error(const cr_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void cr_cli_help_all(FILE *out);
void cr_cli_help_group(FILE *out, const struct cr_cli_group *g);
void cr_cli_help_command(FILE *out, const struct cr_cli_group *g, const struct cr_cli_command *cmd);

/* Option values by name (the name must be declared for the command). */
const char *cr_cli_str(const cr_cli *c, const char *name);
/* The values of the repeatable option NAME, in order (*N of them). */
const char *const *cr_cli_list(const cr_cli *c, const char *name, size_t *n);
bool cr_cli_flag(const cr_cli *c, const char *name);
long cr_cli_int(const cr_cli *c, const char *name, long absent);

/* ---- output.c: facade, output, files ----------------------------------- */

/* Open the facade for the namespace and, when the command takes --actor,
 * resolve the actor into C->actor. Call once, after checking arguments and
 * before the operation. */
int cr_cli_begin(cr_cli *c);

/* Print the canonical JSON of DOC and a newline on stdout, then free DOC.
 * DOC NULL (a codec failure with the error set) returns that error. */
int cr_cli_print_json(cJSON *doc);
/* Print a finished error: the message and hint on stderr, and with --json
 * the error document on stdout. Returns the exit status for CODE. */
int cr_cli_report_error(const cr_cli *c, int code);

/* Run the program NAME, which holds the front end this one lacks, with
 * this command line (its -C already applied, so left out), in place of this
 * process. NAME is looked for in ../libexec/clean-release/ from this
 * program's directory, then beside it. Returns only when it cannot be run:
 * CR_ESTORAGE (the installation is incomplete), naming where it looked. */
int cr_cli_exec_frontend(const cr_cli *c, const char *name);

/* The entry of a command listed but not built yet (CR_CLI_UNBUILT): says
 * so plainly, CR_EINVALID_ARGUMENT. */
int cr_cli_not_built(cr_cli *c);

/* printf to stdout unless -q. */
void cr_cli_out(const cr_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read an input file of at most CR_CLI_INPUT_MAX bytes (refused by size
 * before reading) into a malloc'd NUL-terminated buffer. WHAT names the
 * file in messages. */
int cr_cli_read_input(const char *path, const char *what, char **out, size_t *len);
/* The absolute, resolved directory of the file PATH, malloc'd. */
int cr_cli_file_dir(const char *path, char **out);
/* PATH made absolute against the current directory (not resolved), malloc'd. */
int cr_cli_absolute(const char *path, char **out);

/* The first N characters of a hex id followed by "…" when longer. */
const char *cr_cli_abbrev(const char *hex, size_t n, char *buf, size_t len);
/* "1.2 s" or "912 ms". */
const char *cr_cli_duration(uint64_t ms, char *buf, size_t len);
/* S, or "-" when NULL or empty. */
const char *cr_cli_or_dash(const char *s);
/* S with control characters (C0, DEL, C1) shown as '?', truncated to fit
 * BUF: text from artifacts or other users never drives the terminal. */
const char *cr_cli_clean(const char *s, char *buf, size_t len);
/* Print NROWS rows of NCOLS cells (row-major, the first row a header) in
 * aligned columns, unless -q. */
void cr_cli_table(const cr_cli *c, size_t ncols, size_t nrows, const char *const *cells);
/* The page --limit/--cursor ask for: no limit (the whole list) unless one
 * of them is given; --cursor alone pages by CR_PAGE_LIMIT_DEFAULT. */
void cr_cli_page(const cr_cli *c, cr_page_req *out);
/* After a page's text, "next_cursor: NEXT" when there is a next page. */
void cr_cli_next_line(const cr_cli *c, const char *next);
/* Refuse VALUE for --OPT: "unknown --OPT 'VALUE'" with the CHOICES as hint
 * (CR_EINVALID_ARGUMENT). */
int cr_cli_bad_choice(const char *opt, const char *value, const char *choices);

/* ---- cmd_compliance.c: a run's verdict -------------------------------- */

/* The exit status of a finished run: 0 PASSED, 1 BLOCKED, 6 ERROR. */
int cr_cli_verdict_exit(cr_final f);
/* A report's lines (verdict, stages, counts), unless -q. */
void cr_cli_report_lines(const cr_cli *c, const cr_report *r);

/* ---- cmd_remote.c: the evidence between clones ----------------------- */

/* The remote --remote names (default origin), which must exist. */
int cr_cli_the_remote(const cr_cli *c, const char **out);
/* sync with REMOTE: fetch, replay the local operations on its ledger,
 * push; again while the remote moves meanwhile. */
int cr_cli_sync_with(cr_cli *c, const char *remote);
/* git fetch REMOTE's evidence and take what only adds (cr_facade_adopt),
 * for both namespaces: RES[0] real, RES[1] demo. */
int cr_cli_fetch_adopt(cr_cli *c, const char *remote, cr_adopt_result res[2]);
/* git push --atomic of every clean-release ref to REMOTE, fast-forward
 * only. REJECTED NULL: a refused push is CR_ECONFLICT; else *REJECTED says
 * whether it was refused (and 0 is returned). */
int cr_cli_push_evidence(const cr_cli *c, const char *remote, bool *rejected);

#endif
