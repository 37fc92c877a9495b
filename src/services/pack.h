#ifndef CR_SERVICES_PACK_H
#define CR_SERVICES_PACK_H
/*
 * The binary form of the local caches' entries (packed manifests, candidate
 * views): native byte order (a cache never leaves the machine), a magic
 * line first and the hex SHA-256 of everything before it last, so that a
 * torn or damaged entry is told from a good one.
 *   u64: 8 bytes; u8: 1 byte;
 *   str: u32 length (CR_PACK_NULL: absent), then the bytes (no NUL).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/json.h"

#define CR_PACK_NULL UINT32_MAX

void cr_pk_u64(cr_sbuf *b, uint64_t v);
void cr_pk_u8(cr_sbuf *b, uint8_t v);
void cr_pk_str(cr_sbuf *b, const char *s);
/* Append the trailing SHA-256; CR_EINTERNAL (naming WHAT) if B ran out of
 * memory at any point. */
int cr_pk_seal(cr_sbuf *b, const char *what);

typedef struct cr_unpacker {
	const char *p;
	size_t left;
	char *out; /* next free byte of the caller's strings block (>= the entry's size) */
	bool bad;  /* set by the first read that does not check out */
} cr_unpacker;

/* Start reading BUF[0..LEN) after MAGIC, its checksum checked (the
 * trailing SHA-256 is left out of U->left). STRINGS: the block up_str
 * copies into. false when it does not check out. */
bool cr_up_open(cr_unpacker *u, const char *buf, size_t len, const char *magic, char *strings);
uint64_t cr_up_u64(cr_unpacker *u);
uint8_t cr_up_u8(cr_unpacker *u);
/* The next string, copied NUL-terminated into the strings block; NULL when
 * absent (or bad). */
char *cr_up_str(cr_unpacker *u);
/* The next string into a fixed field of LEN bytes; false (and U bad) when
 * absent or too long. */
bool cr_up_fixed(cr_unpacker *u, char *dst, size_t len);

#endif
