/*
 * The check of a push, as a git server's pre-receive hook makes it (and a
 * client's pre-push, for release tags only). The ledger port is opened at
 * the tip the push would leave (the objects sit in git's quarantine), so
 * everything here reads the evidence as it stands after the push, and
 * writes nothing. Only what the push adds is read: the ledger's commits
 * from the old tip to the new, the policy commits likewise, and for a
 * release tag the candidates' views (kept by the local view cache).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "services/internal.h"
#include "util/error.h"
#include "util/json.h"

#define SYNC_HINT "git clean-release sync (it fetches the server's evidence, replays your operations on top " \
		  "of it and pushes them)"

static int add(cr_push_verdict *v, bool refused, const char *ref, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int add(cr_push_verdict *v, bool refused, const char *ref, const char *hint, const char *fmt, ...)
{
	cr_push_finding f = {.refused = refused};
	va_list ap;
	snprintf(f.ref, sizeof(f.ref), "%s", ref);
	snprintf(f.hint, sizeof(f.hint), "%s", hint ? hint : "");
	va_start(ap, fmt);
	vsnprintf(f.why, sizeof(f.why), fmt, ap);
	va_end(ap);
	return cr_push_verdict_add(v, &f);
}

/* The last error's message (and hint) as a finding's text. */
static int add_error(cr_push_verdict *v, const char *ref, const char *hint, const char *what)
{
	const cr_error *e = cr_error_last();
	int rc = add(v, true, ref, e && e->hint[0] ? e->hint : hint, "%s: %s", what,
		     e && e->message[0] ? e->message : "invalid");
	cr_error_clear();
	return rc;
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool known(const cr_push_names *nm, const char *ref)
{
	for (const char *const *k = nm->known; k && *k; k++)
		if (!strcmp(*k, ref))
			return true;
	return false;
}

/* A ref that only moves forward: not deleted, not rewound. 1 when the
 * update is a forward move (or a creation) to check further, 0 when it
 * was refused (the finding added), or an error. */
static int forward_only(const cr_svc *s, const cr_push_update *u, cr_push_verdict *v)
{
	if (!u->new_[0])
		return add(v, true, u->ref,
			   "nothing: evidence is never deleted (a release is withdrawn with git clean-release release revoke)",
			   "deletes %s: clean-release refs are append-only", u->ref) < 0 ? CR_EINTERNAL : 0;
	if (!u->old[0])
		return 1;
	int rc = s->ledger->descends(s->ledger->impl, u->old, u->new_);
	if (rc < 0)
		return add_error(v, u->ref, NULL, "cannot compare the old and new tips") < 0 ? CR_EINTERNAL : 0;
	if (rc == 0)
		return add(v, true, u->ref, SYNC_HINT,
			   "rewinds %s: %.12s does not descend from the server's %.12s (a force-push; the ref only moves forward)",
			   u->ref, u->new_, u->old) < 0 ? CR_EINTERNAL : 0;
	return 1;
}

static int check_ledger(const cr_svc *s, const cr_push_update *u, cr_push_verdict *v)
{
	uint64_t commits = 0, objects = 0;
	int rc = forward_only(s, u, v);

	if (rc <= 0)
		return rc;
	/* The port is at u->new_: verify what the push adds, old tip to new. */
	rc = s->ledger->verify(s->ledger->impl, u->old[0] ? u->old : NULL, &commits, &objects);
	v->commits += commits;
	v->objects += objects;
	if (rc == CR_EINTEGRITY || rc == CR_EINVALID_INPUT || rc == CR_EINVALID_ARGUMENT)
		return add_error(v, u->ref, "run git clean-release verify in your clone; " SYNC_HINT,
				 "the ledger it pushes is not valid");
	return rc;
}

/* The policy ref: forward, linear, valid documents, and the commit the
 * ledger (as the push leaves it) records as in force, or one before it
 * (a publish cut short moves the ref last). */
static int check_policy(const cr_svc *s, const cr_push_update *u, cr_txn *t, cr_push_verdict *v)
{
	char *pj = NULL, *rj = NULL;
	cr_policy pol = {0};
	cr_policy_binding b;
	uint64_t n = 0;
	int rc = forward_only(s, u, v);

	if (rc <= 0)
		return rc;
	if (s->policy->linear(s->policy->impl, u->old[0] ? u->old : NULL, u->new_, &n) < 0)
		return add_error(v, u->ref, "publish policies only with git clean-release policy publish",
				 "the policy history it pushes is not valid");
	if (s->policy->at(s->policy->impl, u->new_, &pj, &rj, NULL, NULL) < 0 ||
	    cr_svc_policy_validate(s, pj, rj, &pol) < 0) {
		rc = add_error(v, u->ref, "publish policies only with git clean-release policy publish, which validates them",
			       "the policy it pushes is not valid");
		goto cleanup;
	}
	if ((rc = cr_svc_policy_binding(t, s, &b)) < 0)
		goto cleanup;
	if (!b.found) {
		if (!s->policy->is_builtin(s->policy->impl, u->new_))
			rc = add(v, true, u->ref,
				 "push the ledger with it: git clean-release push (policy publish records the policy in the ledger)",
				 "moves %s to %.12s, but the ledger records no policy.publish", u->ref, u->new_);
		goto cleanup;
	}
	if (!strcmp(b.commit, u->new_))
		goto cleanup;
	rc = b.commit[0] ? s->ledger->descends(s->ledger->impl, u->new_, b.commit) : 0;
	if (rc < 0) {
		rc = add_error(v, u->ref, NULL, "cannot compare the policy commits");
		goto cleanup;
	}
	rc = rc == 1 ? 0
		     : add(v, true, u->ref, "publish with git clean-release policy publish, then git clean-release push",
			   "moves %s to %.12s, but the ledger records %.12s as the policy in force (%s)", u->ref, u->new_,
			   b.commit[0] ? b.commit : "no commit", b.event_id);
cleanup:
	cr_policy_clear(&pol);
	free(pj);
	free(rj);
	return rc;
}

/* A release tag: its commit must be the source commit of a candidate that
 * is APPROVED or PUBLISHED in the ledger at T. */
static int check_tag(const cr_svc *s, const cr_push_update *u, cr_txn *t, const cr_policy *pol,
		     cr_push_verdict *v)
{
	char commit[CR_OID_MAX], others[512] = "";
	cr_candidate_view *views = NULL;
	size_t n = 0, len = 0, seen = 0;
	int rc = s->rules->tag_matches(s->rules->impl, pol, u->ref);

	if (rc <= 0)
		return rc;
	if (s->ledger->resolve(s->ledger->impl, u->new_, commit, sizeof(commit)) < 0) {
		cr_error_clear();
		return add(v, true, u->ref, "tag a commit: git tag -f NAME COMMIT",
			   "%s points at %.12s, which is not a commit", u->ref, u->new_);
	}
	if ((rc = cr_svc_all_views(t, s, &views, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const cr_candidate_view *c = &views[i];
		if (strcmp(c->c.source_commit, commit))
			continue;
		if (c->status == CR_STATUS_APPROVED || c->status == CR_STATUS_PUBLISHED)
			goto cleanup; /* rc is 1: the tag passes */
		if (seen++ < 4 && len < sizeof(others) - 1)
			len += (size_t)snprintf(others + len, sizeof(others) - len, "%s%s is %s", len ? ", " : "",
						c->c.candidate_id, cr_status_name(c->status));
	}
	char hint[1024];
	if (seen)
		snprintf(hint, sizeof(hint), "approve it on its passed report (git clean-release release approve "
			 "--candidate-id ID --report-id RPT), then push the evidence and the tag: git clean-release push && "
			 "git push origin %s", u->ref);
	else
		snprintf(hint, sizeof(hint), "register, check and approve a candidate at %.12s (git clean-release ci "
			 "--tag an rc tag does the first three), push the evidence, then the tag", commit);
	rc = add(v, true, u->ref, hint,
		 "release tag %s points at %.12s, which is the source commit of no APPROVED or PUBLISHED candidate%s%s%s",
		 u->ref, commit, seen ? " (" : "", others, seen ? ")" : "");
cleanup:
	for (size_t i = 0; i < n; i++)
		cr_candidate_view_clear(&views[i]);
	free(views);
	return rc < 0 ? rc : 0;
}

int cr_svc_push_check(const cr_svc *s, const cr_push_names *nm, const cr_push_update *u, size_t n,
		      cr_push_verdict *out)
{
	cr_policy pol = {0};
	bool have_policy = false, tags = nm->tags;
	cr_txn *t = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		const char *ref = u[i].ref;
		if (nm->ledger && !strcmp(ref, nm->ledger))
			rc = check_ledger(s, &u[i], out);
		else if (nm->policy && !strcmp(ref, nm->policy))
			rc = check_policy(s, &u[i], t, out);
		else if (nm->notes && !strcmp(ref, nm->notes))
			rc = forward_only(s, &u[i], out);
		else if (!known(nm, ref) && nm->evidence_prefixes) {
			for (const char *const *p = nm->evidence_prefixes; *p; p++)
				if (starts(ref, *p)) {
					rc = add(out, true, ref, "push only the clean-release refs: git clean-release push",
						 "%s is not a clean-release ref (the namespaces hold only ledger, policy and "
						 "notes)", ref);
					break;
				}
		}
	}
	if (rc >= 0 && tags) {
		for (size_t i = 0; i < n && rc >= 0; i++) {
			if (!starts(u[i].ref, "refs/tags/") || !u[i].new_[0])
				continue;
			if (!have_policy) {
				if ((rc = cr_svc_policy_in_force_at(t, s, &pol)) < 0)
					break;
				have_policy = true;
				if (!pol.policy_id[0]) {
					rc = add(out, false, u[i].ref,
						 "publish one: git clean-release policy publish --policy FILE --registry FILE",
						 "release tags are not checked: no trusted policy is published here");
					break;
				}
			}
			rc = check_tag(s, &u[i], t, &pol, out);
		}
	}
	cr_policy_clear(&pol);
	s->ledger->end(t);
	if (rc < 0)
		cr_push_verdict_clear(out);
	return rc < 0 ? rc : 0;
}
