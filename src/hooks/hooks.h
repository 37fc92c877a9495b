#ifndef CR_HOOKS_HOOKS_H
#define CR_HOOKS_HOOKS_H
/*
 * The git hooks' front end (spec.md part 6): the server's pre-receive gate,
 * the client's pre-push check of release tags, and their installation.
 * Each reads what git hands the hook, asks the facade, and says on ERR
 * exactly why a push is refused and what to do next. Returns 0 (the push
 * passes), 1 (refused), or a negative CR_E* code with cr_error_last() set.
 */
#include <stdbool.h>
#include <stdio.h>

/* pre-receive: "<old> <new> <ref>" lines on IN (repository REPO, NULL: the
 * environment's, as git runs the hook). */
int cr_hooks_pre_receive(const char *repo, FILE *in, FILE *err);
/* pre-push: "<local ref> <local oid> <remote ref> <remote oid>" lines on
 * IN; only the release tags are checked, against this clone's ledger. */
int cr_hooks_pre_push(const char *repo, FILE *in, FILE *err);
/* Install hooks/pre-receive (SERVER) or hooks/pre-push into the
 * repository's hooks directory; a different hook already there is
 * CR_ECONFLICT unless FORCE. OUT (NULL: quiet) gets one line naming what
 * was written. */
int cr_hooks_install(const char *repo, bool server, bool force, FILE *out);

#endif
