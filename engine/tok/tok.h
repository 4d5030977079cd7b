/* tok: scoped, expiring lab tokens. pl1.<payload>.<mac>, both base64url without padding;
 * payload is a msgpack map {v, scope, iat, exp, nonce[, art]}; mac is HMAC-SHA256 over
 * "pl1.<payload>" with a key derived by HKDF-SHA256 from LAB_TOKEN. */
#ifndef PROFLAB_TOK_H
#define PROFLAB_TOK_H

#include <stddef.h>
#include <stdint.h>

#define TOK_MAX_LEN 4096      /* a longer token is refused unread */
#define TOK_SCOPE_MAX 16      /* scopes per token */
#define TOK_SCOPE_LEN 80      /* bytes per scope, NUL included */
#define TOK_ART_LEN 96        /* = ART_NAME_MAX */
#define TOK_SKEW_S 30         /* clock skew allowed on iat and exp */
#define TOK_LIFETIME_MAX_S 86400
#define TOK_NONCE_LEN 16

struct tok_key {
    unsigned char k[32];
    void *mac; /* EVP_MAC_CTX keyed once, re-initialised per token */
};

struct tok_claims {
    int64_t iat, exp;
    int n_scope;
    char scope[TOK_SCOPE_MAX][TOK_SCOPE_LEN];
    unsigned char nonce[TOK_NONCE_LEN];
    char art[TOK_ART_LEN]; /* "" when the token is not bound to an artifact */
};

enum tok_result {
    TOK_OK = 0,
    TOK_MALFORMED,   /* size, prefix, base64url, msgpack, claims: bad_token */
    TOK_BAD_MAC,     /* bad_token */
    TOK_EXPIRED,     /* token_expired */
    TOK_NOT_YET,     /* token_not_yet_valid */
};

/* Derives the MAC key from the lab secret. 0, or -1 (OpenSSL failure). */
int tok_key_init(struct tok_key *key, const char *secret, size_t len);
void tok_key_free(struct tok_key *key);

/* A scope is lab:<scenario>, lab:*, artifacts:read, inspect or admin. 1 when s is one. */
int tok_scope_valid(const char *s, size_t len);
/* A token's artifact name: [A-Za-z0-9._-], not starting with '.', no "..", 1..95 bytes. */
int tok_art_valid(const char *s, size_t len);

/* Mints a token valid from now for ttl seconds (1..86400). out gets the NUL-terminated token.
 * 0, or -1 (bad claims, no room, OpenSSL failure). */
int tok_mint(const struct tok_key *key, const char *const *scope, int n_scope, const char *art, int64_t now,
             int64_t ttl, char *out, size_t outlen);

/* Checks the MAC in constant time, then decodes strictly, then the time against now (seconds).
 * Claims are filled only on TOK_OK (and on TOK_EXPIRED / TOK_NOT_YET, for messages). */
enum tok_result tok_verify(const struct tok_key *key, const char *t, size_t len, int64_t now, struct tok_claims *out);
/* Decodes without a key (for `proflab token inspect`): structure only, no MAC, no time. */
enum tok_result tok_decode(const char *t, size_t len, struct tok_claims *out);

/* 1 when the claims grant need: admin grants everything; lab:* grants every lab:<name>. */
int tok_allows(const struct tok_claims *c, const char *need);

const char *tok_result_name(enum tok_result r);
/* "90s", "15m", "2h": seconds from 1 to 24 h, or -1. */
long long tok_parse_duration(const char *s, size_t n);

/* cli.c: `proflab token mint|inspect` and `proflab fetch URL` (libcurl, loaded only there). */
int tok_cli_main(int argc, char **argv);
int tok_fetch_main(int argc, char **argv);

/* base64url without padding. Encode: out needs 4*ceil(n/3)+1 bytes; returns the length.
 * Decode: strict (no padding, canonical trailing bits); returns the length or -1. */
size_t tok_b64_encode(const unsigned char *in, size_t n, char *out);
long tok_b64_decode(const char *in, size_t n, unsigned char *out, size_t outcap);

#endif
