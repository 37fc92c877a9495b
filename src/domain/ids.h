#ifndef CR_DOMAIN_IDS_H
#define CR_DOMAIN_IDS_H
/* Identifier rules of data-model.md section 1. */
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum cr_idkind {
	CR_ID_IMPORT = 0, /* imp */
	CR_ID_MANIFEST,   /* man */
	CR_ID_RUN,        /* run */
	CR_ID_REPORT,     /* rpt */
	CR_ID_APPROVAL,   /* apr */
	CR_ID_PUBLICATION,/* pub */
	CR_ID_EVENT,      /* evt */
	CR_ID__COUNT
} cr_idkind;

const char *cr_id_prefix(cr_idkind k);

/* Format PREFIX-NNN (at least 3 digits) into BUF. */
void cr_id_format(char *buf, size_t len, cr_idkind k, uint64_t n);
/* Parse an id of kind K: 1 and *N set when valid (imp-001, run-1000; not
 * imp-01, imp-0001, imp-1), else 0. */
bool cr_id_parse(const char *id, cr_idkind k, uint64_t *n);
/* Which kind an id is, by its prefix; -1 if none is valid. */
int cr_id_kind(const char *id);

/* Candidate id (^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$, no "..", not ending in
 * ".lock" or "."): NULL if valid, else a static reason. */
const char *cr_candidate_id_invalid(const char *id);
/* Other user-given strings. NULL if valid, else a static reason. */
const char *cr_version_invalid(const char *v);
const char *cr_channel_invalid(const char *c);
const char *cr_actor_invalid(const char *a);
const char *cr_tag_invalid(const char *t);
const char *cr_task_id_invalid(const char *t);
/* Violation id <run_id>-vNNNNNN. */
void cr_violation_id_format(char *buf, size_t len, const char *run_id, uint64_t n);

/* True when S holds a URL with credentials in its authority
 * (scheme://user:password@host): such a string is refused as evidence. */
bool cr_has_credentials(const char *s);

#endif
