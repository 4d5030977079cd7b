/* guard: who may use the /api/lab routes. Decided before any parameter is read. */
#ifndef PROFLAB_GUARD_H
#define PROFLAB_GUARD_H

#include <stddef.h>

struct guard {
    int enabled;      /* LAB_ENABLE=true and a non-empty LAB_TOKEN */
    int refuse_prod;  /* production without LAB_ALLOW_PROD=true */
    unsigned char token_digest[32];
};

struct guard_verdict {
    int status;          /* 0 when allowed */
    const char *code;    /* JSON error code */
    const char *message;
};

/* token may be NULL (lab not enabled then). */
void guard_init(struct guard *g, int lab_enable, const char *token, int production, int allow_prod);
/* header is the x-lab-token value (NULL when absent). Compared in constant time whatever its length. */
struct guard_verdict guard_check(const struct guard *g, const char *header, size_t header_len);

#endif
