#ifndef CR_PORTS_POLICY_STORE_H
#define CR_PORTS_POLICY_STORE_H
/*
 * Policy store port: the trusted policy and registry (data-model.md §5).
 * The only way in is publish(); runs resolve the tip into snapshots.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "domain/entities.h"

typedef struct cr_policy_port {
	void *impl;
	/* The tip: both documents as stored (canonical JSON, malloc'd, caller
	 * frees) and their snapshots (digests, ref and commit).
	 * CR_EPOLICY_MISSING with a hint saying how to publish when none.
	 * A store with a built-in policy and no ref yet answers with the
	 * built-in one; PIN (a run is being requested) also makes the ref point
	 * at it, so the run's snapshot names a commit every clone has. */
	int (*resolve)(void *impl, char **policy_json, char **registry_json,
		       cr_snapshot *policy, cr_snapshot *registry, bool pin);
	/* Both documents and their snapshots as policy commit COMMIT (hex)
	 * holds them: the snapshot a run was requested with, for its runner. */
	int (*at)(void *impl, const char *commit, char **policy_json, char **registry_json,
		  cr_snapshot *policy, cr_snapshot *registry);
	/* Write (objects only, no ref moved) a commit holding both documents
	 * (already validated and canonical) whose parent is PARENT (hex; NULL:
	 * none), into OUT (LEN >= 41). The ledger then records it. */
	int (*prepare)(void *impl, const char *policy_json, const char *registry_json, const char *actor,
		       const char *message, const char *parent, char *out, size_t len);
	/* Move the ref to COMMIT (hex), whatever it points at now (the
	 * ledger decided it). */
	int (*advance)(void *impl, const char *commit);
	/* The history from TO (hex; NULL: the ref's tip) back to FROM (hex,
	 * excluded; NULL: the root) is linear (no merge) and reaches FROM: 0,
	 * or CR_EINTEGRITY naming the first merge (or TO not descending from
	 * FROM). *COMMITS gets the commits read. */
	int (*linear)(void *impl, const char *from, const char *to, uint64_t *commits);
	/* 1 if COMMIT (hex) is the built-in policy's commit (demo), else 0. */
	int (*is_builtin)(void *impl, const char *commit);
	/* The ref name (for messages). */
	const char *(*ref)(void *impl);
} cr_policy_port;

#endif
