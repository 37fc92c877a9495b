#include "adapters/git/ledger_internal.h"

/* ---- status notes ----------------------------------------------------- */

/* A note keeps at most this many candidate lines (a source commit that many
 * candidates were built from); the oldest lines go first. The note is a
 * convenience view: `candidate list` has them all. */
#define NOTE_MAX_LINES 64

/* The note text for OLDMSG with CID's line replaced by LINE (appended last),
 * malloc'd. */
static char *note_text(const char *oldmsg, size_t oldlen, const char *cid, const char *line)
{
	size_t plen = strlen(cid) + 2, cap = oldlen + strlen(line) + 2, used = 0, nlines = 0;
	const char *starts[NOTE_MAX_LINES + 1];
	size_t lens[NOTE_MAX_LINES + 1];
	char *text = malloc(cap + 1);

	if (!text)
		return NULL;
	/* Keep the other candidates' lines, the newest NOTE_MAX_LINES - 1. */
	for (const char *p = oldmsg, *end = oldmsg + oldlen; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && !(n >= plen && !strncmp(p, cid, plen - 2) && p[plen - 2] == ':' && p[plen - 1] == ' ')) {
			if (nlines == NOTE_MAX_LINES - 1) {
				memmove(starts, starts + 1, sizeof(starts[0]) * (nlines - 1));
				memmove(lens, lens + 1, sizeof(lens[0]) * (nlines - 1));
				nlines--;
			}
			starts[nlines] = p;
			lens[nlines++] = n;
		}
		p += n + 1;
	}
	for (size_t i = 0; i < nlines; i++) {
		memcpy(text + used, starts[i], lens[i]);
		used += lens[i];
		text[used++] = '\n';
	}
	used += (size_t)snprintf(text + used, cap + 1 - used, "%s\n", line);
	return text;
}

/* The status note of a commit lives at "ab/cdef…" (git's two-hex fan-out,
 * which libgit2 does not write by itself), so one update writes a few small
 * trees instead of one tree with an entry per noted commit. */
int cr_gl_ledger_note(void *impl, const char *source_commit, const char *cid, const char *line)
{
	struct ledger *l = impl;
	git_repository *repo = l->repo;
	git_signature *sig = NULL;
	char fanned[GIT_OID_HEXSZ + 2];
	int rc = 0;

	if ((rc = cr_gl_writable(l, "write a status note")) < 0)
		return rc;
	if (l->detached) /* a replay: the notes are rebuilt once it is in place */
		return 0;
	if (strlen(source_commit) != GIT_OID_HEXSZ)
		return cr_error_set(CR_EINVALID_ARGUMENT, "bad source commit %s", source_commit);
	snprintf(fanned, sizeof(fanned), "%.2s/%s", source_commit, source_commit + 2);
	if (git_signature_now(&sig, "clean-release", "clean-release@localhost") < 0)
		return cr_git_error("cannot make a signature");

	for (int attempt = 0; attempt < 100; attempt++) {
		git_oid tip, blob, tree_id, commit_id;
		git_commit *parent = NULL;
		git_tree *base = NULL, *tree = NULL;
		git_tree_entry *old = NULL, *flat = NULL;
		git_blob *oldblob = NULL;
		char *text = NULL;
		int has_tip = git_reference_name_to_id(&tip, repo, l->refs.notes) == 0;

		rc = 0;
		/* Notes are a derived view: a tip that is gone (pruned while it
		 * was written) starts them again. */
		if (has_tip && git_commit_lookup(&parent, repo, &tip) == 0 && git_commit_tree(&base, parent) == 0) {
			/* the notes so far */
		} else {
			if (has_tip) {
				git_commit_free(parent);
				parent = NULL;
				cr_git_reflog_forget(repo, l->refs.notes, NULL);
			}
			git_treebuilder *tb = NULL;
			git_oid empty;
			if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&empty, tb) < 0 ||
			    git_tree_lookup(&base, repo, &empty) < 0)
				rc = cr_git_error("cannot write the notes");
			else
				cr_git_share_object(repo, l->shared, &empty);
			git_treebuilder_free(tb);
		}
		if (rc == 0) {
			/* A note git wrote without fan-out moves to the fanned path. */
			git_tree_entry_bypath(&flat, base, source_commit);
			git_tree_entry_bypath(&old, base, fanned);
			const git_tree_entry *from = old ? old : flat;
			if (from && git_blob_lookup(&oldblob, repo, git_tree_entry_id(from)) < 0)
				rc = cr_git_error("cannot read the status note");
		}
		if (rc == 0 && !(text = note_text(oldblob ? git_blob_rawcontent(oldblob) : NULL,
						  oldblob ? (size_t)git_blob_rawsize(oldblob) : 0, cid, line)))
			rc = cr_error_set(CR_EINTERNAL, "out of memory");
		if (rc == 0) {
			git_tree_update upd[2];
			size_t n = 0;
			memset(upd, 0, sizeof(upd));
			if (git_blob_create_from_buffer(&blob, repo, text, strlen(text)) < 0) {
				rc = cr_git_error("cannot write the status note");
			} else {
				upd[n].action = GIT_TREE_UPDATE_UPSERT;
				upd[n].id = blob;
				upd[n].filemode = GIT_FILEMODE_BLOB;
				upd[n++].path = fanned;
				if (flat) {
					upd[n].action = GIT_TREE_UPDATE_REMOVE;
					upd[n++].path = source_commit;
				}
				const git_commit *parents[1] = {parent};
				if (git_tree_create_updated(&tree_id, repo, base, n, upd) < 0 ||
				    git_tree_lookup(&tree, repo, &tree_id) < 0 ||
				    git_commit_create(&commit_id, repo, NULL, sig, sig, NULL, "clean-release: status note\n",
						      tree, parent ? 1 : 0, parents) < 0)
					rc = cr_git_error("cannot write the status note");
			}
		}
		if (rc == 0)
			rc = cr_git_ref_cas(repo, l->refs.notes, &commit_id, has_tip ? &tip : NULL,
					    "clean-release: status note");
		if (rc == 0 && l->shared) {
			git_tree_entry *sub = NULL;
			char dir[3] = {fanned[0], fanned[1], 0};
			cr_git_share_object(repo, l->shared, &blob);
			cr_git_share_object(repo, l->shared, &tree_id);
			cr_git_share_object(repo, l->shared, &commit_id);
			if (git_tree_entry_bypath(&sub, tree, dir) == 0)
				cr_git_share_object(repo, l->shared, git_tree_entry_id(sub));
			git_tree_entry_free(sub);
			cr_git_share_ref(repo, l->shared, l->refs.notes);
		}
		if (rc == 0) {
			/* Pruned before the ref moved: write it again. */
			git_odb *odb = NULL;
			if (git_repository_odb(&odb, repo) == 0) {
				git_odb_refresh(odb);
				if (!cr_gl_in_store(odb, &commit_id) || !cr_gl_in_store(odb, &tree_id))
					rc = CR_ERETRY; /* the next attempt starts the notes again */
				git_odb_free(odb);
			}
		}
		free(text);
		git_blob_free(oldblob);
		git_tree_entry_free(old);
		git_tree_entry_free(flat);
		git_tree_free(tree);
		git_tree_free(base);
		git_commit_free(parent);
		if (rc != CR_ERETRY)
			break;
		rc = cr_error_set(CR_ECONFLICT, "the status note kept moving; not updated");
		/* Up to ~8 s in all: longer than a stale lock takes to clear. */
		long ms = attempt < 50 ? 2L * (attempt + 1) : 100L;
		struct timespec ts = {0, ms * 1000000L};
		nanosleep(&ts, NULL);
	}
	git_signature_free(sig);
	return rc;
}

