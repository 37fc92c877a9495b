/* The packed manifest of the local manifest cache (services/manifest_pack.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "services/manifest_pack.h"
#include "services/pack.h"
#include "util/error.h"

/*
 * The packed manifest: the parsed form of one stored manifest, for a local
 * cache (a run reads it instead of parsing the JSON). Native byte order:
 * the cache never leaves the machine.
 *   "CRMANv1\n", u64 artifact_count, i64 version, u64 total_size,
 *   str manifest_id, candidate_id, import_id, source_commit, created_by,
 *       created_at, manifest_digest,
 *   per artifact: u64 size, str path, sha256, source, kind, media_type,
 *   64 hex of the SHA-256 of all that.
 * (services/pack.h: str, u64 and the trailing SHA-256).
 */
#define PACK_MAGIC "CRMANv1\n"

int cr_manifest_pack(const cr_manifest *m, cr_sbuf *b)
{
	cr_sb_put(b, PACK_MAGIC, strlen(PACK_MAGIC));
	cr_pk_u64(b, m->artifact_count);
	cr_pk_u64(b, (uint64_t)m->version);
	cr_pk_u64(b, m->total_size);
	cr_pk_str(b, m->manifest_id);
	cr_pk_str(b, m->candidate_id);
	cr_pk_str(b, m->import_id);
	cr_pk_str(b, m->source_commit);
	cr_pk_str(b, m->created_by);
	cr_pk_str(b, m->created_at);
	cr_pk_str(b, m->manifest_digest);
	for (size_t i = 0; i < m->artifact_count; i++) {
		const cr_artifact *a = &m->artifacts[i];
		cr_pk_u64(b, a->size);
		cr_pk_str(b, a->path);
		cr_pk_str(b, a->sha256);
		cr_pk_str(b, a->source);
		cr_pk_str(b, a->kind);
		cr_pk_str(b, a->media_type);
	}
	return cr_pk_seal(b, "a manifest");
}

int cr_manifest_unpack(const char *buf, size_t len, cr_manifest *m)
{
	cr_unpacker u;
	uint64_t n;
	char *created_by;

	memset(m, 0, sizeof(*m));
	if (len < strlen(PACK_MAGIC) + 24 + 64 || memcmp(buf, PACK_MAGIC, strlen(PACK_MAGIC)))
		return cr_error_set(CR_EINVALID_INPUT, "not a packed manifest");
	if (!cr_up_open(&u, buf, len, PACK_MAGIC, NULL))
		return cr_error_set(CR_EINVALID_INPUT, "packed manifest: checksum mismatch");
	n = cr_up_u64(&u);
	/* Every artifact takes at least 8 + 5 * 4 bytes. */
	if (n > u.left / 28 || !(m->strings = malloc(len)) || (n && !(m->artifacts = calloc((size_t)n, sizeof(*m->artifacts))))) {
		free(m->strings);
		m->strings = NULL;
		return cr_error_set(n > u.left / 28 ? CR_EINVALID_INPUT : CR_EINTERNAL, "packed manifest: %s",
				    n > u.left / 28 ? "bad artifact count" : "out of memory");
	}
	u.out = m->strings;
	m->artifact_count = (size_t)n;
	m->version = (int64_t)cr_up_u64(&u);
	m->total_size = cr_up_u64(&u);
	cr_up_fixed(&u, m->manifest_id, sizeof(m->manifest_id));
	cr_up_fixed(&u, m->candidate_id, sizeof(m->candidate_id));
	cr_up_fixed(&u, m->import_id, sizeof(m->import_id));
	cr_up_fixed(&u, m->source_commit, sizeof(m->source_commit));
	created_by = cr_up_str(&u);
	cr_up_fixed(&u, m->created_at, sizeof(m->created_at));
	cr_up_fixed(&u, m->manifest_digest, sizeof(m->manifest_digest));
	if (!u.bad && created_by && !(m->created_by = strdup(created_by)))
		u.bad = true;
	for (size_t i = 0; i < m->artifact_count && !u.bad; i++) {
		cr_artifact *a = &m->artifacts[i];
		a->size = cr_up_u64(&u);
		a->path = cr_up_str(&u);
		if (!cr_up_fixed(&u, a->sha256, sizeof(a->sha256)))
			break;
		a->source = cr_up_str(&u);
		a->kind = cr_up_str(&u);
		a->media_type = cr_up_str(&u);
		if (!a->path)
			u.bad = true;
	}
	if (u.bad || u.left || !m->created_by) {
		cr_manifest_clear(m);
		return cr_error_set(CR_EINVALID_INPUT, "packed manifest: malformed");
	}
	return 0;
}
