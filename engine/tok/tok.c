/* tok.c: minting and verifying lab tokens. The MAC is checked before a byte of the payload is
 * decoded, so msgpack only ever sees what this server signed. */
#include "tok.h"

#include <msgpack.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

#define PREFIX "pl1."
#define PREFIX_LEN 4
#define MAC_LEN 32
#define MAC_B64_LEN 43

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static signed char b64val[256];
static int b64_ready;

static void b64_init(void) {
    memset(b64val, -1, sizeof b64val);
    for (int i = 0; i < 64; i++) b64val[(unsigned char)b64chars[i]] = (signed char)i;
    b64_ready = 1;
}

size_t tok_b64_encode(const unsigned char *in, size_t n, char *out) {
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = b64chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

long tok_b64_decode(const char *in, size_t n, unsigned char *out, size_t outcap) {
    if (!b64_ready) b64_init();
    if (n % 4 == 1) return -1;
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (need > outcap) return -1;
    size_t o = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        int a = b64val[(unsigned char)in[i]], b = b64val[(unsigned char)in[i + 1]];
        int c = b64val[(unsigned char)in[i + 2]], d = b64val[(unsigned char)in[i + 3]];
        if ((a | b | c | d) < 0) return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    size_t r = n - i;
    if (r >= 2) {
        int a = b64val[(unsigned char)in[i]], b = b64val[(unsigned char)in[i + 1]];
        int c = r == 3 ? b64val[(unsigned char)in[i + 2]] : 0;
        if ((a | b | c) < 0) return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        /* canonical: the bits past the last byte are zero, so one text means one value */
        if (r == 2 && (v & 0xffff) != 0) return -1;
        if (r == 3 && (v & 0xff) != 0) return -1;
        out[o++] = (unsigned char)(v >> 16);
        if (r == 3) out[o++] = (unsigned char)(v >> 8);
    }
    return (long)o;
}

int tok_key_init(struct tok_key *key, const char *secret, size_t len) {
    memset(key, 0, sizeof *key);
    if (!b64_ready) b64_init();
    int ok = 0;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *mctx = NULL;
    if (kctx != NULL) {
        OSSL_PARAM p[5];
        p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
        p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, len);
        p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)"proflab-tokens", 14);
        p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)"pl1 hmac-sha256", 15);
        p[4] = OSSL_PARAM_construct_end();
        ok = EVP_KDF_derive(kctx, key->k, sizeof key->k, p) == 1;
    }
    if (ok) {
        mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM p[2];
        p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
        p[1] = OSSL_PARAM_construct_end();
        ok = mctx != NULL && EVP_MAC_init(mctx, key->k, sizeof key->k, p) == 1;
    }
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    EVP_MAC_free(mac); /* the context holds its own reference */
    if (!ok) {
        EVP_MAC_CTX_free(mctx);
        OPENSSL_cleanse(key->k, sizeof key->k);
        return -1;
    }
    key->mac = mctx;
    return 0;
}

void tok_key_free(struct tok_key *key) {
    EVP_MAC_CTX_free(key->mac);
    OPENSSL_cleanse(key, sizeof *key);
}

/* HMAC with the key set once: init with a NULL key reuses the prepared pads. */
static int mac_compute(const struct tok_key *key, const char *msg, size_t len, unsigned char out[MAC_LEN]) {
    size_t outl = 0;
    EVP_MAC_CTX *c = key->mac;
    if (c == NULL || EVP_MAC_init(c, NULL, 0, NULL) != 1 || EVP_MAC_update(c, (const unsigned char *)msg, len) != 1 ||
        EVP_MAC_final(c, out, &outl, MAC_LEN) != 1 || outl != MAC_LEN)
        return -1;
    return 0;
}

static int is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }

int tok_scope_valid(const char *s, size_t len) {
    if (len >= TOK_SCOPE_LEN) return 0;
    if ((len == 14 && memcmp(s, "artifacts:read", 14) == 0) || (len == 7 && memcmp(s, "inspect", 7) == 0) ||
        (len == 5 && memcmp(s, "admin", 5) == 0) || (len == 5 && memcmp(s, "lab:*", 5) == 0))
        return 1;
    if (len < 5 || len > 4 + 63 || memcmp(s, "lab:", 4) != 0) return 0;
    for (size_t i = 4; i < len; i++)
        if (!is_name_char(s[i])) return 0;
    return 1;
}

int tok_art_valid(const char *s, size_t len) {
    if (len == 0 || len >= TOK_ART_LEN || s[0] == '.') return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
        if (c == '.' && i + 1 < len && s[i + 1] == '.') return 0;
    }
    return 1;
}

static void pack_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

int tok_mint(const struct tok_key *key, const char *const *scope, int n_scope, const char *art, int64_t now,
             int64_t ttl, char *out, size_t outlen) {
    if (n_scope < 1 || n_scope > TOK_SCOPE_MAX || ttl < 1 || ttl > TOK_LIFETIME_MAX_S || now < 0) return -1;
    for (int i = 0; i < n_scope; i++)
        if (!tok_scope_valid(scope[i], strlen(scope[i]))) return -1;
    if (art != NULL && !tok_art_valid(art, strlen(art))) return -1;
    unsigned char nonce[TOK_NONCE_LEN];
    if (RAND_bytes(nonce, sizeof nonce) != 1) return -1;

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, art != NULL ? 6 : 5);
    pack_str(&pk, "v");
    msgpack_pack_uint64(&pk, 1);
    pack_str(&pk, "scope");
    msgpack_pack_array(&pk, (size_t)n_scope);
    for (int i = 0; i < n_scope; i++) pack_str(&pk, scope[i]);
    pack_str(&pk, "iat");
    msgpack_pack_uint64(&pk, (uint64_t)now);
    pack_str(&pk, "exp");
    msgpack_pack_uint64(&pk, (uint64_t)(now + ttl));
    pack_str(&pk, "nonce");
    msgpack_pack_bin(&pk, sizeof nonce);
    msgpack_pack_bin_body(&pk, nonce, sizeof nonce);
    if (art != NULL) {
        pack_str(&pk, "art");
        pack_str(&pk, art);
    }
    int r = -1;
    size_t plen = (sb.size + 2) / 3 * 4;
    if (sb.data != NULL && PREFIX_LEN + plen + 1 + MAC_B64_LEN + 1 <= outlen &&
        PREFIX_LEN + plen + 1 + MAC_B64_LEN <= TOK_MAX_LEN) {
        memcpy(out, PREFIX, PREFIX_LEN);
        size_t n = PREFIX_LEN + tok_b64_encode((const unsigned char *)sb.data, sb.size, out + PREFIX_LEN);
        unsigned char mac[MAC_LEN];
        if (mac_compute(key, out, n, mac) == 0) {
            out[n++] = '.';
            tok_b64_encode(mac, sizeof mac, out + n);
            r = 0;
        }
    }
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static int key_is(const msgpack_object *k, const char *name) {
    size_t n = strlen(name);
    return k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

/* The payload's claims: exact types, every required key once, nothing unknown. */
static int claims_from(const msgpack_object *o, struct tok_claims *c) {
    enum { K_V = 1, K_SCOPE = 2, K_IAT = 4, K_EXP = 8, K_NONCE = 16, K_ART = 32 };
    unsigned seen = 0;
    memset(c, 0, sizeof *c);
    if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size < 5 || o->via.map.size > 6) return -1;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        unsigned bit;
        if (k->type != MSGPACK_OBJECT_STR) return -1;
        if (key_is(k, "v")) {
            bit = K_V;
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != 1) return -1;
        } else if (key_is(k, "scope")) {
            bit = K_SCOPE;
            if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size < 1 || v->via.array.size > TOK_SCOPE_MAX) return -1;
            for (uint32_t j = 0; j < v->via.array.size; j++) {
                const msgpack_object *s = &v->via.array.ptr[j];
                if (s->type != MSGPACK_OBJECT_STR || !tok_scope_valid(s->via.str.ptr, s->via.str.size)) return -1;
                memcpy(c->scope[j], s->via.str.ptr, s->via.str.size);
                c->scope[j][s->via.str.size] = '\0';
            }
            c->n_scope = (int)v->via.array.size;
        } else if (key_is(k, "iat") || key_is(k, "exp")) {
            bit = k->via.str.ptr[0] == 'i' ? K_IAT : K_EXP;
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > ((uint64_t)1 << 40)) return -1;
            if (bit == K_IAT) c->iat = (int64_t)v->via.u64;
            else c->exp = (int64_t)v->via.u64;
        } else if (key_is(k, "nonce")) {
            bit = K_NONCE;
            if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != TOK_NONCE_LEN) return -1;
            memcpy(c->nonce, v->via.bin.ptr, TOK_NONCE_LEN);
        } else if (key_is(k, "art")) {
            bit = K_ART;
            if (v->type != MSGPACK_OBJECT_STR || !tok_art_valid(v->via.str.ptr, v->via.str.size)) return -1;
            memcpy(c->art, v->via.str.ptr, v->via.str.size);
            c->art[v->via.str.size] = '\0';
        } else {
            return -1;
        }
        if (seen & bit) return -1;
        seen |= bit;
    }
    if ((seen & 31) != 31) return -1;
    if (c->exp <= c->iat || c->exp - c->iat > TOK_LIFETIME_MAX_S) return -1;
    return 0;
}

/* Splits "pl1.<payload>.<mac>"; 0 with the payload's bounds, or -1. */
static int split(const char *t, size_t len, size_t *pay_len) {
    if (len > TOK_MAX_LEN || len < PREFIX_LEN + 2 + MAC_B64_LEN || memcmp(t, PREFIX, PREFIX_LEN) != 0) return -1;
    if (t[len - MAC_B64_LEN - 1] != '.') return -1;
    *pay_len = len - PREFIX_LEN - MAC_B64_LEN - 1;
    return 0;
}

/* A bounded walk of the msgpack bytes before msgpack-c sees them: msgpack-c allocates what a
 * container header declares (a map32 header can ask for 64 GB), so every declared count must
 * fit in the bytes left, and nesting stays shallow. 0 when the shape is acceptable, else -1. */
#define WALK_DEPTH 4
#define WALK_ITEMS 128

static uint32_t be(const unsigned char *p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static int walk(const unsigned char *p, size_t n, size_t *off, int depth, int *items) {
    if (*off >= n || ++*items > WALK_ITEMS) return -1;
    unsigned c = p[(*off)++];
    size_t left = n - *off, skip = 0, count = 0;
    int kids = 0; /* 1: array of count, 2: map of count */
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) return 0;
    if (c >= 0x80 && c <= 0x8f) kids = 2, count = c & 15;
    else if (c >= 0x90 && c <= 0x9f) kids = 1, count = c & 15;
    else if (c >= 0xa0 && c <= 0xbf) skip = c & 31;
    else {
        static const signed char fixed[] = {
            /* c4 bin8 .. df map32: -N = an N-byte length follows, then that many bytes */
            [0x04] = -1, [0x05] = -2, [0x06] = -4, [0x07] = -1, [0x08] = -2, [0x09] = -4, [0x0a] = 4, [0x0b] = 8,
            [0x0c] = 1,  [0x0d] = 2,  [0x0e] = 4,  [0x0f] = 8,  [0x10] = 1,  [0x11] = 2,  [0x12] = 4, [0x13] = 8,
            [0x14] = 2,  [0x15] = 3,  [0x16] = 5,  [0x17] = 9,  [0x18] = 17, [0x19] = -1, [0x1a] = -2, [0x1b] = -4,
        };
        if (c == 0xc1) return -1;
        if (c >= 0xdc) {
            int w = c == 0xdc || c == 0xde ? 2 : 4;
            if (left < (size_t)w) return -1;
            count = be(p + *off, w);
            *off += (size_t)w;
            kids = c <= 0xdd ? 1 : 2;
        } else {
            int f = fixed[c - 0xc0];
            if (f >= 0) {
                skip = (size_t)f;
            } else {
                if (left < (size_t)-f) return -1;
                skip = be(p + *off, -f);
                *off += (size_t)-f;
                if (c >= 0xc7 && c <= 0xc9) skip++; /* ext: a type byte */
            }
        }
    }
    if (kids == 0) {
        if (skip > n - *off) return -1;
        *off += skip;
        return 0;
    }
    if (depth >= WALK_DEPTH || count * (size_t)kids > n - *off) return -1;
    for (size_t i = 0; i < count * (size_t)kids; i++)
        if (walk(p, n, off, depth + 1, items) != 0) return -1;
    return 0;
}

static enum tok_result decode_payload(const char *p, size_t n, struct tok_claims *out) {
    unsigned char raw[TOK_MAX_LEN];
    long rl = tok_b64_decode(p, n, raw, sizeof raw);
    if (rl <= 0) return TOK_MALFORMED;
    size_t off = 0;
    int items = 0;
    if (walk(raw, (size_t)rl, &off, 0, &items) != 0 || off != (size_t)rl) return TOK_MALFORMED;
    off = 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    enum tok_result r = TOK_MALFORMED;
    if (msgpack_unpack_next(&u, (const char *)raw, (size_t)rl, &off) == MSGPACK_UNPACK_SUCCESS && off == (size_t)rl &&
        claims_from(&u.data, out) == 0)
        r = TOK_OK;
    msgpack_unpacked_destroy(&u);
    return r;
}

enum tok_result tok_decode(const char *t, size_t len, struct tok_claims *out) {
    size_t pl;
    if (!b64_ready) b64_init();
    if (split(t, len, &pl) != 0) return TOK_MALFORMED;
    unsigned char mac[MAC_LEN + 2];
    if (tok_b64_decode(t + len - MAC_B64_LEN, MAC_B64_LEN, mac, sizeof mac) != MAC_LEN) return TOK_MALFORMED;
    return decode_payload(t + PREFIX_LEN, pl, out);
}

enum tok_result tok_verify(const struct tok_key *key, const char *t, size_t len, int64_t now, struct tok_claims *out) {
    size_t pl;
    if (split(t, len, &pl) != 0) return TOK_MALFORMED;
    unsigned char got[MAC_LEN + 2], want[MAC_LEN];
    if (tok_b64_decode(t + len - MAC_B64_LEN, MAC_B64_LEN, got, sizeof got) != MAC_LEN) return TOK_MALFORMED;
    if (mac_compute(key, t, PREFIX_LEN + pl, want) != 0) return TOK_MALFORMED;
    if (CRYPTO_memcmp(got, want, MAC_LEN) != 0) return TOK_BAD_MAC;
    enum tok_result r = decode_payload(t + PREFIX_LEN, pl, out);
    if (r != TOK_OK) return r;
    if (out->iat > now + TOK_SKEW_S) return TOK_NOT_YET;
    if (now >= out->exp + TOK_SKEW_S) return TOK_EXPIRED;
    return TOK_OK;
}

int tok_allows(const struct tok_claims *c, const char *need) {
    int lab = strncmp(need, "lab:", 4) == 0;
    for (int i = 0; i < c->n_scope; i++) {
        const char *s = c->scope[i];
        if (strcmp(s, "admin") == 0 || strcmp(s, need) == 0 || (lab && strcmp(s, "lab:*") == 0)) return 1;
    }
    return 0;
}

const char *tok_result_name(enum tok_result r) {
    switch (r) {
    case TOK_OK: return "ok";
    case TOK_MALFORMED: return "malformed";
    case TOK_BAD_MAC: return "bad signature";
    case TOK_EXPIRED: return "expired";
    case TOK_NOT_YET: return "not yet valid";
    }
    return "?";
}

long long tok_parse_duration(const char *s, size_t n) {
    if (n < 2 || n > 12) return -1;
    long long v = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    switch (s[n - 1]) {
    case 's': break;
    case 'm': v *= 60; break;
    case 'h': v *= 3600; break;
    default: return -1;
    }
    return v >= 1 && v <= TOK_LIFETIME_MAX_S ? v : -1;
}
