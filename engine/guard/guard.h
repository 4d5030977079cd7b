/* guard: who may use the /api/lab routes. Decided before any parameter is read. */
#ifndef PROFLAB_GUARD_H
#define PROFLAB_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "../tok/tok.h"

struct guard {
    int enabled;      /* LAB_ENABLE=true and a non-empty LAB_TOKEN */
    int refuse_prod;  /* production without LAB_ALLOW_PROD=true */
    unsigned char token_digest[32];
    int tokens;           /* derived tokens accepted: guard_tokens_init succeeded */
    struct tok_key key;   /* HKDF of LAB_TOKEN */
};

/* Who is calling: the master token, or a derived token and its claims. */
struct guard_auth {
    int master;
    int via_url;          /* the token came as ?token= */
    struct tok_claims claims;
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

/* guard_tok.c (engine only): derived tokens. */
/* Derives the token key from LAB_TOKEN (after guard_init). 0, or -1 (OpenSSL failure). */
int guard_tokens_init(struct guard *g, const char *token);
void guard_tokens_free(struct guard *g);
/* The master token, or a pl1 token verified at now (Unix seconds). 401 bad_token, missing_token,
 * token_expired or token_not_yet_valid; 403 production; 404 lab_disabled. */
struct guard_verdict guard_check_any(const struct guard *g, const char *cred, size_t len, int64_t now,
                                     struct guard_auth *out);
/* Whether a caller may do what needs scope need (NULL: any valid token) on artifact art (NULL:
 * none). A token bound to an artifact opens only that artifact (and status and the catalog).
 * 403 out_of_scope otherwise. */
struct guard_verdict guard_allow(const struct guard_auth *a, const char *need, const char *art, size_t art_len);

#endif
