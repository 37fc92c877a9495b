#ifndef CR_PORTS_RULES_H
#define CR_PORTS_RULES_H
/*
 * Rules port: a policy and registry compiled into what the workers match
 * with. The services check a policy before publishing it and compile it
 * for a run through this port; what compiled rules are is the adapter's
 * (the engine's), and the services only hand them to the task port's pool.
 */
#include "domain/entities.h"

typedef struct cr_rules cr_rules; /* opaque here: read-only, shared with the forked workers */

typedef struct cr_rules_port {
	void *impl;
	/* Check P for publishing: every pattern compiles, every rule fits its
	 * stage and has an id of its own; CR_EINVALID_INPUT naming the rule. */
	int (*check)(void *impl, const cr_policy *p);
	/* Compile P and R for a run into *OUT (free with release). */
	int (*compile)(void *impl, const cr_policy *p, const cr_registry *r, cr_rules **out);
	void (*release)(void *impl, cr_rules *rules);
	/* 1 if REF (a full ref name) matches P's release_tag_pattern, 0 if
	 * not, negative on error. */
	int (*tag_matches)(void *impl, const cr_policy *p, const char *ref);
} cr_rules_port;

#endif
