/* In-memory implementations of the ports (ledger, policy store, task
 * manager, clock) for unit tests of the services and their gates, without
 * git (STYLE.md rule 7). Header-only: each test file that includes it gets
 * its own copy. The ledger keeps every committed object in append order;
 * a transaction sees the objects committed before its begin() plus its own
 * staged ones, and commit() is a compare-and-swap on the number of commits,
 * like the git adapter's ref update. */
#ifndef CR_TESTS_MEM_PORTS_H
#define CR_TESTS_MEM_PORTS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ports/clock.h"
#include "ports/ledger.h"
#include "ports/policy_store.h"
#include "ports/task_manager.h"
#include "util/error.h"

typedef struct mem_obj {
	cr_objkind kind;
	char key[CR_ID_MAX], sub[16], cid[CR_ID_MAX];
	char *buf;
	size_t len;
} mem_obj;

typedef struct mem_ledger {
	mem_obj *objs;
	size_t n, alloc;
	uint64_t counters[CR_ID__COUNT];
	uint64_t commits;
	char **blobs; /* write_blob: "blob-N" names blobs[N] */
	size_t *blob_len, nblobs;
	uint64_t notes; /* note() calls */
} mem_ledger;

struct cr_txn {
	mem_ledger *l;
	size_t snap_n;      /* objects visible */
	uint64_t snap_commits;
	uint64_t counters[CR_ID__COUNT];
	mem_obj *staged;
	size_t nstaged, astaged;
};

static int mem_push(mem_obj **v, size_t *n, size_t *alloc, const mem_obj *o)
{
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 32;
		mem_obj *nv = realloc(*v, na * sizeof(*nv));
		if (!nv)
			return cr_error_set(CR_EINTERNAL, "out of memory");
		*v = nv;
		*alloc = na;
	}
	(*v)[(*n)++] = *o;
	return 0;
}

static int mem_begin(void *impl, cr_txn **out)
{
	mem_ledger *l = impl;
	cr_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	t->l = l;
	t->snap_n = l->n;
	t->snap_commits = l->commits;
	memcpy(t->counters, l->counters, sizeof(t->counters));
	*out = t;
	return 0;
}

static void mem_end(cr_txn *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nstaged; i++)
		free(t->staged[i].buf);
	free(t->staged);
	free(t);
}

static bool mem_match(const mem_obj *o, cr_objkind kind, const char *key, const char *sub)
{
	return o->kind == kind && !strcmp(o->key, key) && !strcmp(o->sub, sub ? sub : "");
}

static const mem_obj *mem_find(cr_txn *t, cr_objkind kind, const char *key, const char *sub)
{
	for (size_t i = 0; i < t->snap_n; i++)
		if (mem_match(&t->l->objs[i], kind, key, sub))
			return &t->l->objs[i];
	for (size_t i = 0; i < t->nstaged; i++)
		if (mem_match(&t->staged[i], kind, key, sub))
			return &t->staged[i];
	return NULL;
}

static int mem_get(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char **buf, size_t *len)
{
	const mem_obj *o = mem_find(t, kind, key, sub);
	if (!o)
		return cr_error_set(CR_ENOT_FOUND, "object %d %s%s%s not found", (int)kind, key, sub ? "/" : "",
				    sub ? sub : "");
	if (!(*buf = malloc(o->len + 1)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	memcpy(*buf, o->buf, o->len);
	(*buf)[o->len] = 0;
	if (len)
		*len = o->len;
	return 0;
}

static int mem_ref_of(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char *ref, size_t reflen)
{
	const mem_obj *o = mem_find(t, kind, key, sub);
	if (!o)
		return cr_error_set(CR_ENOT_FOUND, "object %s not found", key);
	snprintf(ref, reflen, "mem-%p", (const void *)o);
	return 0;
}

static int mem_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int mem_list_one(const mem_obj *o, cr_objkind kind, const char *owner, cr_strlist *out)
{
	bool by_run = kind == CR_OBJ_RUN_EVENT || kind == CR_OBJ_VIOLATIONS;
	const char *name = by_run ? o->sub : o->key;
	if (kind == CR_OBJ_RUN) {
		if (o->kind != CR_OBJ_RUN_EVENT || strcmp(o->sub, "requested") || !owner || strcmp(o->cid, owner))
			return 0;
	} else if (o->kind != kind) {
		return 0;
	} else if (by_run ? strcmp(o->key, owner) : (owner && strcmp(o->cid, owner))) {
		return 0;
	}
	for (size_t i = 0; i < out->n; i++)
		if (!strcmp(out->v[i], name))
			return 0;
	return cr_strlist_push(out, name);
}

static int mem_list(cr_txn *t, cr_objkind kind, const char *owner, cr_strlist *out)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < t->snap_n; i++)
		rc = mem_list_one(&t->l->objs[i], kind, owner, out);
	for (size_t i = 0; rc == 0 && i < t->nstaged; i++)
		rc = mem_list_one(&t->staged[i], kind, owner, out);
	if (rc == 0 && out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), mem_cmp);
	return rc;
}

static uint64_t mem_counter(cr_txn *t, cr_idkind k)
{
	return t->counters[k];
}

static int mem_alloc(cr_txn *t, cr_idkind k, char *out, size_t outlen)
{
	cr_id_format(out, outlen, k, ++t->counters[k]);
	return 0;
}

static int mem_put(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub, const char *buf,
		   size_t len)
{
	mem_obj o = {.kind = kind, .len = len};
	if (mem_find(t, kind, key, sub))
		return cr_error_set(CR_EINTEGRITY, "object %s exists: objects are never replaced", key);
	snprintf(o.key, sizeof(o.key), "%s", key);
	snprintf(o.sub, sizeof(o.sub), "%s", sub ? sub : "");
	snprintf(o.cid, sizeof(o.cid), "%s", cid ? cid : "");
	if (!(o.buf = malloc(len + 1)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	memcpy(o.buf, buf, len);
	o.buf[len] = 0;
	int rc = mem_push(&t->staged, &t->nstaged, &t->astaged, &o);
	if (rc < 0)
		free(o.buf);
	return rc;
}

static int mem_write_blob(void *impl, const char *buf, size_t len, char *ref, size_t reflen)
{
	mem_ledger *l = impl;
	char **nb = realloc(l->blobs, (l->nblobs + 1) * sizeof(*nb));
	size_t *nl = nb ? realloc(l->blob_len, (l->nblobs + 1) * sizeof(*nl)) : NULL;
	if (nb)
		l->blobs = nb;
	if (!nl)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	l->blob_len = nl;
	if (!(l->blobs[l->nblobs] = malloc(len + 1)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	memcpy(l->blobs[l->nblobs], buf, len);
	l->blob_len[l->nblobs] = len;
	snprintf(ref, reflen, "blob-%zu", l->nblobs++);
	return 0;
}

static int mem_put_ref(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub, const char *ref)
{
	size_t i;
	if (sscanf(ref, "blob-%zu", &i) != 1 || i >= t->l->nblobs)
		return cr_error_set(CR_EINTEGRITY, "no stored blob %s", ref);
	return mem_put(t, kind, cid, key, sub, t->l->blobs[i], t->l->blob_len[i]);
}

static int mem_commit(cr_txn *t, const char *message, const char *actor)
{
	mem_ledger *l = t->l;
	(void)message;
	(void)actor;
	if (t->nstaged == 0)
		return 0;
	if (l->commits != t->snap_commits)
		return cr_error_set(CR_ERETRY, "the ledger moved");
	for (size_t i = 0; i < t->nstaged; i++) {
		int rc = mem_push(&l->objs, &l->n, &l->alloc, &t->staged[i]);
		if (rc < 0)
			return rc;
	}
	t->nstaged = 0; /* the objects changed hands */
	memcpy(l->counters, t->counters, sizeof(l->counters));
	l->commits++;
	return 0;
}

static int mem_note(void *impl, const char *source_commit, const char *cid, const char *line)
{
	(void)source_commit;
	(void)cid;
	(void)line;
	((mem_ledger *)impl)->notes++;
	return 0;
}

static int mem_resolve(void *impl, const char *rev, char *hex, size_t hexlen)
{
	(void)impl;
	if (strcmp(rev, "v1.0.0"))
		return cr_error_set(CR_EINVALID_INPUT, "revision %s does not resolve", rev);
	snprintf(hex, hexlen, "%040d", 1);
	return 0;
}

static int mem_commit_exists(void *impl, const char *hex)
{
	(void)impl;
	(void)hex;
	return 1;
}

static int mem_verify(void *impl, const char *from, uint64_t *commits, uint64_t *objects)
{
	(void)from;
	mem_ledger *l = impl;
	*commits = l->commits;
	if (objects)
		*objects = l->n;
	return 0;
}

static void mem_ledger_port(cr_ledger_port *p, mem_ledger *l)
{
	memset(p, 0, sizeof(*p));
	p->impl = l;
	p->begin = mem_begin;
	p->end = mem_end;
	p->get = mem_get;
	p->ref_of = mem_ref_of;
	p->list = mem_list;
	p->counter = mem_counter;
	p->alloc = mem_alloc;
	p->put = mem_put;
	p->put_ref = mem_put_ref;
	p->write_blob = mem_write_blob;
	p->commit = mem_commit;
	p->note = mem_note;
	p->resolve = mem_resolve;
	p->commit_exists = mem_commit_exists;
	p->verify = mem_verify;
}

static void mem_ledger_free(mem_ledger *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->objs[i].buf);
	free(l->objs);
	for (size_t i = 0; i < l->nblobs; i++)
		free(l->blobs[i]);
	free(l->blobs);
	free(l->blob_len);
	memset(l, 0, sizeof(*l));
}

/* ---- task manager: task files in memory, liveness as the test says ---- */

#define MEM_TASKS_MAX 8
typedef struct mem_tasks {
	cr_task tasks[MEM_TASKS_MAX];
	size_t n;
	int alive;      /* what alive() answers for a task it has */
	uint64_t saves; /* create() and save() calls */
} mem_tasks;

static cr_task *mem_task_find(mem_tasks *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->tasks[i].task_id, id))
			return &m->tasks[i];
	return NULL;
}

static int mem_task_copy(cr_task *dst, const cr_task *src)
{
	*dst = *src;
	dst->error = src->error ? strdup(src->error) : NULL;
	return src->error && !dst->error ? cr_error_set(CR_EINTERNAL, "out of memory") : 0;
}

static int mem_task_save(void *impl, const cr_task *t)
{
	mem_tasks *m = impl;
	cr_task *slot = mem_task_find(m, t->task_id);
	m->saves++;
	if (!slot) {
		if (m->n == MEM_TASKS_MAX)
			return cr_error_set(CR_EINTERNAL, "too many tasks");
		slot = &m->tasks[m->n++];
	} else {
		cr_task_clear(slot);
	}
	return mem_task_copy(slot, t);
}

static int mem_task_create(void *impl, const cr_task *t)
{
	if (mem_task_find(impl, t->task_id))
		return cr_error_set(CR_ECONFLICT, "task %s exists", t->task_id);
	return mem_task_save(impl, t);
}

static int mem_task_load(void *impl, const char *id, cr_task *out)
{
	cr_task *t = mem_task_find(impl, id);
	if (!t)
		return cr_error_set(CR_ENOT_FOUND, "task %s not found", id);
	return mem_task_copy(out, t);
}

static int mem_task_ok(void *impl, const char *id)
{
	(void)impl;
	(void)id;
	return 0;
}

static int mem_task_alive(void *impl, const char *id)
{
	mem_tasks *m = impl;
	return mem_task_find(m, id) ? m->alive : 1; /* not on this machine: never an orphan */
}

static void mem_task_port(cr_task_port *p, mem_tasks *m)
{
	memset(p, 0, sizeof(*p));
	p->impl = m;
	p->create = mem_task_create;
	p->save = mem_task_save;
	p->load = mem_task_load;
	p->discard = mem_task_ok;
	p->lock = mem_task_ok;
	p->unlock = mem_task_ok;
	p->alive = mem_task_alive;
}

static void mem_tasks_free(mem_tasks *m)
{
	for (size_t i = 0; i < m->n; i++)
		cr_task_clear(&m->tasks[i]);
	m->n = 0;
}

/* ---- clock: a fixed wall clock, a monotonic one that steps ---- */

static void mem_now(void *impl, char out[CR_TS_MAX])
{
	(void)impl;
	snprintf(out, CR_TS_MAX, "2026-03-09T10:00:00Z");
}

static uint64_t mem_ms(void *impl)
{
	return ++*(uint64_t *)impl;
}

/* ---- policy store: none published ---- */

static int mem_policy_resolve(void *impl, char **p, char **r, cr_snapshot *ps, cr_snapshot *rs, bool pin)
{
	(void)impl;
	(void)p;
	(void)r;
	(void)ps;
	(void)rs;
	(void)pin;
	return cr_error_set(CR_EPOLICY_MISSING, "no policy published");
}

#endif
