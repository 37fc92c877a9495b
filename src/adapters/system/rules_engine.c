/* The rules port on the engine (adapters/system/system.h). */
#include "adapters/system/system.h"
#include "engine/engine.h"

static int r_check(void *impl, const cr_policy *p)
{
	(void)impl;
	return cr_rules_check_policy(p);
}

static int r_compile(void *impl, const cr_policy *p, const cr_registry *r, cr_rules **out)
{
	const cr_cache_port *cache = impl;

	return cr_rules_compile_cached(out, p, r, cache ? cache->dir(cache->impl) : NULL);
}

static void r_release(void *impl, cr_rules *rules)
{
	(void)impl;
	cr_rules_free(rules);
}

static int r_tag_matches(void *impl, const cr_policy *p, const char *ref)
{
	(void)impl;
	return cr_rules_tag_matches(p, ref);
}

void cr_rules_engine(cr_rules_port *out, const cr_cache_port *cache)
{
	out->impl = (void *)cache;
	out->check = r_check;
	out->compile = r_compile;
	out->release = r_release;
	out->tag_matches = r_tag_matches;
}
