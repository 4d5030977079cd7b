/* guard.c: the lab guard. Both tokens are hashed first so that the comparison
 * takes the same time whatever the length or content of what the caller sent. */
#include "guard.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

void guard_init(struct guard *g, int lab_enable, const char *token, int production, int allow_prod) {
    memset(g, 0, sizeof *g);
    g->enabled = lab_enable && token != NULL && token[0] != '\0';
    g->refuse_prod = production && !allow_prod;
    if (g->enabled) SHA256((const unsigned char *)token, strlen(token), g->token_digest);
}

struct guard_verdict guard_check(const struct guard *g, const char *header, size_t header_len) {
    struct guard_verdict v = {0, NULL, NULL};
    if (!g->enabled) {
        v.status = 404;
        v.code = "lab_disabled";
        v.message = "the lab is disabled: set LAB_ENABLE=true and a non-empty LAB_TOKEN";
        return v;
    }
    unsigned char got[32];
    if (header == NULL) header_len = 0;
    SHA256(header != NULL ? (const unsigned char *)header : (const unsigned char *)"", header_len, got);
    int same = CRYPTO_memcmp(got, g->token_digest, sizeof got) == 0;
    if (header == NULL || !same) {
        v.status = 401;
        v.code = header == NULL ? "missing_token" : "bad_token";
        v.message = header == NULL ? "send the lab token in the x-lab-token header" : "the x-lab-token header does not match";
        return v;
    }
    if (g->refuse_prod) {
        v.status = 403;
        v.code = "production";
        v.message = "the lab is refused in production (APP_ENV or NODE_ENV=production) unless LAB_ALLOW_PROD=true";
    }
    return v;
}
