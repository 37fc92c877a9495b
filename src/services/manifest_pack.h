#ifndef CR_SERVICES_MANIFEST_PACK_H
#define CR_SERVICES_MANIFEST_PACK_H
/*
 * The packed manifest of the local manifest cache (cr_svc_cache_manifest,
 * cr_svc_cached_manifest): the parsed form of one stored manifest, so that
 * a run reads it instead of parsing the JSON. Self-contained: it needs only
 * the entities and a SHA-256.
 */
#include <stddef.h>
#include "domain/entities.h"
#include "util/json.h"

/* The stored fields of M in a compact binary form, with a trailing SHA-256
 * of its bytes, appended to B (the caller frees B with cr_sb_free). */
int cr_manifest_pack(const cr_manifest *m, cr_sbuf *b);
/* Back from BUF[0..LEN): *M as cr_manifest_from_json gives it, its strings
 * in one block (M->strings); the caller frees it with cr_manifest_clear.
 * CR_EINVALID_INPUT for anything that does not check out. */
int cr_manifest_unpack(const char *buf, size_t len, cr_manifest *m);

#endif
