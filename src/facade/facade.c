/*
 * The facade: opens the repository and the adapters of one namespace and
 * hands each call to its service. The namespace is chosen here and nowhere
 * below: it is only a ref prefix, a task directory and the built-in policy.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "adapters/git/git.h"
#include "adapters/system/system.h"
#include "adapters/tasks/tasks.h"
#include "domain/ids.h"
#include "facade/internal.h"
#include "services/services.h"
#include "util/embedded.h"
#include "util/error.h"

int cr_facade_open(cr_facade **out, const cr_facade_opts *o)
{
	cr_facade *f = calloc(1, sizeof(*f));
	cr_git_refs refs;
	const char *ns = o && o->demo ? "clean-release-demo" : "clean-release";
	char taskdir[PATH_MAX + 64], cachedir[PATH_MAX + 64];
	int rc;

	char statedir[PATH_MAX];

	*out = NULL;
	if (!f)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	f->demo = o && o->demo;
	f->read_only = o && (o->read_only || o->ledger_at);
	f->ledger_at = o && o->ledger_at;
	if ((rc = cr_git_session_open(&f->repo, o ? o->repo : NULL, f->path, sizeof(f->path), statedir,
				      sizeof(statedir))) < 0) {
		free(f);
		return rc;
	}
	cr_git_refs_for(&refs, ns);
	snprintf(f->ledger_ref, sizeof(f->ledger_ref), "%s", refs.ledger);
	const struct cr_embedded_file *dp = NULL, *dr = NULL;
	if (f->demo) {
		dp = cr_embedded_find("demo-policy.json");
		dr = cr_embedded_find("demo-registry.json");
	}
	snprintf(taskdir, sizeof(taskdir), "%s%s/tasks", statedir, ns);
	if (o && o->program) {
		snprintf(f->program, sizeof(f->program), "%s", o->program);
	} else {
		ssize_t n = readlink("/proc/self/exe", f->program, sizeof(f->program) - 1);
		f->program[n > 0 ? n : 0] = '\0';
	}
	/* A detached run's runner: this program on this repository and namespace. */
	const char *runner_argv[6];
	size_t k = 0;
	runner_argv[k++] = "-C";
	runner_argv[k++] = f->path;
	if (f->demo)
		runner_argv[k++] = "--demo";
	runner_argv[k++] = "task";
	runner_argv[k++] = "run";
	runner_argv[k] = NULL;
	cr_tasks_opts to = {
		.program = f->program[0] ? f->program : NULL,
		.argv = runner_argv,
		.faults = {o ? o->test_crash_path : NULL, o ? o->test_hang_path : NULL, o ? o->test_pause_path : NULL},
		.fault_save_enospc = o && o->test_task_enospc,
		.shared = cr_git_shared(f->repo),
	};
	snprintf(cachedir, sizeof(cachedir), "%s%s/cache", statedir, ns);
	cr_git_ledger_opts lo = {.read_only = f->read_only, .at = o ? o->ledger_at : NULL,
				 .policy_root = o ? o->policy_root : NULL, .require_signatures = o && o->require_signatures};
	if ((rc = cr_git_ledger_open(&f->ledger, f->repo, &refs, &lo)) < 0 ||
	    (rc = cr_git_policy_open(&f->policy, f->repo, &refs, dp ? dp->data : NULL, dr ? dr->data : NULL)) < 0 ||
	    (rc = cr_tasks_open(&f->tasks, taskdir, &to)) < 0 || (rc = cr_cache_dir_open(&f->cache, cachedir, to.shared)) < 0) {
		cr_facade_close(f);
		return rc;
	}
	cr_clock_system(&f->clock);
	cr_rules_engine(&f->rules, &f->cache);
	f->svc.ledger = &f->ledger;
	f->svc.policy = &f->policy;
	f->svc.tasks = &f->tasks;
	f->svc.clock = &f->clock;
	f->svc.rules = &f->rules;
	f->svc.cache = &f->cache;
	f->svc.fault_publish_stop = o && o->test_publish_stop;
	f->svc.actor_mode = o && o->delegated ? CR_ACTOR_DELEGATED : CR_ACTOR_CLAIMED;
	*out = f;
	return 0;
}

void cr_facade_close(cr_facade *f)
{
	if (!f)
		return;
	if (f->ledger.impl)
		cr_git_ledger_close(&f->ledger);
	if (f->policy.impl)
		cr_git_policy_close(&f->policy);
	if (f->tasks.impl)
		cr_tasks_close(&f->tasks);
	cr_cache_dir_close(&f->cache);
	cr_git_session_close(f->repo);
	free(f);
}

/* Every call that writes starts here: a read-only handle refuses it before
 * anything is read (the adapters refuse a write too, should one slip by). */
int cr_facade_writable(const cr_facade *f, const char *op)
{
	if (!f->read_only)
		return 0;
	return cr_error_set(CR_EFORBIDDEN, "%s writes evidence, and the repository was opened read-only", op);
}

int cr_facade_release_tag(cr_facade *f, const char *ref, bool *is_release, char *pattern, size_t len)
{
	return cr_svc_release_tag(&f->svc, ref, is_release, pattern, len);
}

int cr_facade_resolve(cr_facade *f, const char *rev, char *hex, size_t len)
{
	return f->ledger.resolve(f->ledger.impl, rev, hex, len);
}

int cr_facade_hooks_dir(cr_facade *f, char *out, size_t len)
{
	return cr_git_hooks_dir(f->repo, out, len);
}

bool cr_facade_is_bare(cr_facade *f)
{
	return cr_git_is_bare(f->repo);
}

const char *cr_facade_namespace(const cr_facade *f)
{
	return f->demo ? "demo" : "real";
}

const char *cr_facade_repo_path(const cr_facade *f)
{
	return f->path;
}

const char *cr_facade_work_tree(const cr_facade *f)
{
	return cr_git_is_bare(f->repo) ? NULL : f->path;
}

int cr_facade_ledger_tip(cr_facade *f, char *out)
{
	return cr_git_ref_tip(f->repo, f->ledger_ref, out);
}

int cr_facade_actor(cr_facade *f, const char *given, char *out, size_t len)
{
	const char *why;
	if (f->svc.actor_mode != CR_ACTOR_DELEGATED)
		f->svc.actor_mode = given ? CR_ACTOR_CLAIMED : CR_ACTOR_DEFAULT;
	if (given) {
		if ((why = cr_actor_invalid(given)))
			return cr_error_set(CR_EINVALID_ARGUMENT, "invalid actor: %s", why);
		snprintf(out, len, "%s", given);
		return 0;
	}
	char email[300];
	if (cr_git_config_email(f->repo, email, sizeof(email)) < 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "no actor: give --actor NAME or set git config user.email");
	if ((why = cr_actor_invalid(email)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid actor from git config user.email: %s", why);
	snprintf(out, len, "%s", email);
	return 0;
}

int cr_facade_candidate_register(cr_facade *f, const char *candidate_id, const char *version,
				 const char *source_snapshot, const char *actor, cr_candidate_view *out)
{
	int rc = cr_facade_writable(f, "candidate register");
	if (rc < 0)
		return rc;
	return cr_svc_register(&f->svc, candidate_id, version, source_snapshot, actor, out);
}

int cr_facade_candidate_import(cr_facade *f, const char *candidate_id, const char *input, size_t len,
			       const char *what, const char *base_dir, const char *root_override, const char *actor,
			       cr_import *out)
{
	int rc = cr_facade_writable(f, "candidate import-artifacts");
	if (rc < 0)
		return rc;
	return cr_svc_import(&f->svc, candidate_id, input, len, what, base_dir, root_override, actor, out);
}

int cr_facade_candidate_show(cr_facade *f, const char *candidate_id, cr_candidate_view *out)
{
	return cr_svc_show(&f->svc, candidate_id, out);
}

int cr_facade_candidate_list(cr_facade *f, cr_status status, const cr_page_req *page, cr_candidate_view **out,
			     size_t *n, char *next)
{
	return cr_svc_list(&f->svc, status, page, out, n, next);
}

void cr_facade_candidates_free(cr_candidate_view *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cr_candidate_clear(&v[i].c);
	free(v);
}

int cr_facade_manifest_build(cr_facade *f, const char *candidate_id, const char *actor, cr_manifest *out)
{
	int rc = cr_facade_writable(f, "manifest build");
	if (rc < 0)
		return rc;
	return cr_svc_manifest_build(&f->svc, candidate_id, actor, out);
}

int cr_facade_manifest_show(cr_facade *f, const char *manifest_id, cr_manifest *out)
{
	return cr_svc_manifest_show(&f->svc, manifest_id, out);
}

int cr_facade_manifest_list(cr_facade *f, const char *candidate_id, cr_manifest **out, size_t *n)
{
	return cr_svc_manifest_list(&f->svc, candidate_id, out, n);
}

void cr_facade_manifests_free(cr_manifest *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		cr_manifest_clear(&m[i]);
	free(m);
}

void cr_policy_view_clear(cr_policy_view *v)
{
	if (!v)
		return;
	free(v->policy_json);
	free(v->registry_json);
	memset(v, 0, sizeof(*v));
}

int cr_facade_policy_show(cr_facade *f, cr_policy_view *out)
{
	memset(out, 0, sizeof(*out));
	out->ns = cr_facade_namespace(f);
	return cr_svc_policy_show(&f->svc, &out->policy_json, &out->registry_json, &out->policy, &out->registry);
}

int cr_facade_policy_publish(cr_facade *f, const char *policy, size_t plen, const char *policy_what,
			     const char *registry, size_t rlen, const char *registry_what, const char *actor,
			     cr_policy_view *out)
{
	int rc = cr_facade_writable(f, "policy publish");
	if (rc < 0 ||
	    (rc = cr_svc_policy_publish(&f->svc, policy, plen, policy_what, registry, rlen, registry_what, actor)) < 0)
		return rc;
	return cr_facade_policy_show(f, out);
}

int cr_facade_compliance_run(cr_facade *f, const char *candidate_id, const char *manifest_id, const char *actor,
			     unsigned jobs, bool detach, cr_progress_fn progress, void *progress_ctx, cr_run *out)
{
	int rc = cr_facade_writable(f, "compliance run");
	if (rc < 0)
		return rc;
	return cr_svc_run(&f->svc, candidate_id, manifest_id, actor, jobs, detach, progress, progress_ctx, out);
}

int cr_facade_compliance_status(cr_facade *f, const char *run_id, cr_run *out)
{
	return cr_svc_run_status(&f->svc, run_id, out);
}

int cr_facade_compliance_violations(cr_facade *f, const char *run_id, int stage, int severity,
				    const cr_page_req *page, cr_violation **out, size_t *n, char *next)
{
	return cr_svc_violations(&f->svc, run_id, stage, severity, page, out, n, next);
}

int cr_facade_compliance_violations_each(cr_facade *f, const char *run_id, int stage, int severity,
					 int (*fn)(const cr_violation *v, void *ctx), void *ctx)
{
	return cr_svc_violations_each(&f->svc, run_id, stage, severity, fn, ctx);
}

void cr_facade_violations_free(cr_violation *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cr_violation_clear(&v[i]);
	free(v);
}

int cr_facade_compliance_report(cr_facade *f, const char *run_id, cr_report *out)
{
	return cr_svc_report(&f->svc, run_id, out);
}

int cr_facade_task_run(cr_facade *f, const char *task_id, unsigned jobs, int lock_fd)
{
	int rc = cr_facade_writable(f, "task run");
	if (rc < 0)
		return rc;
	return cr_svc_task_run(&f->svc, task_id, jobs, lock_fd);
}

int cr_facade_task_status(cr_facade *f, const char *task_id, cr_task *out)
{
	return cr_svc_task_status(&f->svc, task_id, out);
}

void cr_reap_result_clear(cr_reap_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->run_ids[i]);
	free(r->run_ids);
	memset(r, 0, sizeof(*r));
}

int cr_facade_task_reap(cr_facade *f, const char *actor, cr_reap_result *out)
{
	cr_strlist reaped = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cr_facade_writable(f, "task reap")) < 0)
		return rc;
	if (actor || cr_facade_actor(f, NULL, out->actor, sizeof(out->actor)) < 0) {
		if (!actor)
			cr_error_clear(); /* no usable user.email: the fixed name */
		if ((rc = cr_facade_actor(f, actor ? actor : CR_FACADE_REAP_ACTOR, out->actor, sizeof(out->actor))) < 0)
			return rc;
	}
	if ((rc = cr_svc_reap_all(&f->svc, out->actor, &reaped)) < 0)
		return rc;
	/* The list's strings change hands. */
	out->run_ids = reaped.v;
	out->n = reaped.n;
	return 0;
}

int cr_facade_release_approve(cr_facade *f, const char *candidate_id, const char *report_id, const char *actor,
			      const char *comment, cr_approval *out)
{
	int rc = cr_facade_writable(f, "release approve");
	if (rc < 0)
		return rc;
	return cr_svc_decide(&f->svc, candidate_id, report_id, true, actor, comment, out);
}

int cr_facade_release_reject(cr_facade *f, const char *candidate_id, const char *report_id, const char *actor,
			     const char *comment, cr_approval *out)
{
	int rc = cr_facade_writable(f, "release reject");
	if (rc < 0)
		return rc;
	return cr_svc_decide(&f->svc, candidate_id, report_id, false, actor, comment, out);
}

int cr_facade_release_publish(cr_facade *f, const char *candidate_id, const char *report_id, const char *channel,
			      const char *tag, const char *actor, cr_publication *out)
{
	int rc = cr_facade_writable(f, "release publish");
	if (rc < 0)
		return rc;
	return cr_svc_publish(&f->svc, candidate_id, report_id, channel, tag, actor, out);
}

int cr_facade_release_revoke(cr_facade *f, const char *candidate_id, const char *publication_id,
			     const char *reason, const char *actor, cr_publication *out)
{
	int rc = cr_facade_writable(f, "release revoke");
	if (rc < 0)
		return rc;
	return cr_svc_revoke(&f->svc, candidate_id, publication_id, reason, actor, out);
}

int cr_facade_audit_log(cr_facade *f, const char *candidate_id, const cr_page_req *page, cr_audit_event **out,
			size_t *n, char *next)
{
	return cr_svc_audit_log(&f->svc, candidate_id, page, out, n, next);
}

void cr_facade_audit_free(cr_audit_event *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		cr_audit_event_clear(&e[i]);
	free(e);
}

int cr_facade_verify(cr_facade *f, const char *from, cr_verify_result *out)
{
	memset(out, 0, sizeof(*out));
	/* At a given ledger commit the policy ref may be of a later time. */
	int rc = cr_svc_verify(&f->svc, from, !f->ledger_at, &out->commits, &out->objects);
	if (rc == 0 && f->ledger.trust_root) {
		bool pinned = false;
		f->ledger.trust_root(f->ledger.impl, out->root_digest, sizeof(out->root_digest), out->root_commit,
				     sizeof(out->root_commit), out->root_policy, sizeof(out->root_policy), &pinned);
		out->root_pinned = pinned && out->root_digest[0];
	}
	return rc;
}

int cr_facade_repair(cr_facade *f, const char *to, cr_verify_result *out)
{
	int rc = cr_facade_writable(f, "repair");
	memset(out, 0, sizeof(*out));
	if (rc < 0)
		return rc;
	return cr_svc_repair(&f->svc, to, &out->commits);
}
