/* Ledger benchmark: candidate register (one ledger append) through the
 * facade, in-process, on a repository grown to N candidates; and the
 * facade's candidate show / list at that size. Built and run by
 * contrib/bench/bench.sh (make bench); not run by make test.
 *
 *   ledger_bench grow   REPO N [--snapshot REV | --commits FILE]
 *       registers cand-000001 .. cand-N (prints the time it took)
 *   ledger_bench append REPO FIRST COUNT [--snapshot REV | --commits FILE]
 *       registers cand-FIRST .. cand-(FIRST+COUNT-1), one at a time, timing
 *       each cr_facade_candidate_register call with CLOCK_MONOTONIC, and
 *       measuring what each wrote: the loose object files that appeared
 *       under .git/objects (their sizes on disk, zlib), the raw object
 *       sizes, and how much of it is the ledger commit and how much the
 *       status note (refs/notes/clean-release). The repository is used as
 *       grown (clean-release, through libgit2, never packs).
 *   ledger_bench query  REPO CANDIDATE_ID RUNS
 *       times cr_facade_candidate_show and cr_facade_candidate_list (each
 *       followed by the JSON serialization the CLI's --json does), with the
 *       facade opened once, and show again with open + show + close.
 *   ledger_bench passed REPO N ARTIFACTS_JSON
 *       takes rel-000001 .. rel-N through register, import (ARTIFACTS_JSON,
 *       relative to its directory), manifest build and an attached run
 *       (one worker) to CHECK_PASSED (prints the time it took)
 *   ledger_bench approve REPO N
 *       approves rel-000001 .. rel-N on their reports, timing each
 *       cr_facade_release_approve call (signed or not, as the repository's
 *       policy and git configuration say)
 *   ledger_bench startup REPO CANDIDATE_ID
 *       what a fresh process pays before and for one show: the first
 *       git_libgit2_init() (with Debian's mbedTLS build it parses the system
 *       CA bundle), cr_facade_open, cr_facade_candidate_show + JSON.
 *
 * --snapshot REV: every candidate from REV (default HEAD).
 * --commits FILE: candidate i from line i of FILE (a commit id a line,
 * wrapping around), as when every candidate is its own commit.
 * Prints one JSON object on stdout; progress on stderr. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <git2.h>
#include "facade/dto.h"
#include "facade/facade.h"
#include "util/error.h"

#define ACTOR "bench@example.invalid"

static char **commits;
static size_t ncommits;
static const char *snapshot = "HEAD";

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	const cr_error *e = cr_error_last();
	fprintf(stderr, "ledger_bench: %s: %s (code %d)\n", what, e->message, e->code);
	exit(1);
}

static void load_commits(const char *file)
{
	FILE *fp = fopen(file, "r");
	char line[256];
	size_t cap = 0;

	if (!fp) {
		perror(file);
		exit(1);
	}
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0])
			continue;
		if (ncommits == cap) {
			cap = cap ? cap * 2 : 1024;
			commits = realloc(commits, cap * sizeof(*commits));
		}
		commits[ncommits++] = strdup(line);
	}
	fclose(fp);
	if (!ncommits) {
		fprintf(stderr, "ledger_bench: %s has no commit ids\n", file);
		exit(1);
	}
}

static const char *snapshot_of(uint64_t i)
{
	return ncommits ? commits[(i - 1) % ncommits] : snapshot;
}

static int register_one(cr_facade *f, uint64_t i)
{
	char cid[64], ver[64];
	cr_candidate_view v;
	int rc;

	memset(&v, 0, sizeof(v));
	snprintf(cid, sizeof(cid), "cand-%06" PRIu64, i);
	snprintf(ver, sizeof(ver), "1.0.%" PRIu64, i);
	rc = cr_facade_candidate_register(f, cid, ver, snapshot_of(i), ACTOR, &v);
	cr_candidate_view_clear(&v);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted V (as anchors.sh computes it). */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1];
}

static double median(const uint64_t *v, size_t n)
{
	return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
}

/* ---- loose objects ---------------------------------------------------- */

typedef struct loose {
	char (*names)[41]; /* hex ids */
	size_t n, cap;
} loose;

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The names of the loose objects (readdir only: a repository grown by
 * clean-release holds ~17 loose objects per candidate). */
static void loose_scan(const char *objdir, loose *out)
{
	char path[4096];

	out->n = 0;
	for (int d = 0; d < 256; d++) {
		DIR *dir;
		struct dirent *e;
		snprintf(path, sizeof(path), "%s/%02x", objdir, d);
		if (!(dir = opendir(path)))
			continue;
		while ((e = readdir(dir))) {
			if (strlen(e->d_name) != 38 || e->d_name[0] == '.')
				continue;
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 4096;
				out->names = realloc(out->names, out->cap * sizeof(*out->names));
			}
			snprintf(out->names[out->n], 41, "%02x%s", d, e->d_name);
			out->n++;
		}
		closedir(dir);
	}
}

static uint64_t loose_size(const char *objdir, const char *hex)
{
	char fp[4200];
	struct stat st;

	snprintf(fp, sizeof(fp), "%s/%.2s/%s", objdir, hex, hex + 2);
	return stat(fp, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static bool in_set(char (*set)[41], size_t n, const char *hex)
{
	return bsearch(hex, set, n, sizeof(*set), cmp_name) != NULL;
}

/* Marks (in MARK, parallel to NEW) every new object reachable from TREE
 * through new trees only: what the ledger commit added. */
static void mark_tree(git_repository *repo, const git_oid *tree_id, char (*nw)[41], size_t n, bool *mark)
{
	char hex[41];
	git_tree *t = NULL;
	char(*hit)[41];

	git_oid_tostr(hex, sizeof(hex), tree_id);
	if (!(hit = bsearch(hex, nw, n, sizeof(*nw), cmp_name)))
		return;
	mark[hit - nw] = true;
	if (git_tree_lookup(&t, repo, tree_id) < 0)
		return;
	for (size_t i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			mark_tree(repo, git_tree_entry_id(e), nw, n, mark);
		} else {
			git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
			char(*b)[41] = bsearch(hex, nw, n, sizeof(*nw), cmp_name);
			if (b)
				mark[b - nw] = true;
		}
	}
	git_tree_free(t);
}

/* ---- modes ------------------------------------------------------------ */

static cr_facade *open_repo(const char *repo)
{
	cr_facade *f = NULL;
	cr_facade_opts o = {0};

	if (chdir(repo) < 0) {
		perror(repo);
		exit(1);
	}
	if (cr_facade_open(&f, &o) < 0)
		die("cannot open the repository");
	return f;
}

static int mode_grow(const char *repo, uint64_t n)
{
	cr_facade *f = open_repo(repo);
	uint64_t t0 = now_ns(), tl = t0;

	for (uint64_t i = 1; i <= n; i++) {
		if (register_one(f, i) < 0)
			die("register");
		if (i % 1000 == 0) {
			uint64_t t = now_ns();
			fprintf(stderr, "ledger_bench: grown to %" PRIu64 " (%.1f s; last 1000: %.2f ms/append)\n", i,
				(double)(t - t0) / 1e9, (double)(t - tl) / 1e6 / 1000.0);
			tl = t;
		}
	}
	printf("{\"grown\": %" PRIu64 ", \"seconds\": %.3f}\n", n, (double)(now_ns() - t0) / 1e9);
	cr_facade_close(f);
	return 0;
}

static int mode_append(const char *repo, uint64_t first, uint64_t count)
{
	cr_facade *f = open_repo(repo);
	git_repository *grepo = NULL;
	loose before = {0}, after = {0};
	uint64_t *ns = calloc(count, sizeof(*ns)), *lb = calloc(count, sizeof(*lb)),
		 *rb = calloc(count, sizeof(*rb)), *ledger_lb = calloc(count, sizeof(*ledger_lb)),
		 *ledger_rb = calloc(count, sizeof(*ledger_rb)), *nobj = calloc(count, sizeof(*nobj));
	char objdir[4096];
	git_odb *odb = NULL;

	if (git_repository_open_ext(&grepo, ".", 0, NULL) < 0 || git_repository_odb(&odb, grepo) < 0) {
		fprintf(stderr, "ledger_bench: cannot open %s with libgit2\n", repo);
		return 1;
	}
	snprintf(objdir, sizeof(objdir), "%s/objects", git_repository_path(grepo));
	loose_scan(objdir, &before);
	qsort(before.names, before.n, sizeof(*before.names), cmp_name);
	for (uint64_t k = 0; k < count; k++) {
		uint64_t t0 = now_ns();
		if (register_one(f, first + k) < 0)
			die("register");
		ns[k] = now_ns() - t0;

		loose_scan(objdir, &after);
		/* after.names is scanned in directory order; sort by name with sizes. */
		char(*nw)[41] = malloc((after.n + 1) * sizeof(*nw));
		uint64_t *nwsz = malloc((after.n + 1) * sizeof(*nwsz));
		size_t m = 0;
		for (size_t i = 0; i < after.n; i++)
			if (!in_set(before.names, before.n, after.names[i])) {
				memcpy(nw[m], after.names[i], 41);
				nwsz[m] = loose_size(objdir, nw[m]);
				m++;
			}
		/* sort the new names with their sizes (small: insertion sort) */
		for (size_t i = 1; i < m; i++)
			for (size_t j = i; j > 0 && strcmp(nw[j - 1], nw[j]) > 0; j--) {
				char tmp[41];
				uint64_t ts = nwsz[j];
				memcpy(tmp, nw[j], 41);
				memcpy(nw[j], nw[j - 1], 41);
				memcpy(nw[j - 1], tmp, 41);
				nwsz[j] = nwsz[j - 1];
				nwsz[j - 1] = ts;
			}
		bool *mark = calloc(m + 1, sizeof(*mark));
		git_oid tip;
		git_commit *c = NULL;
		if (git_reference_name_to_id(&tip, grepo, "refs/clean-release/ledger") == 0 &&
		    git_commit_lookup(&c, grepo, &tip) == 0) {
			char hex[41];
			git_oid_tostr(hex, sizeof(hex), &tip);
			char(*hit)[41] = bsearch(hex, nw, m, sizeof(*nw), cmp_name);
			if (hit)
				mark[hit - nw] = true;
			mark_tree(grepo, git_commit_tree_id(c), nw, m, mark);
			git_commit_free(c);
		}
		for (size_t i = 0; i < m; i++) {
			git_oid id;
			size_t sz = 0;
			git_object_t type;
			git_oid_fromstr(&id, nw[i]);
			if (git_odb_read_header(&sz, &type, odb, &id) < 0)
				sz = 0;
			lb[k] += nwsz[i];
			rb[k] += sz;
			if (mark[i]) {
				ledger_lb[k] += nwsz[i];
				ledger_rb[k] += sz;
			}
		}
		nobj[k] = m;
		free(mark);
		free(nw);
		free(nwsz);
		/* the new state is the next "before" */
		loose tmp = before;
		before = after;
		after = tmp;
		qsort(before.names, before.n, sizeof(*before.names), cmp_name);
	}
	uint64_t *s = malloc(count * sizeof(*s));
	printf("{\"first\": %" PRIu64 ", \"appends\": %" PRIu64, first, count);
	struct {
		const char *name;
		uint64_t *v;
		double div;
	} series[] = {
		{"ms", ns, 1e6},
		{"loose_bytes", lb, 1},
		{"raw_bytes", rb, 1},
		{"ledger_loose_bytes", ledger_lb, 1},
		{"ledger_raw_bytes", ledger_rb, 1},
		{"objects", nobj, 1},
	};
	for (size_t j = 0; j < sizeof(series) / sizeof(series[0]); j++) {
		memcpy(s, series[j].v, count * sizeof(*s));
		qsort(s, count, sizeof(*s), cmp_u64);
		double sum = 0;
		for (uint64_t k = 0; k < count; k++)
			sum += (double)s[k];
		printf(", \"%s\": {\"min\": %.3f, \"median\": %.3f, \"p90\": %.3f, \"max\": %.3f, \"mean\": %.3f}",
		       series[j].name, (double)s[0] / series[j].div, median(s, count) / series[j].div,
		       (double)pct(s, count, 90) / series[j].div, (double)s[count - 1] / series[j].div,
		       sum / (double)count / series[j].div);
	}
	printf(", \"ms_all\": [");
	for (uint64_t k = 0; k < count; k++)
		printf("%s%.3f", k ? ", " : "", (double)ns[k] / 1e6);
	printf("]}\n");
	free(s);
	git_odb_free(odb);
	git_repository_free(grepo);
	cr_facade_close(f);
	return 0;
}

static void stats_json(const char *name, uint64_t *v, size_t n, int comma)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("%s\"%s\": {\"min_ms\": %.3f, \"median_ms\": %.3f, \"p90_ms\": %.3f}", comma ? ", " : "", name,
	       (double)v[0] / 1e6, median(v, n) / 1e6, (double)pct(v, n, 90) / 1e6);
}

static int mode_query(const char *repo, const char *cid, size_t runs)
{
	cr_facade *f = open_repo(repo);
	uint64_t *show = calloc(runs, sizeof(uint64_t)), *list = calloc(runs, sizeof(uint64_t)),
		 *open_show = calloc(runs, sizeof(uint64_t));
	size_t listed = 0;

	/* show alone, then list alone (a list loads every candidate, and would
	 * change what the next show finds in libgit2's caches), then show in a
	 * freshly opened facade each time. */
	for (size_t r = 0; r < runs; r++) {
		cr_candidate_view v;
		uint64_t t0 = now_ns();
		memset(&v, 0, sizeof(v));
		if (cr_facade_candidate_show(f, cid, &v) < 0)
			die("candidate show");
		cJSON *j = cr_candidate_view_to_json(&v);
		char *txt = cJSON_PrintUnformatted(j);
		show[r] = now_ns() - t0;
		free(txt);
		cJSON_Delete(j);
		cr_candidate_view_clear(&v);
	}
	for (size_t r = 0; r < runs; r++) {
		cr_candidate_view *all = NULL;
		size_t n = 0;
		uint64_t t0 = now_ns();
		if (cr_facade_candidate_list(f, CR_STATUS_NONE, NULL, &all, &n, NULL) < 0)
			die("candidate list");
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "candidates");
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, cr_candidate_view_to_json(&all[i]));
		cJSON_AddNullToObject(doc, "next_cursor");
		char *txt = cJSON_PrintUnformatted(doc);
		list[r] = now_ns() - t0;
		free(txt);
		cJSON_Delete(doc);
		cr_facade_candidates_free(all, n);
		listed = n;
	}
	cr_facade_close(f);
	for (size_t r = 0; r < runs; r++) {
		cr_candidate_view v;
		cr_facade *g = NULL;
		cr_facade_opts o = {0};
		uint64_t t0 = now_ns();
		memset(&v, 0, sizeof(v));
		if (cr_facade_open(&g, &o) < 0 || cr_facade_candidate_show(g, cid, &v) < 0)
			die("open + show");
		cJSON *j = cr_candidate_view_to_json(&v);
		char *txt = cJSON_PrintUnformatted(j);
		cr_facade_close(g);
		open_show[r] = now_ns() - t0;
		free(txt);
		cJSON_Delete(j);
		cr_candidate_view_clear(&v);
	}
	printf("{\"runs\": %zu, \"listed\": %zu, ", runs, listed);
	stats_json("show", show, runs, 0);
	stats_json("list", list, runs, 1);
	stats_json("open_show_close", open_show, runs, 1);
	printf("}\n");
	return 0;
}

static double ms_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e6;
}

static int mode_startup(const char *repo, const char *cid)
{
	cr_facade *f = NULL;
	cr_facade_opts o = {0};
	cr_candidate_view v;
	double init_ms, open_ms, show_ms;
	uint64_t t0;

	if (chdir(repo) < 0) {
		perror(repo);
		return 1;
	}
	t0 = now_ns();
	git_libgit2_init();
	init_ms = ms_since(t0);
	t0 = now_ns();
	if (cr_facade_open(&f, &o) < 0)
		die("cannot open the repository");
	open_ms = ms_since(t0);
	t0 = now_ns();
	memset(&v, 0, sizeof(v));
	if (cr_facade_candidate_show(f, cid, &v) < 0)
		die("candidate show");
	cJSON *j = cr_candidate_view_to_json(&v);
	char *txt = cJSON_PrintUnformatted(j);
	show_ms = ms_since(t0);
	free(txt);
	cJSON_Delete(j);
	cr_candidate_view_clear(&v);
	cr_facade_close(f);
	printf("{\"libgit2_init_ms\": %.3f, \"facade_open_ms\": %.3f, \"show_ms\": %.3f}\n", init_ms, open_ms, show_ms);
	git_libgit2_shutdown();
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!fp || fseek(fp, 0, SEEK_END) < 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0 ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(fp);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static int mode_passed(const char *repo, uint64_t n, const char *artifacts)
{
	char given[4096], dir[4096], cid[64], ver[64];
	size_t len;
	char *doc = slurp(artifacts, &len);
	snprintf(given, sizeof(given), "%s", artifacts);
	char *slash = strrchr(given, '/');
	if (!slash)
		snprintf(given, sizeof(given), ".");
	else
		*slash = '\0';
	if (!realpath(given, dir)) {
		perror(given);
		exit(1);
	}
	cr_facade *f = open_repo(repo);
	uint64_t t0 = now_ns();

	for (uint64_t i = 1; i <= n; i++) {
		cr_candidate_view v = {0};
		cr_import imp = {0};
		cr_manifest m = {0};
		cr_run run = {0};
		snprintf(cid, sizeof(cid), "rel-%06" PRIu64, i);
		snprintf(ver, sizeof(ver), "1.0.%" PRIu64, i);
		if (cr_facade_candidate_register(f, cid, ver, snapshot_of(i), ACTOR, &v) < 0)
			die("register");
		if (cr_facade_candidate_import(f, cid, doc, len, artifacts, dir, NULL, ACTOR, &imp) < 0)
			die("import");
		if (cr_facade_manifest_build(f, cid, ACTOR, &m) < 0)
			die("manifest build");
		if (cr_facade_compliance_run(f, cid, m.manifest_id, ACTOR, 1, false, NULL, NULL, &run) < 0)
			die("compliance run");
		if (run.final_status != CR_FINAL_PASSED) {
			fprintf(stderr, "ledger_bench: the run of %s did not pass\n", cid);
			exit(1);
		}
		cr_run_clear(&run);
		cr_manifest_clear(&m);
		cr_import_clear(&imp);
		cr_candidate_view_clear(&v);
		if (i % 1000 == 0)
			fprintf(stderr, "ledger_bench: %" PRIu64 " passed (%.1f s)\n", i, (double)(now_ns() - t0) / 1e9);
	}
	printf("{\"passed\": %" PRIu64 ", \"seconds\": %.3f}\n", n, (double)(now_ns() - t0) / 1e9);
	free(doc);
	cr_facade_close(f);
	return 0;
}

static int mode_approve(const char *repo, uint64_t n)
{
	cr_facade *f = open_repo(repo);
	uint64_t *ns = calloc(n, sizeof(*ns)), total = 0;
	char cid[64];

	for (uint64_t i = 1; i <= n; i++) {
		cr_candidate_view v = {0};
		cr_approval a = {0};
		snprintf(cid, sizeof(cid), "rel-%06" PRIu64, i);
		if (cr_facade_candidate_show(f, cid, &v) < 0)
			die("show");
		uint64_t t = now_ns();
		if (cr_facade_release_approve(f, cid, v.latest_report_id, ACTOR, NULL, &a) < 0)
			die("approve");
		ns[i - 1] = now_ns() - t;
		total += ns[i - 1];
		cr_approval_clear(&a);
		cr_candidate_view_clear(&v);
	}
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("{\"approvals\": %" PRIu64 ", \"median_ms\": %.3f, \"p90_ms\": %.3f, \"mean_ms\": %.3f}\n", n,
	       median(ns, n) / 1e6, (double)pct(ns, n, 90) / 1e6, (double)total / (double)n / 1e6);
	free(ns);
	cr_facade_close(f);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ledger_bench grow REPO N [--snapshot REV | --commits FILE]\n"
			"       ledger_bench append REPO FIRST COUNT [--snapshot REV | --commits FILE]\n"
			"       ledger_bench query REPO CANDIDATE_ID RUNS\n"
			"       ledger_bench passed REPO N ARTIFACTS_JSON\n"
			"       ledger_bench approve REPO N\n"
			"       ledger_bench startup REPO CANDIDATE_ID\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int nargs = 0;
	char *args[8];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--snapshot") && i + 1 < argc)
			snapshot = argv[++i];
		else if (!strcmp(argv[i], "--commits") && i + 1 < argc)
			load_commits(argv[++i]);
		else if (nargs < 8)
			args[nargs++] = argv[i];
		else
			usage();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (nargs == 3 && !strcmp(args[0], "grow"))
		return mode_grow(args[1], strtoull(args[2], NULL, 10));
	if (nargs == 4 && !strcmp(args[0], "append"))
		return mode_append(args[1], strtoull(args[2], NULL, 10), strtoull(args[3], NULL, 10));
	if (nargs == 4 && !strcmp(args[0], "passed"))
		return mode_passed(args[1], strtoull(args[2], NULL, 10), args[3]);
	if (nargs == 3 && !strcmp(args[0], "approve"))
		return mode_approve(args[1], strtoull(args[2], NULL, 10));
	if (nargs == 3 && !strcmp(args[0], "startup"))
		return mode_startup(args[1], args[2]);
	if (nargs == 4 && !strcmp(args[0], "query"))
		return mode_query(args[1], args[2], (size_t)strtoull(args[3], NULL, 10));
	usage();
	return 2;
}
