/*
 * SSH signatures (OpenSSH's PROTOCOL.sshsig, what `ssh-keygen -Y sign`
 * writes and git keeps in a commit's gpgsig header), checked in process
 * with OpenSSL: a ledger of thousands of signed commits verifies without a
 * process a signature. Keys ssh-ed25519, ecdsa-sha2-nistp256/384/521 and
 * ssh-rsa (signed rsa-sha2-256/512, as PROTOCOL.sshsig requires); security
 * keys (sk-…) are CR_EINVALID_ARGUMENT.
 */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
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
	if (!sp)
		return cr_error_set(CR_EINVALID_ARGUMENT, "a public key that is not \"<type> <base64>\": %.60s", line);
	const char *end = sp + 1 + strcspn(sp + 1, " \n");
	long n = b64(sp + 1, (size_t)(end - sp - 1), out, cap);
	if (n < 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "a public key that is not base64: %.60s", line);
	struct rd r = {out, (size_t)n};
	const unsigned char *t;
	size_t tl;
	if (!string(&r, &t, &tl) || tl != (size_t)(sp - line) || memcmp(t, line, tl))
		return cr_error_set(CR_EINVALID_ARGUMENT, "a public key whose blob is not of its type: %.60s", line);
	*len = (size_t)n;
	return 0;
}

static bool is(const unsigned char *s, size_t l, const char *want)
{
	return l == strlen(want) && !memcmp(s, want, l);
}

/* An EVP_PKEY from parameters built by BLD (freed here). */
static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
	EVP_PKEY_CTX *c = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
	EVP_PKEY *k = NULL;
	if (c && EVP_PKEY_fromdata_init(c) == 1 && EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return k;
}

/* The key of wire form PK, the digest its signatures of type ST use (NULL:
 * none, ed25519) and, for ECDSA, the raw signature SB made DER (*DER, the
 * caller's): 0, or -1 for a key or signature of a type not checked, -2 for
 * a malformed one. */
static int key_of(const unsigned char *pk, size_t pkl, const unsigned char *st, size_t stl,
		  const unsigned char **sb, size_t *sbl, EVP_PKEY **out, const EVP_MD **md, unsigned char **der)
{
	struct rd kr = {pk, pkl};
	const unsigned char *kt, *a, *b;
	size_t ktl, al, bl;

	*out = NULL;
	*md = NULL;
	*der = NULL;
	if (!string(&kr, &kt, &ktl))
		return -2;
	if (is(kt, ktl, "ssh-ed25519")) {
		if (!string(&kr, &a, &al) || al != 32 || !is(st, stl, "ssh-ed25519") || *sbl != 64)
			return -2;
		*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, 32);
		return *out ? 0 : -2;
	}
	if (is(kt, ktl, "ssh-rsa")) { /* e, then n */
		if (!string(&kr, &a, &al) || !string(&kr, &b, &bl))
			return -2;
		*md = is(st, stl, "rsa-sha2-512") ? EVP_sha512() : is(st, stl, "rsa-sha2-256") ? EVP_sha256() : NULL;
		if (!*md)
			return -2; /* ssh-rsa (SHA-1) signatures are not SSHSIG's */
		BIGNUM *e = BN_bin2bn(a, (int)al, NULL), *n = BN_bin2bn(b, (int)bl, NULL);
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		if (bld && (!e || !n || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
			    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))) {
			OSSL_PARAM_BLD_free(bld);
			bld = NULL;
		}
		*out = from_params("RSA", bld);
		BN_free(e);
		BN_free(n);
		return *out ? 0 : -2;
	}
	static const struct {
		const char *type, *curve, *group;
	} ec[] = {{"ecdsa-sha2-nistp256", "nistp256", "P-256"},
		  {"ecdsa-sha2-nistp384", "nistp384", "P-384"},
		  {"ecdsa-sha2-nistp521", "nistp521", "P-521"}};
	for (size_t i = 0; i < sizeof(ec) / sizeof(*ec); i++) {
		if (!is(kt, ktl, ec[i].type))
			continue;
		if (!string(&kr, &a, &al) || !is(a, al, ec[i].curve) || !string(&kr, &b, &bl) || !is(st, stl, ec[i].type))
			return -2;
		*md = i == 0 ? EVP_sha256() : i == 1 ? EVP_sha384() : EVP_sha512();
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		if (bld && (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ec[i].group, 0) ||
			    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, b, bl))) {
			OSSL_PARAM_BLD_free(bld);
			bld = NULL;
		}
		if (!(*out = from_params("EC", bld)))
			return -2;
		/* The signature: mpint r, mpint s; OpenSSL wants them DER. */
		struct rd sr = {*sb, *sbl};
		const unsigned char *r, *s;
		size_t rl, sl;
		if (!string(&sr, &r, &rl) || !string(&sr, &s, &sl))
			return -2;
		ECDSA_SIG *sig = ECDSA_SIG_new();
		BIGNUM *br = BN_bin2bn(r, (int)rl, NULL), *bs = BN_bin2bn(s, (int)sl, NULL);
		int dl = -1;
		if (sig && br && bs && ECDSA_SIG_set0(sig, br, bs) == 1) {
			br = bs = NULL; /* the signature's now */
			dl = i2d_ECDSA_SIG(sig, der);
		}
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(sig);
		if (dl <= 0)
			return -2;
		*sb = *der;
		*sbl = (size_t)dl;
		return 0;
	}
	return -1;
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
	struct rd sr = {sig, sigl};
	const unsigned char *st, *sb;
	size_t stl, sbl;
	if (!string(&sr, &st, &stl) || !string(&sr, &sb, &sbl))
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
	EVP_PKEY *pkey = NULL;
	const EVP_MD *kmd = NULL;
	unsigned char *der = NULL;
	int k = key_of(pk, pkl, st, stl, &sb, &sbl, &pkey, &kmd, &der);
	if (k == -1) {
		struct rd kr = {pk, pkl};
		const unsigned char *kt = (const unsigned char *)"?";
		size_t ktl = 1;
		string(&kr, &kt, &ktl);
		return cr_error_set(CR_EINVALID_ARGUMENT, "the signature's key is %.*s: only ssh-ed25519, ecdsa-sha2-nistp* "
							  "and ssh-rsa keys are checked", (int)(ktl > 60 ? 60 : ktl), kt);
	}
	if (k == -2) {
		EVP_PKEY_free(pkey);
		OPENSSL_free(der);
		return cr_error_set(CR_EINTEGRITY, "the SSH signature's key or signature is malformed");
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (pkey && ctx && EVP_DigestVerifyInit(ctx, NULL, kmd, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sb, sbl, data, dl) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	OPENSSL_free(der);
	if (rc < 0)
		return cr_error_set(CR_EINTEGRITY, "the SSH signature does not match what it signs");
	if (pkl > cap)
		return cr_error_set(CR_EINTEGRITY, "the SSH signature's key is too long");
	memcpy(key, pk, pkl);
	*keylen = pkl;
	return 0;
}
