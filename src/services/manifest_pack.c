/* The packed manifest of the local manifest cache (services/manifest_pack.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "services/manifest_pack.h"
#include "util/error.h"
#include "util/sha256.h"

/*
 * The packed manifest: the parsed form of one stored manifest, for a local
 * cache (a run reads it instead of parsing the JSON). Native byte order:
 * the cache never leaves the machine.
 *   "CRMANv1\n", u64 artifact_count, i64 version, u64 total_size,
 *   str manifest_id, candidate_id, import_id, source_commit, created_by,
 *       created_at, manifest_digest,
 *   per artifact: u64 size, str path, sha256, source, kind, media_type,
 *   64 hex of the SHA-256 of all that.
 * str: u32 length (PACK_NULL: absent), then the bytes.
 */
#define PACK_MAGIC "CRMANv1\n"
#define PACK_MAGIC_LEN 8
#define PACK_NULL UINT32_MAX

static void pk_u64(cr_sbuf *b, uint64_t v) { cr_sb_put(b, (const char *)&v, 8); }

static void pk_str(cr_sbuf *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : PACK_NULL;

	cr_sb_put(b, (const char *)&n, 4);
	if (s)
		cr_sb_put(b, s, n);
}

int cr_manifest_pack(const cr_manifest *m, cr_sbuf *b)
{
	char sum[CR_SHA_MAX];

	cr_sb_put(b, PACK_MAGIC, PACK_MAGIC_LEN);
	pk_u64(b, m->artifact_count);
	pk_u64(b, (uint64_t)m->version);
	pk_u64(b, m->total_size);
	pk_str(b, m->manifest_id);
	pk_str(b, m->candidate_id);
	pk_str(b, m->import_id);
	pk_str(b, m->source_commit);
	pk_str(b, m->created_by);
	pk_str(b, m->created_at);
	pk_str(b, m->manifest_digest);
	for (size_t i = 0; i < m->artifact_count; i++) {
		const cr_artifact *a = &m->artifacts[i];
		pk_u64(b, a->size);
		pk_str(b, a->path);
		pk_str(b, a->sha256);
		pk_str(b, a->source);
		pk_str(b, a->kind);
		pk_str(b, a->media_type);
	}
	if (b->oom)
		return cr_error_set(CR_EINTERNAL, "out of memory packing a manifest");
	cr_sha256_hex(b->p, b->len, sum);
	cr_sb_put(b, sum, 64);
	return b->oom ? cr_error_set(CR_EINTERNAL, "out of memory packing a manifest") : 0;
}

typedef struct unpacker {
	const char *p;
	size_t left;
	char *out; /* next free byte of the strings block */
	bool bad;
} unpacker;

static uint64_t up_u64(unpacker *u)
{
	uint64_t v = 0;

	if (u->left < 8) {
		u->bad = true;
		return 0;
	}
	memcpy(&v, u->p, 8);
	u->p += 8;
	u->left -= 8;
	return v;
}

/* The next string, copied NUL-terminated into the strings block; NULL when
 * absent (or bad). */
static char *up_str(unpacker *u)
{
	uint32_t n;
	char *s;

	if (u->bad || u->left < 4) {
		u->bad = true;
		return NULL;
	}
	memcpy(&n, u->p, 4);
	u->p += 4;
	u->left -= 4;
	if (n == PACK_NULL)
		return NULL;
	if (n > u->left || memchr(u->p, '\0', n)) {
		u->bad = true;
		return NULL;
	}
	s = u->out;
	memcpy(s, u->p, n);
	s[n] = '\0';
	u->out += (size_t)n + 1;
	u->p += n;
	u->left -= n;
	return s;
}

/* Copy a string into a fixed field; false if absent or too long. */
static bool up_fixed(unpacker *u, char *dst, size_t len)
{
	const char *s = up_str(u);

	if (!s || strlen(s) >= len) {
		u->bad = true;
		return false;
	}
	memcpy(dst, s, strlen(s) + 1);
	return true;
}

int cr_manifest_unpack(const char *buf, size_t len, cr_manifest *m)
{
	unpacker u;
	char sum[CR_SHA_MAX];
	uint64_t n;
	char *created_by;

	memset(m, 0, sizeof(*m));
	if (len < PACK_MAGIC_LEN + 24 + 64 || memcmp(buf, PACK_MAGIC, PACK_MAGIC_LEN))
		return cr_error_set(CR_EINVALID_INPUT, "not a packed manifest");
	cr_sha256_hex(buf, len - 64, sum);
	if (memcmp(sum, buf + len - 64, 64))
		return cr_error_set(CR_EINVALID_INPUT, "packed manifest: checksum mismatch");
	u.p = buf + PACK_MAGIC_LEN;
	u.left = len - 64 - PACK_MAGIC_LEN;
	u.bad = false;
	n = up_u64(&u);
	/* Every artifact takes at least 8 + 5 * 4 bytes. */
	if (n > u.left / 28 || !(m->strings = malloc(len)) || (n && !(m->artifacts = calloc((size_t)n, sizeof(*m->artifacts))))) {
		free(m->strings);
		m->strings = NULL;
		return cr_error_set(n > u.left / 28 ? CR_EINVALID_INPUT : CR_EINTERNAL, "packed manifest: %s",
				    n > u.left / 28 ? "bad artifact count" : "out of memory");
	}
	u.out = m->strings;
	m->artifact_count = (size_t)n;
	m->version = (int64_t)up_u64(&u);
	m->total_size = up_u64(&u);
	up_fixed(&u, m->manifest_id, sizeof(m->manifest_id));
	up_fixed(&u, m->candidate_id, sizeof(m->candidate_id));
	up_fixed(&u, m->import_id, sizeof(m->import_id));
	up_fixed(&u, m->source_commit, sizeof(m->source_commit));
	created_by = up_str(&u);
	up_fixed(&u, m->created_at, sizeof(m->created_at));
	up_fixed(&u, m->manifest_digest, sizeof(m->manifest_digest));
	if (!u.bad && created_by && !(m->created_by = strdup(created_by)))
		u.bad = true;
	for (size_t i = 0; i < m->artifact_count && !u.bad; i++) {
		cr_artifact *a = &m->artifacts[i];
		a->size = up_u64(&u);
		a->path = up_str(&u);
		if (!up_fixed(&u, a->sha256, sizeof(a->sha256)))
			break;
		a->source = up_str(&u);
		a->kind = up_str(&u);
		a->media_type = up_str(&u);
		if (!a->path)
			u.bad = true;
	}
	if (u.bad || u.left || !m->created_by) {
		cr_manifest_clear(m);
		return cr_error_set(CR_EINVALID_INPUT, "packed manifest: malformed");
	}
	return 0;
}
