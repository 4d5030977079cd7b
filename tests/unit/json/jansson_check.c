/* jansson_check.c: the jansson side of the JSON tests (see jansson_check.h). */
#include "jansson_check.h"

#include <jansson.h>
#include <stdio.h>

#define J(v) ((json_t *)(v))

jc_value *jc_parse(const char *text, size_t len, char *why, size_t whylen) {
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (j == NULL && why != NULL && whylen > 0) snprintf(why, whylen, "%s at byte %d", e.text, e.position);
    return (jc_value *)j;
}

void jc_free(jc_value *v) { json_decref(J(v)); }

enum jc_type jc_type_of(const jc_value *v) {
    switch (json_typeof(J(v))) {
    case JSON_OBJECT: return JC_OBJECT;
    case JSON_ARRAY: return JC_ARRAY;
    case JSON_STRING: return JC_STRING;
    case JSON_INTEGER: return JC_INTEGER;
    case JSON_REAL: return JC_REAL;
    case JSON_TRUE: return JC_TRUE;
    case JSON_FALSE: return JC_FALSE;
    case JSON_NULL: return JC_NULL;
    }
    return JC_OTHER;
}

const char *jc_string(const jc_value *v, size_t *len) {
    if (!json_is_string(J(v))) return NULL;
    *len = json_string_length(J(v));
    return json_string_value(J(v));
}

double jc_number(const jc_value *v) { return json_number_value(J(v)); }
long long jc_integer(const jc_value *v) { return (long long)json_integer_value(J(v)); }
size_t jc_size(const jc_value *v) { return json_is_object(J(v)) ? json_object_size(J(v)) : json_array_size(J(v)); }
jc_value *jc_get(const jc_value *obj, const char *key) { return (jc_value *)json_object_get(J(obj), key); }
jc_value *jc_at(const jc_value *arr, size_t i) { return (jc_value *)json_array_get(J(arr), i); }
