/* params: scenario parameters, declared by the scenario and parsed strictly from a query string. */
#ifndef PROFLAB_PARAMS_H
#define PROFLAB_PARAMS_H

#include <stddef.h>

#define PARAM_NAME_MAX 32
#define PARAM_MAX 16
#define PARAM_ENUM_MAX 16
#define PARAM_STRING_MAX 4096

enum param_type { PARAM_INTEGER, PARAM_NUMBER, PARAM_STRING, PARAM_BOOLEAN };

struct param_value {
    int present; /* 0: absent and no default */
    enum param_type type;
    long long i;
    double n;
    int b;
    const char *s; /* into the caller's arena or the spec */
    size_t len;
};

struct param_spec {
    char name[PARAM_NAME_MAX];
    enum param_type type;
    int has_min, has_max;
    double min, max;  /* integers: whole values; strings: lengths */
    int required;
    struct param_value def; /* def.present when there is a default */
    const char *enums[PARAM_ENUM_MAX]; /* strings only; owned by the spec's creator */
    int n_enums;
    const char *doc;
};

struct param_error {
    const char *code; /* unknown_parameter, repeated_parameter, bad_parameter, missing_parameter */
    char message[512];
};

const char *params_type_name(enum param_type t);
/* "an integer from 1 to 1024 (default 64)": what a spec accepts, for errors and the catalog. */
void params_describe(const struct param_spec *p, char *out, size_t outlen);

/* Parses query (without the '?', may be NULL) against specs. Values decoded from the query point
 * into arena, which must hold at least qlen bytes. Returns 0, or -1 with err filled. */
int params_parse(const struct param_spec *specs, int n, const char *query, size_t qlen, struct param_value *out,
                 char *arena, struct param_error *err);

/* One value alone: used by the parser and by the binding. Returns 0 or -1 (err filled). */
int params_parse_value(const struct param_spec *p, const char *s, size_t len, struct param_value *out,
                       struct param_error *err);

#endif
