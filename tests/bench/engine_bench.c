/* Micro benchmark of the engine alone: every regular file under CORPUS_DIR
 * checked against the bench policy (rules-to-policy.py's policy.json and
 * registry.json), with one scanner per process. Prints files, bytes,
 * matches and matching lines per rule, and MB/s. Not run by make test.
 *
 *   engine_bench [-r RUNS] [-j PROCS] [--pcre2-only] [--all-hosts]
 *                [--policy DIR] [--lines-of RULE] CORPUS_DIR
 *
 * --all-hosts empties allowed_hosts, so that the endpoint rule reports
 * every URL (to compare with `rg -o`). --lines-of prints, on stderr, the
 * files RULE matches and its matching lines in each, as `rg -c` does. The first run records each file's
 * digest and size, so the timed runs see a consistent manifest. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "domain/codec.h"
#include "engine/engine.h"
#include "util/error.h"
#include "util/fs.h"

#define MAX_RULES 64

typedef struct counts {
	uint64_t matches[MAX_RULES + 1]; /* per policy rule; [MAX_RULES]: builtin */
	uint64_t lines[MAX_RULES + 1];
	uint64_t files_with[MAX_RULES + 1];
	uint64_t stage_errors;
	uint64_t bytes;
	uint64_t next; /* shared work queue: next file index */
} counts;

typedef struct file_ctx {
	const cr_policy *p;
	int dump_rule;     /* --lines-of: print this rule's matching lines per file */
	uint64_t dump_lines;
	counts *c;
	int last_rule;
	uint64_t last_line;
	bool seen[MAX_RULES + 1];
} file_ctx;

static char **paths;
static int dump_rule = -1;
static size_t npaths, cappaths;
static size_t prefix_len;

static int add_path(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	if (npaths == cappaths) {
		cappaths = cappaths ? cappaths * 2 : 1024;
		paths = realloc(paths, cappaths * sizeof(*paths));
		if (!paths)
			return -1;
	}
	paths[npaths++] = strdup(path + prefix_len);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int on_finding(const cr_finding *f, void *ctx)
{
	file_ctx *fc = ctx;
	int idx = MAX_RULES;

	for (size_t i = 0; i < fc->p->rule_count && i < MAX_RULES; i++)
		if (strcmp(fc->p->rules[i].id, f->rule_id) == 0)
			idx = (int)i;
	fc->c->matches[idx]++;
	if (f->has_location && (idx != fc->last_rule || f->location.line != fc->last_line)) {
		fc->c->lines[idx]++; /* findings of a rule come in line order */
		if (idx == fc->dump_rule)
			fc->dump_lines++;
	}
	fc->last_rule = idx;
	fc->last_line = f->has_location ? f->location.line : 0;
	if (!fc->seen[idx]) {
		fc->seen[idx] = true;
		fc->c->files_with[idx]++;
	}
	return 0;
}

static int load_json(const char *path, cJSON **out)
{
	char *text = NULL;
	size_t len = 0;
	int rc = cr_fs_read_all(path, 64 << 20, &text, &len);
	if (rc < 0)
		return rc;
	*out = cJSON_ParseWithLength(text, len);
	free(text);
	if (!*out)
		return cr_error_set(CR_EINVALID_INPUT, "%s: not JSON", path);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Check files from the shared queue until it is empty. */
static int work(const cr_rules *rules, const cr_policy *p, int root_fd, cr_artifact *arts, counts *c,
		bool record)
{
	cr_scanner *s = NULL;
	int rc = cr_scanner_new(&s, rules);

	if (rc < 0)
		return rc;
	for (;;) {
		uint64_t i = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
		file_ctx fc;
		cr_outcome out;
		if (i >= npaths)
			break;
		memset(&fc, 0, sizeof(fc));
		fc.p = p;
		fc.c = c;
		fc.last_rule = -1;
		fc.dump_rule = record ? dump_rule : -1;
		rc = cr_engine_check(s, root_fd, &arts[i], on_finding, &fc, &out);
		if (rc != 0)
			break;
		if (fc.dump_lines)
			fprintf(stderr, "%s:%" PRIu64 "\n", arts[i].path, fc.dump_lines);
		__atomic_fetch_add(&c->bytes, out.size, __ATOMIC_RELAXED);
		for (int st = 0; st < CR_STAGE__COUNT; st++)
			if (out.stage_error[st])
				__atomic_fetch_add(&c->stage_errors, 1, __ATOMIC_RELAXED);
		if (record) {
			memcpy(arts[i].sha256, out.sha256, sizeof(out.sha256));
			arts[i].size = out.size;
		}
	}
	cr_scanner_free(s);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *policy_dir = "/tmp/cr-bench/policy", *corpus = NULL;
	int runs = 3, procs = 1, root_fd, rc;
	unsigned flags = 0;
	bool all_hosts = false;
	const char *dump_id = NULL;
	size_t host_count;
	char path[4096];
	cJSON *pj = NULL, *rj = NULL;
	cr_policy policy;
	cr_registry registry;
	cr_rules *rules = NULL;
	cr_artifact *arts;
	counts *c;
	double t0, times[64], compile_s;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc)
			runs = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-j") && i + 1 < argc)
			procs = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--pcre2-only"))
			flags |= CR_RULES_PCRE2_ONLY;
		else if (!strcmp(argv[i], "--all-hosts"))
			all_hosts = true;
		else if (!strcmp(argv[i], "--policy") && i + 1 < argc)
			policy_dir = argv[++i];
		else if (!strcmp(argv[i], "--lines-of") && i + 1 < argc)
			dump_id = argv[++i];
		else
			corpus = argv[i];
	}
	if (!corpus || runs < 1 || runs > 63 || procs < 1) {
		fprintf(stderr, "usage: engine_bench [-r RUNS] [-j PROCS] [--pcre2-only] [--all-hosts] "
				"[--policy DIR] [--lines-of RULE] CORPUS_DIR\n");
		return 2;
	}
	memset(&policy, 0, sizeof(policy));
	memset(&registry, 0, sizeof(registry));
	snprintf(path, sizeof(path), "%s/policy.json", policy_dir);
	if (load_json(path, &pj) < 0 || cr_policy_from_json(pj, &policy) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/registry.json", policy_dir);
	if (load_json(path, &rj) < 0 || cr_registry_from_json(rj, &registry) < 0)
		goto fail;
	host_count = registry.host_count;
	if (all_hosts)
		registry.host_count = 0;
	for (size_t i = 0; dump_id && i < policy.rule_count; i++)
		if (!strcmp(policy.rules[i].id, dump_id))
			dump_rule = (int)i;
	if (policy.rule_count > MAX_RULES) {
		fprintf(stderr, "engine_bench: at most %d rules\n", MAX_RULES);
		return 2;
	}
	t0 = now_s();
	if (cr_rules_check_policy(&policy) < 0 || cr_rules_compile_ex(&rules, &policy, &registry, flags) < 0)
		goto fail;
	compile_s = now_s() - t0;

	/* A corpus of build-corpus.sh: only its dist/ (not artifacts.json…). */
	prefix_len = strlen(corpus) + 1;
	snprintf(path, sizeof(path), "%s/dist", corpus);
	if (access(path, F_OK) != 0)
		snprintf(path, sizeof(path), "%s", corpus);
	if (nftw(path, add_path, 64, FTW_PHYS) != 0) {
		fprintf(stderr, "engine_bench: cannot walk %s: %s\n", corpus, strerror(errno));
		return 1;
	}
	qsort(paths, npaths, sizeof(*paths), cmp_str);
	arts = calloc(npaths, sizeof(*arts));
	for (size_t i = 0; i < npaths; i++) {
		arts[i].path = paths[i];
		arts[i].source = (char *)"npm:bench";
	}
	root_fd = open(corpus, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		fprintf(stderr, "engine_bench: %s: %s\n", corpus, strerror(errno));
		return 1;
	}
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return 1;

	/* Run 0 records digests and sizes (untimed warm-up); runs 1..RUNS are timed. */
	for (int run = 0; run <= runs; run++) {
		memset(c, 0, sizeof(*c));
		t0 = now_s();
		if (procs == 1 || run == 0) {
			rc = work(rules, &policy, root_fd, arts, c, run == 0);
			if (rc != 0)
				goto fail;
		} else {
			for (int k = 0; k < procs; k++) {
				pid_t pid = fork();
				if (pid == 0)
					_exit(work(rules, &policy, root_fd, arts, c, false) == 0 ? 0 : 1);
			}
			for (int k = 0; k < procs; k++) {
				int st = 0;
				if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					fprintf(stderr, "engine_bench: a worker failed\n");
					return 1;
				}
			}
		}
		if (run > 0)
			times[run - 1] = now_s() - t0;
	}
	qsort(times, (size_t)runs, sizeof(double), cmp_double);

	printf("corpus %s: %zu files, %" PRIu64 " bytes; %d process%s; prefilter %s; rules compiled in %.1f ms\n",
	       corpus, npaths, c->bytes, procs, procs == 1 ? "" : "es",
	       (flags & CR_RULES_PCRE2_ONLY) ? "off (PCRE2 only)" : "on", compile_s * 1e3);
	printf("%-24s %10s %10s %8s %s\n", "rule", "matches", "lines", "files", "prefiltered");
	for (size_t i = 0; i < policy.rule_count; i++)
		printf("%-24s %10" PRIu64 " %10" PRIu64 " %8" PRIu64 " %s\n", policy.rules[i].id, c->matches[i],
		       c->lines[i], c->files_with[i],
		       policy.rules[i].matcher == CR_MATCH_PATH ? "-"
		       : cr_rules_prefiltered(rules, policy.rules[i].id) ? "yes" : "no");
	printf("%-24s %10" PRIu64 "\n", "builtin:*", c->matches[MAX_RULES]);
	printf("stage errors: %" PRIu64 "\n", c->stage_errors);
	printf("time: min %.3f s, median %.3f s over %d runs; %.1f MB/s at the min, %.1f MB/s at the median\n",
	       times[0], times[runs / 2], runs, (double)c->bytes / times[0] / 1e6,
	       (double)c->bytes / times[runs / 2] / 1e6);
	cr_rules_free(rules);
	registry.host_count = host_count;
	cr_policy_clear(&policy);
	cr_registry_clear(&registry);
	cJSON_Delete(pj);
	cJSON_Delete(rj);
	return 0;
fail:
	fprintf(stderr, "engine_bench: %s\n", cr_error_last()->message);
	return 1;
}
