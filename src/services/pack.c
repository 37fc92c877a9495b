/* The binary form of the local caches' entries (services/pack.h). */
#include <string.h>
#include "domain/entities.h"
#include "services/pack.h"
#include "util/error.h"
#include "util/sha256.h"

void cr_pk_u64(cr_sbuf *b, uint64_t v) { cr_sb_put(b, (const char *)&v, 8); }

void cr_pk_u8(cr_sbuf *b, uint8_t v) { cr_sb_put(b, (const char *)&v, 1); }

void cr_pk_str(cr_sbuf *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : CR_PACK_NULL;

	cr_sb_put(b, (const char *)&n, 4);
	if (s)
		cr_sb_put(b, s, n);
}

int cr_pk_seal(cr_sbuf *b, const char *what)
{
	char sum[CR_SHA_MAX];

	if (b->oom)
		return cr_error_set(CR_EINTERNAL, "out of memory packing %s", what);
	cr_sha256_hex(b->p, b->len, sum);
	cr_sb_put(b, sum, 64);
	return b->oom ? cr_error_set(CR_EINTERNAL, "out of memory packing %s", what) : 0;
}

bool cr_up_open(cr_unpacker *u, const char *buf, size_t len, const char *magic, char *strings)
{
	size_t ml = strlen(magic);
	char sum[CR_SHA_MAX];

	memset(u, 0, sizeof(*u));
	u->bad = true;
	if (len < ml + 64 || memcmp(buf, magic, ml))
		return false;
	cr_sha256_hex(buf, len - 64, sum);
	if (memcmp(sum, buf + len - 64, 64))
		return false;
	u->p = buf + ml;
	u->left = len - 64 - ml;
	u->out = strings;
	u->bad = false;
	return true;
}

static bool take(cr_unpacker *u, void *dst, size_t n)
{
	if (u->bad || u->left < n) {
		u->bad = true;
		return false;
	}
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return true;
}

uint64_t cr_up_u64(cr_unpacker *u)
{
	uint64_t v = 0;
	return take(u, &v, 8) ? v : 0;
}

uint8_t cr_up_u8(cr_unpacker *u)
{
	uint8_t v = 0;
	return take(u, &v, 1) ? v : 0;
}

char *cr_up_str(cr_unpacker *u)
{
	uint32_t n;
	char *s;

	if (!take(u, &n, 4) || n == CR_PACK_NULL)
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

bool cr_up_fixed(cr_unpacker *u, char *dst, size_t len)
{
	const char *s = cr_up_str(u);

	if (!s || strlen(s) >= len) {
		u->bad = true;
		return false;
	}
	memcpy(dst, s, strlen(s) + 1);
	return true;
}
