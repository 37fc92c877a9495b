#ifndef CR_UTIL_SCHEMA_H
#define CR_UTIL_SCHEMA_H
/*
 * JSON Schema (draft 2020-12) validation of the subset our schemas use:
 * type, enum, const, properties, required, additionalProperties,
 * patternProperties-free objects, items/prefixItems (incl. false), min/max
 * Items/Length/imum, maxProperties, uniqueItems, pattern (ECMA-262 via PCRE2),
 * allOf/anyOf/oneOf/not, if/then/else, $ref to "#/$defs/..." and
 * "#/components/schemas/...". Also minProperties, exclusiveMinimum/Maximum
 * and multipleOf. Unknown keywords (description, examples, format, default,
 * x-*) are ignored as annotations; known validation keywords we do not
 * implement (patternProperties, contains, unevaluated*, ...) make the schema
 * refused at load rather than half-checked.
 */
#include <stddef.h>
#include <cjson/cJSON.h>

typedef struct cr_schema cr_schema;

/* Load an embedded schema by file name ("artifacts.schema.json"). */
int cr_schema_load(cr_schema **out, const char *name);
/* Build from a parsed document (taken over: freed with the schema, or at
 * once on failure). Every pattern is compiled and every $ref resolved here,
 * so a broken schema fails now, not during validation. ROOT_PATH
 * is "" for a schema file, or e.g. "#/components/schemas/Candidate" to
 * validate against one component of a bigger document. */
int cr_schema_from_json(cr_schema **out, cJSON *doc, const char *root_path);
void cr_schema_free(cr_schema *s);

/* 0 if DOC is valid; else CR_EINVALID_INPUT with a message naming the first
 * failing location, e.g. "artifacts[2].path: does not match ^(?!/)…" and
 * prefixed by WHAT. */
int cr_schema_validate(const cr_schema *s, const cJSON *doc, const char *what);

#endif
