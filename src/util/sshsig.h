#ifndef CR_UTIL_SSHSIG_H
#define CR_UTIL_SSHSIG_H
/* SSH signatures (PROTOCOL.sshsig), checked with OpenSSL: ssh-ed25519,
 * ecdsa-sha2-nistp256/384/521 and ssh-rsa keys. */
#include <stdbool.h>
#include <stddef.h>

/* The wire form of the public key LINE ("ssh-ed25519 AAAA…") into OUT
 * (CAP bytes, *LEN used): what a signature names its key by. */
int cr_sshsig_pubkey_blob(const char *line, unsigned char *out, size_t cap, size_t *len);
/* Check the armored SSH signature ARMORED over MSG in NAMESPACE ("git"):
 * 0 and the wire form of the key it was made with in KEY (CAP bytes, *KEYLEN
 * used), or CR_EINTEGRITY naming what is wrong (malformed, another
 * namespace, not matching its content), CR_EINVALID_ARGUMENT for a key
 * type that is not checked. Who the key belongs to is the caller's
 * question. */
int cr_sshsig_verify(const char *armored, const void *msg, size_t msglen, const char *namespace_,
		     unsigned char *key, size_t cap, size_t *keylen);

#endif
