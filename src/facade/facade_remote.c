/*
 * Evidence between clones: after `git fetch` brought a remote's refs into
 * its remote-tracking refs (refs/clean-release-remotes/<remote>/...), the
 * local refs take them where that loses nothing: a ref that is absent, or
 * an ancestor of the remote's, fast-forwards (the ledger only after the
 * range it gains verifies). A local ref ahead of the remote's stays (its
 * entries are for `push`); one that diverged stays too, for `sync`.
 */
#include <stdio.h>
#include <string.h>
#include "facade/internal.h"
#include "domain/ids.h"
#include "util/error.h"

int cr_facade_remote_name_check(const char *remote)
{
	size_t n = remote ? strlen(remote) : 0;
	if (n == 0 || n > 100 || strspn(remote, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n ||
	    remote[0] == '.' || remote[0] == '-' || strstr(remote, "..") || (n >= 5 && !strcmp(remote + n - 5, ".lock")))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid remote name \"%.100s\": letters, digits, '.', '_' and '-' only",
				    remote ? remote : "");
	return 0;
}

void cr_facade_remote_ref(const char *remote, bool demo, const char *which, char *out, size_t len)
{
	const char *ns = demo ? "clean-release-demo" : "clean-release";
	if (!strcmp(which, "notes"))
		snprintf(out, len, "refs/clean-release-remotes/%s/notes/%s", remote, ns);
	else
		snprintf(out, len, "refs/clean-release-remotes/%s/%s/%s", remote, ns, which);
}

static const char *state_name(int s)
{
	static const char *const names[] = {"absent", "up to date", "ahead", "created", "fast-forward", "diverged"};
	return s >= 0 && s < (int)(sizeof(names) / sizeof(names[0])) ? names[s] : "?";
}

const char *cr_facade_adopt_state(int s)
{
	return state_name(s);
}

/* Where LOCAL stands against REMOTE (hex, "" when absent). */
static int compare(cr_facade *f, const char *local, const char *remote, int *state)
{
	if (!remote[0]) {
		*state = CR_ADOPT_ABSENT;
		return 0;
	}
	if (!local[0]) {
		*state = CR_ADOPT_CREATED;
		return 0;
	}
	if (!strcmp(local, remote)) {
		*state = CR_ADOPT_UP_TO_DATE;
		return 0;
	}
	int rc = f->ledger.descends(f->ledger.impl, local, remote);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		*state = CR_ADOPT_FAST_FORWARD;
		return 0;
	}
	if ((rc = f->ledger.descends(f->ledger.impl, remote, local)) < 0)
		return rc;
	*state = rc == 1 ? CR_ADOPT_AHEAD : CR_ADOPT_DIVERGED;
	return 0;
}

static int move(cr_facade *f, const char *ref, const char *local, const char *remote)
{
	git_oid to, from;
	git_oid_fromstr(&to, remote);
	if (local[0])
		git_oid_fromstr(&from, local);
	int rc = cr_git_ref_cas(f->repo, ref, &to, local[0] ? &from : NULL, "clean-release fetch: fast-forward");
	if (rc == CR_ERETRY)
		return cr_error_set(CR_ECONFLICT, "%s moved while it was being fast-forwarded; run the command again", ref);
	return rc;
}

/* The ledger fetched from REMOTE, at AT (hex), verifies after FROM (hex;
 * "" from the root); *COMMITS gets the commits read. WHAT says what is
 * not done when it does not ("so it was not taken"). */
static int verify_fetched(const cr_facade_opts *o, const char *remote, const char *at, const char *from,
			  uint64_t *commits, const char *what)
{
	cr_facade_opts ao = *o;
	cr_facade *f = NULL;
	cr_verify_result v = {0};
	int rc;

	ao.ledger_at = at;
	ao.read_only = true;
	if ((rc = cr_facade_open(&f, &ao)) == 0 && (rc = cr_facade_verify(f, from[0] ? from : NULL, &v)) < 0) {
		char why[CR_ERROR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", cr_error_last()->message);
		cr_error_set(rc, "the ledger fetched from %s does not verify, %s: %s", remote, what, why);
	}
	*commits = v.commits;
	cr_facade_close(f);
	return rc;
}

int cr_facade_adopt(const cr_facade_opts *o, const char *remote, cr_adopt_result *out)
{
	cr_facade *f = NULL;
	cr_git_refs refs;
	char rl[300], rp[300], rn[300], l[CR_OID_MAX], r[CR_OID_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cr_facade_remote_name_check(remote)) < 0)
		return rc;
	if ((rc = cr_facade_open(&f, o)) < 0)
		return rc;
	if ((rc = cr_facade_writable(f, "taking the fetched evidence")) < 0)
		goto cleanup;
	cr_git_refs_for(&refs, f->demo ? "clean-release-demo" : "clean-release");
	cr_facade_remote_ref(remote, f->demo, "ledger", rl, sizeof(rl));
	cr_facade_remote_ref(remote, f->demo, "policy", rp, sizeof(rp));
	cr_facade_remote_ref(remote, f->demo, "notes", rn, sizeof(rn));

	/* The ledger: what it gains verifies before the ref moves. */
	if ((rc = cr_git_ref_tip(f->repo, refs.ledger, l)) < 0 || (rc = cr_git_ref_tip(f->repo, rl, r)) < 0 ||
	    (rc = compare(f, l, r, &out->ledger)) < 0)
		goto cleanup;
	if (out->ledger == CR_ADOPT_CREATED || out->ledger == CR_ADOPT_FAST_FORWARD) {
		if ((rc = verify_fetched(o, remote, r, l, &out->commits, "so it was not taken")) < 0)
			goto cleanup;
		if ((rc = move(f, refs.ledger, l, r)) < 0)
			goto cleanup;
	}
	/* The policy: its own history only moves forward too. */
	if ((rc = cr_git_ref_tip(f->repo, refs.policy, l)) < 0 || (rc = cr_git_ref_tip(f->repo, rp, r)) < 0 ||
	    (rc = compare(f, l, r, &out->policy)) < 0)
		goto cleanup;
	if (out->policy == CR_ADOPT_CREATED || out->policy == CR_ADOPT_FAST_FORWARD) {
		uint64_t n;
		if ((rc = f->policy.linear(f->policy.impl, l[0] ? l : NULL, r, &n)) < 0 || (rc = move(f, refs.policy, l, r)) < 0)
			goto cleanup;
	}
	/* The notes: derived, taken when they only add. */
	if ((rc = cr_git_ref_tip(f->repo, refs.notes, l)) < 0 || (rc = cr_git_ref_tip(f->repo, rn, r)) < 0 ||
	    (rc = compare(f, l, r, &out->notes)) < 0)
		goto cleanup;
	if (out->notes == CR_ADOPT_CREATED || out->notes == CR_ADOPT_FAST_FORWARD)
		rc = move(f, refs.notes, l, r);
cleanup:
	cr_facade_close(f);
	return rc;
}

/* Move REF from its tip now to TO (hex), whatever that tip is (sync's
 * reset of a derived or superseded ref); a no-op when it is there. */
static int reset_ref(cr_facade *f, const char *ref, const char *to, const char *why)
{
	char now[CR_OID_MAX];
	git_oid t, n;
	int rc;

	if ((rc = cr_git_ref_tip(f->repo, ref, now)) < 0 || !strcmp(now, to))
		return rc;
	git_oid_fromstr(&t, to);
	if (now[0])
		git_oid_fromstr(&n, now);
	rc = cr_git_ref_cas(f->repo, ref, &t, now[0] ? &n : NULL, why);
	return rc == CR_ERETRY ? cr_error_set(CR_ECONFLICT, "%s moved during sync; run it again", ref) : rc;
}

int cr_facade_sync_replay(const cr_facade_opts *o, const char *remote, cr_sync_result *out)
{
	cr_facade *f = NULL;
	cr_ledger_port detached = {0};
	cr_git_refs refs;
	char rl[300], rn[300], l[CR_OID_MAX], r[CR_OID_MAX], base[CR_OID_MAX], rnotes[CR_OID_MAX];
	cr_replay_result rr = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cr_facade_remote_name_check(remote)) < 0 || (rc = cr_facade_open(&f, o)) < 0)
		return rc;
	if ((rc = cr_facade_writable(f, "sync")) < 0)
		goto cleanup;
	cr_git_refs_for(&refs, f->demo ? "clean-release-demo" : "clean-release");
	cr_facade_remote_ref(remote, f->demo, "ledger", rl, sizeof(rl));
	cr_facade_remote_ref(remote, f->demo, "notes", rn, sizeof(rn));
	if ((rc = cr_git_ref_tip(f->repo, refs.ledger, l)) < 0 || (rc = cr_git_ref_tip(f->repo, rl, r)) < 0 ||
	    (rc = compare(f, l, r, &out->ledger)) < 0 || out->ledger != CR_ADOPT_DIVERGED)
		goto cleanup;
	if ((rc = f->ledger.merge_base(f->ledger.impl, l, r, base, sizeof(base))) < 0)
		goto cleanup;

	/* The fetched ledger verifies from where the two part. */
	uint64_t vc;
	if ((rc = verify_fetched(o, remote, r, base, &vc, "so nothing was replayed")) < 0)
		goto cleanup;

	/* The replay: a chain on the fetched tip, no ref moved until it verifies. */
	cr_git_ledger_opts lo = {.at = r, .detached = true};
	if ((rc = cr_git_ledger_open(&detached, f->repo, &refs, &lo)) < 0)
		goto cleanup;
	cr_svc onto = f->svc;
	onto.ledger = &detached;
	onto.cache = NULL;
	if ((rc = cr_svc_replay(&onto, &f->ledger, base, l, remote, &rr)) < 0)
		goto cleanup;
	uint64_t nc, no;
	if ((rc = detached.head(detached.impl, out->tip, sizeof(out->tip))) < 0 ||
	    (rc = cr_svc_verify(&onto, r, false, &nc, &no)) < 0)
		goto cleanup;
	rc = reset_ref(f, refs.ledger, out->tip, "clean-release sync: local operations replayed on the fetched ledger");
	if (rc < 0)
		goto cleanup;

	/* The policy in force is the one the merged ledger records. */
	char pc[CR_OID_MAX];
	if ((rc = cr_svc_policy_in_force(&f->svc, pc, sizeof(pc))) == 0 && pc[0])
		rc = reset_ref(f, refs.policy, pc, "clean-release sync: the policy the merged ledger records");
	/* The notes: the fetched ones, and the lines of what was replayed on top. */
	if (rc == 0 && (rc = cr_git_ref_tip(f->repo, rn, rnotes)) == 0 && rnotes[0])
		rc = reset_ref(f, refs.notes, rnotes, "clean-release sync: the fetched notes");
	if (rc == 0)
		cr_svc_notes_refresh(&f->svc, &rr.touched);
	out->commits = rr.commits;
	out->replayed = rr.replayed;
	out->refused = rr.refused;
	out->dropped = rr.dropped;
	out->renumbered = rr.renumbered;
cleanup:
	cr_strlist_clear(&rr.touched);
	if (detached.impl)
		cr_git_ledger_close(&detached);
	cr_facade_close(f);
	return rc;
}
