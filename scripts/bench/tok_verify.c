/* tok_verify.c: token verifications per second on one core (built and run by tokens.sh).
 * A realistic token (two scopes and an artifact), verified N times against a fixed clock;
 * the same loop with tok_mint for comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tok/tok.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    struct tok_key key;
    if (n < 1 || tok_key_init(&key, "bench-secret", 12) != 0) return 2;
    const char *sc[] = {"lab:event-loop-jam", "artifacts:read"};
    char t[TOK_MAX_LEN];
    if (tok_mint(&key, sc, 2, "cpu-2026-11-26T02-41-11.123Z-1a2b3c4d.cpuprofile", 1790000000, 900, t, sizeof t) != 0) return 2;
    size_t len = strlen(t);
    struct tok_claims c;
    long ok = 0;
    double t0 = now();
    for (long i = 0; i < n; i++) ok += tok_verify(&key, t, len, 1790000000 + (i & 511), &c) == TOK_OK;
    double dv = now() - t0;
    /* a token with one byte changed is refused by the MAC alone */
    t[len - 5] ^= 1;
    t0 = now();
    long bad = 0;
    for (long i = 0; i < n; i++) bad += tok_verify(&key, t, len, 1790000000, &c) != TOK_OK;
    double db = now() - t0;
    long m = n / 10;
    t0 = now();
    for (long i = 0; i < m; i++)
        if (tok_mint(&key, sc, 2, NULL, 1790000000, 900, t, sizeof t) != 0) return 2;
    double dm = now() - t0;
    if (ok != n || bad != n) return 2;
    printf("token_bytes %zu\nverify_per_s %.0f\nverify_ns %.0f\nrefuse_per_s %.0f\nmint_per_s %.0f\n", len, n / dv,
           dv / n * 1e9, n / db, m / dm);
    tok_key_free(&key);
    return 0;
}
