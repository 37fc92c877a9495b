/* Candidates: register, import artifacts, show, list. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "domain/codec.h"
#include "domain/ids.h"
#include "services/internal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/schema.h"
#include "util/sha256.h"

/* ---- register --------------------------------------------------------- */

struct reg_ctx {
	const cr_svc *s;
	cr_svc_who who;
	cr_candidate c;
};

static int register_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct reg_ctx *x = vctx;
	char *buf = NULL, newest[CR_TS_MAX];
	cr_audit_event ev = {0};
	int rc;
	(void)commit_anyway;

	rc = x->s->ledger->get(t, CR_OBJ_CANDIDATE, x->c.candidate_id, NULL, &buf, NULL);
	free(buf);
	if (rc == 0)
		return cr_error_set(CR_ECONFLICT, "candidate %s is already registered", x->c.candidate_id);
	if (rc != CR_ENOT_FOUND)
		return rc;
	if ((rc = cr_svc_act(t, x->s, cr_op_audit_type(CR_OP_REGISTER), NULL, &x->who)) < 0)
		return rc;
	x->c.created_by = x->who.actor;
	x->s->clock->now(x->s->clock->impl, x->c.created_at);
	/* created_at never goes back along the ledger (a clock stepped back,
	 * another machine's): the list's order is then the registration order,
	 * which the ledger's order index keeps. */
	if ((rc = cr_svc_newest_created_at(t, x->s, newest)) < 0)
		return rc;
	if (strcmp(x->c.created_at, newest) < 0)
		memcpy(x->c.created_at, newest, sizeof(x->c.created_at));
	if ((rc = cr_svc_put_json(t, x->s, CR_OBJ_CANDIDATE, x->c.candidate_id, x->c.candidate_id, NULL,
				  cr_candidate_to_json(&x->c))) < 0)
		return rc;
	cr_svc_audit_event_init(&ev, cr_op_audit_type(CR_OP_REGISTER), x->c.candidate_id, x->who.actor);
	cr_audit_detail(&ev, "status", cr_status_name(CR_STATUS_DRAFT));
	cr_audit_detail(&ev, "source_commit", x->c.source_commit);
	rc = cr_svc_audit_by(t, x->s, &ev, &x->who);
	snprintf(msg, msglen, "%s %s (%s)", ev.type, x->c.candidate_id, ev.event_id);
	cr_svc_audit_event_done(&ev);
	return rc;
}

int cr_svc_register(const cr_svc *s, const char *cid, const char *version, const char *snapshot,
		    const char *actor, cr_candidate_view *out)
{
	struct reg_ctx x = {.s = s};
	const char *why;
	int rc;

	if ((why = cr_candidate_id_invalid(cid)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid candidate id \"%.140s\": %s", cid, why);
	if ((why = cr_version_invalid(version)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid version \"%.80s\": %s", version, why);
	if (!snapshot[0] || strlen(snapshot) > 256 || snapshot[0] == '-')
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid source snapshot \"%.80s\"", snapshot);
	for (const char *p = snapshot; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return cr_error_set(CR_EINVALID_ARGUMENT, "invalid source snapshot: contains a space or control character");
	snprintf(x.c.candidate_id, sizeof(x.c.candidate_id), "%s", cid);
	snprintf(x.c.version, sizeof(x.c.version), "%s", version);
	snprintf(x.c.source_snapshot, sizeof(x.c.source_snapshot), "%s", snapshot);
	if ((rc = s->ledger->resolve(s->ledger->impl, snapshot, x.c.source_commit, sizeof(x.c.source_commit))) < 0 &&
	    rc == CR_EINVALID_INPUT)
		rc = cr_error_set(CR_EINVALID_INPUT, "source snapshot %s", cr_error_last()->message);
	if (rc < 0)
		return rc;
	cr_svc_who_init(&x.who, actor);
	rc = cr_ledger_transact(s->ledger, x.who.actor, register_txn, &x);
	x.c.created_by = NULL;
	if (rc < 0)
		return rc;
	cr_svc_note(s, cid);
	return cr_svc_show(s, cid, out);
}

/* ---- show / list ------------------------------------------------------ */

int cr_svc_show(const cr_svc *s, const char *cid, cr_candidate_view *out)
{
	cr_txn *t = NULL;
	const char *why;
	int rc;

	if ((why = cr_candidate_id_invalid(cid)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid candidate id \"%.140s\": %s", cid, why);
	/* One derivation; an orphaned run shows as CHECK_ERROR, derived in
	 * memory: a read writes nothing. */
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	rc = cr_svc_candidate_view(t, s, cid, out);
	s->ledger->end(t);
	return rc;
}

static int newest_first(const void *a, const void *b)
{
	const cr_candidate_view *x = a, *y = b;
	int c = strcmp(y->c.created_at, x->c.created_at);
	return c ? c : strcmp(x->c.candidate_id, y->c.candidate_id);
}

int cr_svc_list(const cr_svc *s, cr_status filter, const cr_page_req *pg, cr_candidate_view **out, size_t *n,
		char *next)
{
	cr_txn *t = NULL;
	cr_candidate_view *v = NULL;
	size_t m = 0, all = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (next)
		next[0] = '\0';
	if (cr_page_wanted(pg))
		return cr_svc_list_page(s, filter, pg, out, n, next);
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	if ((rc = cr_svc_all_views(t, s, &v, &all)) < 0)
		goto cleanup;
	for (size_t i = 0; i < all; i++) {
		if (filter != CR_STATUS_NONE && v[i].status != filter)
			cr_candidate_clear(&v[i].c);
		else
			v[m++] = v[i];
	}
	if (m > 1)
		qsort(v, m, sizeof(*v), newest_first);
	*out = v;
	*n = m;
	v = NULL;
	rc = 0;
cleanup:
	if (v) {
		for (size_t i = 0; i < m; i++)
			cr_candidate_clear(&v[i].c);
		free(v);
	}
	s->ledger->end(t);
	return rc;
}

/* ---- import ----------------------------------------------------------- */

struct hash_job {
	int root_fd;
	cr_artifact *a;
	size_t n;
	atomic_size_t next;
	atomic_int failed;
	size_t bad;       /* index of the first failure */
	cr_error err;     /* its error */
	pthread_mutex_t lock;
};

/* Hash one artifact beneath the root in constant memory. */
static int hash_one(int root_fd, const cr_artifact *a, char hex[65], uint64_t *size)
{
	int fd = cr_fs_open_beneath(root_fd, a->path);
	if (fd < 0)
		return fd;
	int rc = cr_sha256_fd(fd, a->path, hex, size);
	close(fd);
	return rc;
}

static void *hash_worker(void *arg)
{
	struct hash_job *j = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n || atomic_load(&j->failed))
			break;
		cr_artifact *a = &j->a[i];
		char hex[65];
		uint64_t size = 0;
		int rc = hash_one(j->root_fd, a, hex, &size);
		if (rc == 0 && a->sha256[0] && strcmp(a->sha256, hex))
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: sha256 is %s, but the input says %s", a->path, hex,
					  a->sha256);
		if (rc == 0 && a->size != UINT64_MAX && a->size != size)
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: size is %llu bytes, but the input says %llu", a->path,
					  (unsigned long long)size, (unsigned long long)a->size);
		if (rc < 0) {
			pthread_mutex_lock(&j->lock);
			if (!atomic_load(&j->failed) || i < j->bad) {
				j->bad = i;
				cr_error_save(&j->err);
			}
			atomic_store(&j->failed, 1);
			pthread_mutex_unlock(&j->lock);
			continue;
		}
		memcpy(a->sha256, hex, sizeof(a->sha256));
		a->size = size;
	}
	return NULL;
}

/* Hash (or verify) every artifact, on all CPUs for large imports. */
static int hash_all(int root_fd, cr_artifact *a, size_t n, uint64_t total_hint)
{
	struct hash_job j = {.root_fd = root_fd, .a = a, .n = n};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t threads = (n > 64 || total_hint > (64u << 20)) && cpus > 1 ? (size_t)cpus : 1;
	pthread_t tid[64];

	if (threads > 64)
		threads = 64;
	pthread_mutex_init(&j.lock, NULL);
	size_t started = 0;
	for (size_t i = 1; i < threads; i++)
		if (pthread_create(&tid[i], NULL, hash_worker, &j) == 0)
			started = i;
	hash_worker(&j);
	for (size_t i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&j.lock);
	if (atomic_load(&j.failed)) {
		cr_error_restore(&j.err);
		return j.err.code;
	}
	return 0;
}

static int cmp_path(const void *x, const void *y)
{
	return strcmp(((const cr_artifact *)x)->path, ((const cr_artifact *)y)->path);
}

struct import_ctx {
	const cr_svc *s;
	cr_svc_who who;
	cr_import *imp;
	int precheck; /* 1: only check existence and status (nothing is written) */
};

static int import_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct import_ctx *x = vctx;
	cr_candidate_view v;
	cr_audit_event ev = {0};
	cr_svc_who_init(&x->who, x->who.claimed);
	int rc = cr_svc_candidate_view(t, x->s, x->imp->candidate_id, &v);
	if (rc < 0)
		return rc;
	if (cr_lifecycle_may(v.status, CR_OP_IMPORT)) {
		rc = cr_svc_refuse_transition(t, x->s, CR_OP_IMPORT, &v, x->who.claimed, commit_anyway, msg, msglen);
		cr_candidate_clear(&v.c);
		return rc;
	}
	cr_candidate_clear(&v.c);
	/* The precheck refuses a signature that cannot be made before any hashing. */
	if ((rc = cr_svc_act(t, x->s, cr_op_audit_type(CR_OP_IMPORT), NULL, &x->who)) < 0 || x->precheck)
		return rc;
	free(x->imp->imported_by);
	if (!(x->imp->imported_by = strdup(x->who.actor)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	if ((rc = x->s->ledger->alloc(t, CR_ID_IMPORT, x->imp->import_id, sizeof(x->imp->import_id))) < 0)
		return rc;
	x->s->clock->now(x->s->clock->impl, x->imp->imported_at);
	if ((rc = cr_svc_put_json(t, x->s, CR_OBJ_IMPORT, x->imp->candidate_id, x->imp->import_id, NULL,
				  cr_import_to_json(x->imp))) < 0)
		return rc;
	cr_svc_audit_event_init(&ev, cr_op_audit_type(CR_OP_IMPORT), x->imp->candidate_id, x->who.actor);
	cr_audit_detail(&ev, "import_id", x->imp->import_id);
	/* A run reads the root here: the import itself is the whole list. */
	cr_audit_detail(&ev, "artifact_root", x->imp->artifact_root);
	cr_audit_detail(&ev, "status", cr_status_name(CR_STATUS_PREPARED));
	rc = cr_svc_audit_by(t, x->s, &ev, &x->who);
	snprintf(msg, msglen, "%s %s %s (%s)", ev.type, x->imp->candidate_id, x->imp->import_id, ev.event_id);
	cr_svc_audit_event_done(&ev);
	return rc;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* One artifact of the (schema-valid) input; sha256/size may be absent. */
static int input_artifact(const cJSON *it, cr_artifact *a)
{
	const char *sha = cr_json_str(it, "sha256");
	a->path = dup_or_null(cr_json_str(it, "path"));
	a->source = dup_or_null(cr_json_str(it, "source"));
	a->kind = dup_or_null(cr_json_str(it, "kind"));
	a->media_type = dup_or_null(cr_json_str(it, "media_type"));
	if (sha)
		snprintf(a->sha256, sizeof(a->sha256), "%s", sha);
	/* Not given: computed (UINT64_MAX marks "not given"). */
	a->size = cJSON_GetObjectItemCaseSensitive(it, "size") ? (uint64_t)cr_json_int(it, "size", 0) : UINT64_MAX;
	if (!a->path)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	/* A source is evidence for good, pushed with the ledger. */
	if (a->source && cr_has_credentials(a->source)) {
		cr_error_set(CR_EINVALID_INPUT, "artifact %.300s: its source carries credentials (user:password@ in a URL)",
			     a->path);
		return cr_error_hint("give the source without them, e.g. https://host/path");
	}
	return 0;
}

/* The artifact root: ROOT_OVERRIDE, else the document's artifact_root
 * (relative to BASE_DIR), else BASE_DIR; made absolute and canonical. */
static int resolve_root(const char *doc_root, const char *base_dir, const char *root_override, char **out)
{
	char joined[PATH_MAX + 8], real[PATH_MAX];
	const char *want = root_override ? root_override : doc_root ? doc_root : base_dir;
	if (want[0] != '/' && !root_override)
		snprintf(joined, sizeof(joined), "%s/%s", base_dir, want);
	else
		snprintf(joined, sizeof(joined), "%s", want);
	if (!realpath(joined, real))
		return cr_error_set(CR_EINVALID_INPUT, "artifact root %s: %s", joined, strerror(errno));
	struct stat st;
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return cr_error_set(CR_EINVALID_INPUT, "artifact root %s is not a directory", real);
	if (!(*out = strdup(real)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	return 0;
}

int cr_svc_import(const cr_svc *s, const char *cid, const char *input, size_t len, const char *what,
		  const char *base_dir, const char *root_override, const char *actor, cr_import *out)
{
	cJSON *doc = NULL;
	cr_schema *schema = NULL;
	cr_import imp = {0};
	cr_artifact *sorted = NULL;
	const char *why;
	int root_fd = -1, rc;

	memset(out, 0, sizeof(*out));
	if ((why = cr_candidate_id_invalid(cid)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid candidate id \"%.140s\": %s", cid, why);
	if ((rc = cr_json_parse(&doc, input, len, what)) < 0 || (rc = cr_schema_load(&schema, "artifacts.schema.json")) < 0 ||
	    (rc = cr_schema_validate(schema, doc, what)) < 0)
		goto cleanup;

	snprintf(imp.candidate_id, sizeof(imp.candidate_id), "%s", cid);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "artifacts");
	imp.artifact_count = (size_t)cJSON_GetArraySize(arr);
	if (!(imp.artifacts = calloc(imp.artifact_count, sizeof(*imp.artifacts)))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		cr_artifact *a = &imp.artifacts[i++];
		if ((rc = input_artifact(it, a)) < 0)
			goto cleanup;
		if ((why = cr_fs_path_invalid(a->path, strlen(a->path)))) {
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: artifacts[%zu].path \"%.200s\": %s", what, i - 1, a->path, why);
			goto cleanup;
		}
	}
	/* Duplicate paths are refused. */
	if (!(sorted = malloc(imp.artifact_count * sizeof(*sorted)))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	memcpy(sorted, imp.artifacts, imp.artifact_count * sizeof(*sorted));
	qsort(sorted, imp.artifact_count, sizeof(*sorted), cmp_path);
	for (i = 1; i < imp.artifact_count; i++)
		if (!strcmp(sorted[i - 1].path, sorted[i].path)) {
			rc = cr_error_set(CR_EINVALID_INPUT, "%s: duplicate artifact path %.300s", what, sorted[i].path);
			goto cleanup;
		}
	if ((rc = resolve_root(cr_json_str(doc, "artifact_root"), base_dir, root_override, &imp.artifact_root)) < 0)
		goto cleanup;

	/* An orphaned run of the candidate is finished first (every write to a
	 * candidate records it); then the candidate must exist and accept an
	 * import before any hashing. */
	if ((rc = cr_svc_reap_candidate(s, imp.candidate_id, actor)) < 0)
		goto cleanup;
	struct import_ctx x = {.s = s, .imp = &imp, .precheck = 1};
	cr_svc_who_init(&x.who, actor);
	if ((rc = cr_ledger_transact(s->ledger, x.who.actor, import_txn, &x)) < 0)
		goto cleanup;

	if ((root_fd = open(imp.artifact_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = cr_error_set(CR_EINVALID_INPUT, "artifact root %s: %s", imp.artifact_root, strerror(errno));
		goto cleanup;
	}
	if ((rc = hash_all(root_fd, imp.artifacts, imp.artifact_count, 0)) < 0)
		goto cleanup;
	imp.total_size = 0;
	for (i = 0; i < imp.artifact_count; i++)
		imp.total_size += imp.artifacts[i].size;

	x.precheck = 0;
	if ((rc = cr_ledger_transact(s->ledger, x.who.actor, import_txn, &x)) < 0)
		goto cleanup;
	cr_svc_note(s, cid);
	*out = imp;
	memset(&imp, 0, sizeof(imp));
cleanup:
	if (root_fd >= 0)
		close(root_fd);
	free(sorted);
	cr_import_clear(&imp);
	cr_schema_free(schema);
	cJSON_Delete(doc);
	return rc;
}
