/* guard_tok.c: the guard's side of derived tokens: which credential a caller sent, and what its
 * scope lets it do. The master token keeps guard_check's exact behaviour. */
#include <string.h>

#include "guard.h"

int guard_tokens_init(struct guard *g, const char *token) {
    g->tokens = 0;
    if (!g->enabled || token == NULL) return 0;
    if (tok_key_init(&g->key, token, strlen(token)) != 0) return -1;
    g->tokens = 1;
    return 0;
}

void guard_tokens_free(struct guard *g) {
    if (g->tokens) tok_key_free(&g->key);
    g->tokens = 0;
}

static struct guard_verdict verdict(int status, const char *code, const char *message) {
    struct guard_verdict v = {status, code, message};
    return v;
}

struct guard_verdict guard_check_any(const struct guard *g, const char *cred, size_t len, int64_t now,
                                     struct guard_auth *out) {
    memset(out, 0, sizeof *out);
    /* the master token first, exactly as before: disabled, missing, production */
    struct guard_verdict v = guard_check(g, cred, len);
    if (v.status != 401 || cred == NULL || !g->tokens || len < 4 || memcmp(cred, "pl1.", 4) != 0) {
        out->master = v.status == 0;
        if (v.status == 401 && cred != NULL) v.message = "the token is neither LAB_TOKEN nor a token minted from it";
        return v;
    }
    switch (tok_verify(&g->key, cred, len, now, &out->claims)) {
    case TOK_OK: break;
    case TOK_EXPIRED: return verdict(401, "token_expired", "the token has expired: mint a new one");
    case TOK_NOT_YET: return verdict(401, "token_not_yet_valid", "the token is not valid yet (issued in the future)");
    default: return verdict(401, "bad_token", "the token is neither LAB_TOKEN nor a token minted from it");
    }
    if (g->refuse_prod)
        return verdict(403, "production",
                       "the lab is refused in production (APP_ENV or NODE_ENV=production) unless LAB_ALLOW_PROD=true");
    return verdict(0, NULL, NULL);
}

struct guard_verdict guard_allow(const struct guard_auth *a, const char *need, const char *art, size_t art_len) {
    if (a->master) return verdict(0, NULL, NULL);
    const struct tok_claims *c = &a->claims;
    if (c->art[0] != '\0') {
        if (need == NULL) return verdict(0, NULL, NULL);
        if (art != NULL && strcmp(need, "artifacts:read") == 0 && strlen(c->art) == art_len &&
            memcmp(c->art, art, art_len) == 0 && tok_allows(c, need))
            return verdict(0, NULL, NULL);
        return verdict(403, "out_of_scope", "this token is bound to another artifact");
    }
    if (a->via_url) return verdict(401, "bad_token", "only a token bound to this artifact may be sent as ?token=");
    if (need == NULL || tok_allows(c, need)) return verdict(0, NULL, NULL);
    return verdict(403, "out_of_scope", "the token's scope does not cover this route");
}
