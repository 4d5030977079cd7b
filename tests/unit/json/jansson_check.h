/* jansson_check: an independent JSON reader (jansson) for the tests of engine/json.
 * Kept in its own translation unit: jansson's json_string() and json_integer() have the
 * same names as proflab's, so the two headers cannot meet in one file. */
#ifndef PROFLAB_TEST_JANSSON_CHECK_H
#define PROFLAB_TEST_JANSSON_CHECK_H

#include <stddef.h>

enum jc_type { JC_OBJECT, JC_ARRAY, JC_STRING, JC_INTEGER, JC_REAL, JC_TRUE, JC_FALSE, JC_NULL, JC_OTHER };

typedef struct jc_value jc_value; /* a jansson json_t */

/* Parses any JSON value (\u0000 in strings allowed). NULL when the text is not JSON, with
 * jansson's reason in why. */
jc_value *jc_parse(const char *text, size_t len, char *why, size_t whylen);
void jc_free(jc_value *v);
enum jc_type jc_type_of(const jc_value *v);
const char *jc_string(const jc_value *v, size_t *len); /* NULL unless a string */
double jc_number(const jc_value *v);                   /* integer or real */
long long jc_integer(const jc_value *v);
size_t jc_size(const jc_value *v);                     /* members of an object or array */
jc_value *jc_get(const jc_value *obj, const char *key); /* borrowed */
jc_value *jc_at(const jc_value *arr, size_t i);          /* borrowed */

#endif
