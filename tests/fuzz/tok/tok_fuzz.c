/* tok_fuzz.c: the token decoder. Byte 0 picks the mode: the input as a whole token (the MAC
 * check must refuse it), or as a msgpack payload signed with the real key, so that the strict
 * decoder behind the MAC sees every shape. Accepted claims must hold the invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tok/tok.h"

static struct tok_key key;
static int ready;

static void check(const struct tok_claims *c) {
    if (c->n_scope < 1 || c->n_scope > TOK_SCOPE_MAX) abort();
    if (c->exp <= c->iat || c->exp - c->iat > TOK_LIFETIME_MAX_S) abort();
    for (int i = 0; i < c->n_scope; i++)
        if (!tok_scope_valid(c->scope[i], strlen(c->scope[i]))) abort();
    if (c->art[0] && !tok_art_valid(c->art, strlen(c->art))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (!ready) {
        if (tok_key_init(&key, "fuzz-secret", 11) != 0) abort();
        ready = 1;
    }
    if (n == 0) return 0;
    struct tok_claims c;
    static char t[3 * TOK_MAX_LEN];
    if (d[0] & 1) {
        /* a token as sent: without the key it cannot pass */
        enum tok_result r = tok_verify(&key, (const char *)d + 1, n - 1, 1790000000, &c);
        if (r == TOK_OK) abort();
        if (tok_decode((const char *)d + 1, n - 1, &c) == TOK_OK) check(&c);
        return 0;
    }
    /* a payload, signed */
    if (n - 1 > TOK_MAX_LEN) return 0;
    memcpy(t, "pl1.", 4);
    size_t len = 4 + tok_b64_encode(d + 1, n - 1, t + 4);
    unsigned char mac[32];
    unsigned int ml;
    if (HMAC(EVP_sha256(), key.k, sizeof key.k, (const unsigned char *)t, len, mac, &ml) == NULL) abort();
    t[len++] = '.';
    len += tok_b64_encode(mac, 32, t + len);
    enum tok_result r = tok_verify(&key, t, len, 1790000000, &c);
    if (r == TOK_OK || r == TOK_EXPIRED || r == TOK_NOT_YET) check(&c);
    if (len > TOK_MAX_LEN && r != TOK_MALFORMED) abort(); /* oversized is refused unread */
    /* a decoded payload re-encodes to the same base64url text */
    if (r != TOK_MALFORMED) {
        static unsigned char raw[TOK_MAX_LEN];
        size_t pl = len - 4 - 44;
        if (tok_b64_decode(t + 4, pl, raw, sizeof raw) != (long)(n - 1) || memcmp(raw, d + 1, n - 1) != 0) abort();
    }
    return 0;
}
