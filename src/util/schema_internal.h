#ifndef CR_UTIL_SCHEMA_INTERNAL_H
#define CR_UTIL_SCHEMA_INTERNAL_H
/* The compiled form of a schema, shared by its compiler (schema.c) and its
 * validator (schema_validate.c). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "util/schema.h"

/* Nested schema evaluations before we call the schema cyclic. */
#define MAX_EVAL_DEPTH 1024
/* Patterns and values quoted in messages are cut to about this many bytes. */
#define QUOTE_MAX 60
#define REF_TOKEN_MAX 256

enum {
	T_NULL = 1u << 0,
	T_BOOLEAN = 1u << 1,
	T_OBJECT = 1u << 2,
	T_ARRAY = 1u << 3,
	T_NUMBER = 1u << 4,
	T_STRING = 1u << 5,
	T_INTEGER = 1u << 6,
};

struct cr_schema_type_name {
	const char *name;
	unsigned bit;
};
/* The JSON Schema type names and their T_* bits, in the standard's order. */
extern const struct cr_schema_type_name cr_schema_type_names[7];

enum { N_MIN = 1, N_MAX = 2, N_XMIN = 4, N_XMAX = 8, N_MULT = 16 };

struct node;

struct prop {
	const char *name;
	struct node *schema;
};

struct list {
	struct node **v;
	size_t n;
};

struct node {
	int is_bool, bool_value; /* a boolean schema: true or false */
	unsigned types;          /* T_* bits; 0: any type */
	char types_text[80];     /* "string or null", in the schema's order */
	const cJSON *konst;      /* "const" value, or NULL */
	const cJSON *enums;      /* "enum" array, or NULL */
	/* objects */
	struct prop *props;
	size_t nprops;
	struct node *addl;
	const cJSON *required;
	long long min_props, max_props; /* -1: absent */
	/* arrays */
	struct list prefix;
	struct node *items;
	long long min_items, max_items;
	int unique;
	/* strings */
	long long min_len, max_len;
	pcre2_code *re;
	const char *pattern;
	/* numbers */
	unsigned num;
	double minimum, maximum, xmin, xmax, mult;
	/* applicators */
	struct node *ref;
	struct list all_of, any_of, one_of;
	struct node *not_, *if_, *then_, *else_;
};

/* Open-addressing map from a schema's cJSON object to its compiled node. */
struct map_entry {
	const cJSON *key;
	struct node *node;
};

struct cr_schema {
	cJSON *doc;
	struct node *root;
	struct map_entry *map;
	size_t map_cap, map_len;
};

/* Append S to the NUL-terminated BUF of CAP bytes, cutting it if needed. */
static inline void cr_schema_append(char *buf, size_t cap, const char *s)
{
	size_t len = strlen(buf), n = strlen(s);
	if (len + 1 >= cap)
		return;
	if (n > cap - len - 1)
		n = cap - len - 1;
	memcpy(buf + len, s, n);
	buf[len + n] = '\0';
}

#endif
