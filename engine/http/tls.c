/* tls.c: the TLS server context, from files or self-signed in memory (EC P-256). */
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include "../log/log.h"
#include "http.h"

static void ssl_error(char *err, size_t errlen, const char *what) {
    unsigned long e = ERR_get_error();
    char reason[200] = "";
    if (e != 0) ERR_error_string_n(e, reason, sizeof reason);
    snprintf(err, errlen, "%s%s%s", what, reason[0] ? ": " : "", reason);
    ERR_clear_error();
}

static int add_ext(X509 *crt, int nid, const char *value) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, crt, crt, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL) return -1;
    int ok = X509_add_ext(crt, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static void log_fingerprint(X509 *crt) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char hex[EVP_MAX_MD_SIZE * 3 + 1];
    if (!X509_digest(crt, EVP_sha256(), md, &n)) return;
    for (unsigned i = 0; i < n; i++) snprintf(hex + i * 3, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
    log_begin(LOG_INFO, "self-signed certificate");
    log_kv_str("subject", "CN=localhost");
    log_kv_str("san", "DNS:localhost,IP:127.0.0.1,IP:::1");
    log_kv_str("sha256", hex);
    log_end();
}

static int self_signed(SSL_CTX *ctx, char *err, size_t errlen) {
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *crt = X509_new();
    X509_NAME *name = NULL;
    int ok = 0;
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (key == NULL || crt == NULL) goto done;
    if (RAND_bytes(serial, sizeof serial) != 1) goto done;
    serial[0] &= 0x7f;
    if ((bn = BN_bin2bn(serial, sizeof serial, NULL)) == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt)) == NULL)
        goto done;
    if (!X509_set_version(crt, 2) || X509_gmtime_adj(X509_getm_notBefore(crt), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(crt), 30L * 24 * 3600) == NULL || !X509_set_pubkey(crt, key))
        goto done;
    name = X509_get_subject_name(crt);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"proflab", -1, -1, 0) ||
        !X509_set_issuer_name(crt, name))
        goto done;
    if (add_ext(crt, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") != 0 ||
        add_ext(crt, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(crt, NID_ext_key_usage, "serverAuth") != 0)
        goto done;
    if (X509_sign(crt, key, EVP_sha256()) == 0) goto done;
    if (SSL_CTX_use_certificate(ctx, crt) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) goto done;
    log_fingerprint(crt);
    ok = 1;
done:
    if (!ok) ssl_error(err, errlen, "cannot make a self-signed certificate");
    BN_free(bn);
    X509_free(crt);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

SSL_CTX *tls_context(const char *cert, const char *key, char *err, size_t errlen) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ssl_error(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        ssl_error(err, errlen, "cannot require TLS 1.2");
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (cert == NULL) {
        if (self_signed(ctx, err, errlen) != 0) goto fail;
    } else {
        char what[300];
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
            snprintf(what, sizeof what, "cannot read the certificate %s", cert);
            ssl_error(err, errlen, what);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
            snprintf(what, sizeof what, "cannot read the private key %s", key);
            ssl_error(err, errlen, what);
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            ssl_error(err, errlen, "the private key does not match the certificate");
            goto fail;
        }
    }
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
