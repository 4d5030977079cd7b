/* cli.c: `proflab token mint` and `proflab token inspect`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tok.h"

static const char token_usage[] =
    "usage: proflab token mint --scope S[,S...] --ttl DURATION [--artifact NAME]\n"
    "       proflab token inspect TOKEN\n"
    "\n"
    "mint     prints a token signed with a key derived from LAB_TOKEN, alone on stdout.\n"
    "         Scopes: lab:<scenario>, lab:*, artifacts:read, inspect, admin.\n"
    "         DURATION: 90s, 15m, 2h (at most 24h).\n"
    "inspect  decodes a token; with LAB_TOKEN set, also checks its signature and time.\n"
    "         Exit status: 0 valid (or decoded, unverified), 1 invalid or expired, 2 malformed.\n";

static void iso(int64_t s, char *out, size_t n) {
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int mint(int argc, char **argv) {
    const char *scope = NULL, *ttl = NULL, *art = NULL;
    for (int i = 1; i < argc; i++) {
        const char **dst = strcmp(argv[i], "--scope") == 0 ? &scope : strcmp(argv[i], "--ttl") == 0 ? &ttl
                           : strcmp(argv[i], "--artifact") == 0 ? &art : NULL;
        if (dst == NULL || i + 1 == argc) {
            fprintf(stderr, "proflab token mint: %s '%s'\n\n%s", dst ? "a value is missing after" : "unknown option", argv[i], token_usage);
            return 2;
        }
        *dst = argv[++i];
    }
    if (scope == NULL || ttl == NULL) {
        fprintf(stderr, "proflab token mint: --scope and --ttl are required\n\n%s", token_usage);
        return 2;
    }
    long long secs = tok_parse_duration(ttl, strlen(ttl));
    if (secs < 0) {
        fprintf(stderr, "proflab token mint: --ttl wants a duration like 90s, 15m or 2h, from 1s to 24h; got '%s'\n", ttl);
        return 2;
    }
    char buf[1100];
    const char *sc[TOK_SCOPE_MAX];
    int n = 0;
    if (strlen(scope) >= sizeof buf) {
        fprintf(stderr, "proflab token mint: --scope is too long\n");
        return 2;
    }
    strcpy(buf, scope);
    char *save = NULL;
    for (char *s = strtok_r(buf, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
        if (n == TOK_SCOPE_MAX || !tok_scope_valid(s, strlen(s))) {
            fprintf(stderr, "proflab token mint: %s '%s' (lab:<scenario>, lab:*, artifacts:read, inspect, admin)\n",
                    n == TOK_SCOPE_MAX ? "at most 16 scopes; stopped at" : "unknown scope", s);
            return 2;
        }
        sc[n++] = s;
    }
    if (n == 0) {
        fprintf(stderr, "proflab token mint: --scope names no scope\n");
        return 2;
    }
    if (art != NULL && !tok_art_valid(art, strlen(art))) {
        fprintf(stderr, "proflab token mint: --artifact '%s' is not an artifact name\n", art);
        return 2;
    }
    const char *secret = getenv("LAB_TOKEN");
    if (secret == NULL || *secret == '\0') {
        fprintf(stderr, "proflab token mint: set LAB_TOKEN to the server's lab token\n");
        return 2;
    }
    struct tok_key key;
    char t[TOK_MAX_LEN];
    if (tok_key_init(&key, secret, strlen(secret)) != 0) {
        fprintf(stderr, "proflab token mint: cannot derive the key (OpenSSL)\n");
        return 1;
    }
    int r = tok_mint(&key, sc, n, art, (int64_t)time(NULL), secs, t, sizeof t);
    tok_key_free(&key);
    if (r != 0) {
        fprintf(stderr, "proflab token mint: cannot mint the token\n");
        return 1;
    }
    puts(t);
    return 0;
}

static int inspect(int argc, char **argv) {
    if (argc != 2) {
        fputs(token_usage, stderr);
        return 2;
    }
    const char *t = argv[1];
    size_t len = strlen(t);
    struct tok_claims c;
    enum tok_result r = tok_decode(t, len, &c);
    if (r != TOK_OK) {
        fprintf(stderr, "proflab token inspect: not a pl1 token (%s)\n", len > TOK_MAX_LEN ? "over 4 KB" : "malformed");
        return 2;
    }
    char a[40], b[40];
    iso(c.iat, a, sizeof a);
    iso(c.exp, b, sizeof b);
    printf("version:   1\nscope:    ");
    for (int i = 0; i < c.n_scope; i++) printf(" %s", c.scope[i]);
    printf("\nissued:    %s\nexpires:   %s (lifetime %llds)\n", a, b, (long long)(c.exp - c.iat));
    if (c.art[0]) printf("artifact:  %s\n", c.art);
    printf("nonce:     ");
    for (int i = 0; i < TOK_NONCE_LEN; i++) printf("%02x", c.nonce[i]);
    printf("\n");
    const char *secret = getenv("LAB_TOKEN");
    if (secret == NULL || *secret == '\0') {
        printf("signature: not checked (LAB_TOKEN is not set)\n");
        return 0;
    }
    struct tok_key key;
    if (tok_key_init(&key, secret, strlen(secret)) != 0) {
        fprintf(stderr, "proflab token inspect: cannot derive the key (OpenSSL)\n");
        return 1;
    }
    r = tok_verify(&key, t, len, (int64_t)time(NULL), &c);
    tok_key_free(&key);
    printf("signature: %s\n", r == TOK_BAD_MAC ? "INVALID (not minted from this LAB_TOKEN)" : "valid");
    if (r != TOK_BAD_MAC) printf("status:    %s\n", r == TOK_OK ? "valid now" : tok_result_name(r));
    return r == TOK_OK ? 0 : 1;
}

int tok_cli_main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(token_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "mint") == 0) return mint(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0) return inspect(argc - 1, argv + 1);
    fprintf(stderr, "proflab token: unknown subcommand '%s'\n\n%s", argv[1], token_usage);
    return 2;
}
