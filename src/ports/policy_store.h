#ifndef CR_PORTS_POLICY_STORE_H
#define CR_PORTS_POLICY_STORE_H
/*
 * Policy store port: the trusted policy and registry (data-model.md §5).
 * The only way in is publish(); runs resolve the tip into snapshots.
 */
#include <stdbool.h>
#include <stddef.h>
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
	/* Append a commit holding both documents (already validated and
	 * canonical), by compare-and-swap on the ref. */
	int (*publish)(void *impl, const char *policy_json, const char *registry_json,
		       const char *actor, const char *message);
	/* The ref name (for messages). */
	const char *(*ref)(void *impl);
} cr_policy_port;

#endif
