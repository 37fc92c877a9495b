/*
 * SSH signatures (OpenSSH's PROTOCOL.sshsig, what `ssh-keygen -Y sign`
 * writes and git keeps in a commit's gpgsig header), checked in process
 * with OpenSSL: a ledger of thousands of signed commits verifies without a
 * process a signature. ssh-ed25519 keys; others are CR_EINVALID_ARGUMENT.
 */
#include <string.h>
#include <openssl/evp.h>
#include "util/error.h"
#include "util/sshsig.h"

#define MAGIC "SSHSIG"

struct rd {
	const unsigned char *p;
	size_t n;
};

static bool take(struct rd *r, size_t k, const unsigned char **out)
{
	if (r->n < k)
		return false;
	*out = r->p;
	r->p += k;
	r->n -= k;
	return true;
}

/* An SSH "string": uint32 length, then the bytes. */
static bool string(struct rd *r, const unsigned char **s, size_t *len)
{
	const unsigned char *l;
	if (!take(r, 4, &l))
		return false;
	*len = (size_t)l[0] << 24 | (size_t)l[1] << 16 | (size_t)l[2] << 8 | l[3];
	return take(r, *len, s);
}

/* Base64 of LEN bytes at IN into OUT (CAP bytes); the bytes decoded, or -1. */
static long b64(const char *in, size_t len, unsigned char *out, size_t cap)
{
	while (len && (in[len - 1] == '\n' || in[len - 1] == '\r' || in[len - 1] == ' '))
		len--;
	if (len == 0 || len % 4 || (len / 4) * 3 > cap)
		return -1;
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	size_t pad = (in[len - 1] == '=') + (len > 1 && in[len - 2] == '=');
	return (long)n - (long)pad;
}

int cr_sshsig_pubkey_blob(const char *line, unsigned char *out, size_t cap, size_t *len)
{
	const char *sp = strchr(line, ' ');
	if (!sp || strncmp(line, "ssh-ed25519 ", 12))
		return cr_error_set(CR_EINVALID_ARGUMENT, "only ssh-ed25519 keys are checked, not %.40s", line);
	const char *end = sp + 1 + strcspn(sp + 1, " \n");
	long n = b64(sp + 1, (size_t)(end - sp - 1), out, cap);
	if (n < 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "a public key that is not base64: %.60s", line);
	*len = (size_t)n;
	return 0;
}

int cr_sshsig_verify(const char *armored, const void *msg, size_t msglen, const char *namespace_,
		     unsigned char *key, size_t cap, size_t *keylen)
{
	static const char begin[] = "-----BEGIN SSH SIGNATURE-----", end[] = "-----END SSH SIGNATURE-----";
	const char *b = strstr(armored, begin), *e = b ? strstr(b, end) : NULL;
	unsigned char blob[4096], b64in[8192], *q = b64in;
	int rc = CR_EINTEGRITY;

	if (!b || !e)
		return cr_error_set(CR_EINTEGRITY, "the signature is not an SSH signature");
	/* The base64 between the armor lines, without its line breaks. */
	for (const char *p = b + sizeof(begin) - 1; p < e && q < b64in + sizeof(b64in); p++)
		if (*p != '\n' && *p != '\r' && *p != ' ')
			*q++ = (unsigned char)*p;
	long n = b64((const char *)b64in, (size_t)(q - b64in), blob, sizeof(blob));
	if (n < 0)
		return cr_error_set(CR_EINTEGRITY, "the SSH signature is not base64");

	struct rd r = {blob, (size_t)n};
	const unsigned char *magic, *ver, *pk, *ns, *res, *halg, *sig;
	size_t pkl, nsl, resl, halgl, sigl;
	if (!take(&r, 6, &magic) || memcmp(magic, MAGIC, 6) || !take(&r, 4, &ver) || ver[3] != 1 ||
	    !string(&r, &pk, &pkl) || !string(&r, &ns, &nsl) || !string(&r, &res, &resl) || !string(&r, &halg, &halgl) ||
	    !string(&r, &sig, &sigl))
		return cr_error_set(CR_EINTEGRITY, "the SSH signature is malformed");
	if (nsl != strlen(namespace_) || memcmp(ns, namespace_, nsl))
		return cr_error_set(CR_EINTEGRITY, "the SSH signature is of another namespace than \"%s\"", namespace_);
	/* The key: "ssh-ed25519" and 32 bytes. */
	struct rd kr = {pk, pkl};
	const unsigned char *kt, *kb, *st, *sb;
	size_t ktl, kbl, stl, sbl;
	if (!string(&kr, &kt, &ktl) || ktl != 11 || memcmp(kt, "ssh-ed25519", 11) || !string(&kr, &kb, &kbl) || kbl != 32)
		return cr_error_set(CR_EINVALID_ARGUMENT, "the signature's key is not ssh-ed25519: only those are checked");
	struct rd sr = {sig, sigl};
	if (!string(&sr, &st, &stl) || stl != 11 || memcmp(st, "ssh-ed25519", 11) || !string(&sr, &sb, &sbl) || sbl != 64)
		return cr_error_set(CR_EINTEGRITY, "the SSH signature is malformed");
	const EVP_MD *md = halgl == 6 && !memcmp(halg, "sha512", 6) ? EVP_sha512()
			   : halgl == 6 && !memcmp(halg, "sha256", 6) ? EVP_sha256() : NULL;
	if (!md)
		return cr_error_set(CR_EINTEGRITY, "the SSH signature's hash is neither sha512 nor sha256");

	/* What was signed: the preamble, namespace, reserved, hash name and H(message). */
	unsigned char h[EVP_MAX_MD_SIZE], data[512];
	unsigned int hl = 0;
	size_t dl = 0;
	if (EVP_Digest(msg, msglen, h, &hl, md, NULL) != 1 || 6 + 4 + nsl + 4 + resl + 4 + halgl + 4 + hl > sizeof(data))
		return cr_error_set(CR_EINTEGRITY, "the SSH signature cannot be checked");
#define PUT(ptr, l)                                                                               \
	do {                                                                                      \
		data[dl++] = (unsigned char)((l) >> 24), data[dl++] = (unsigned char)((l) >> 16);  \
		data[dl++] = (unsigned char)((l) >> 8), data[dl++] = (unsigned char)(l);           \
		memcpy(data + dl, ptr, l), dl += (l);                                              \
	} while (0)
	memcpy(data, MAGIC, 6);
	dl = 6;
	PUT(ns, nsl);
	PUT(res, resl);
	PUT(halg, halgl);
	PUT(h, (size_t)hl);
#undef PUT
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, kb, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (pkey && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sb, 64, data, dl) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (rc < 0)
		return cr_error_set(CR_EINTEGRITY, "the SSH signature does not match what it signs");
	if (pkl > cap)
		return cr_error_set(CR_EINTEGRITY, "the SSH signature's key is too long");
	memcpy(key, pk, pkl);
	*keylen = pkl;
	return 0;
}
