/* fetch.c: `proflab fetch URL [-o FILE]`: downloads a signed artifact link, resumes a cut
 * download with Range, and keeps the file only when its SHA-256 matches the server's
 * Repr-Digest. libcurl is loaded with dlopen (engine/curlx) only when a download runs, so the server
 * never maps it (about 4 MB of RSS). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../curlx/curlx.h"
#include "tok.h"

static const char fetch_usage[] =
    "usage: proflab fetch URL [-o FILE] [--limit-rate BYTES_PER_S]\n"
    "\n"
    "Downloads URL (a signed artifact link from the lab) into FILE (default: the last part of\n"
    "the URL's path). The bytes go to FILE.part; a later run resumes it with a Range request.\n"
    "FILE appears only when the SHA-256 of the whole file matches the server's Repr-Digest.\n"
    "A progress bar is drawn on stderr when it is a terminal. The token in the URL is never\n"
    "printed.\n";

struct dl {
    int fd;
    unsigned long long have;     /* bytes already in .part when the request started */
    unsigned long long written;  /* bytes written by this request */
    long status;
    int started;                 /* the body began: status and offset checked */
    int failed;
    char digest[80];             /* Repr-Digest value, "sha-256=:...:" */
    unsigned long long range_start;
    int has_range;
    char error[512];             /* a JSON error body, for the message */
    size_t error_len;
    int tty;
    double last_draw;
};

static void trim(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
    struct dl *d = ud;
    size_t len = size * n;
    char line[256];
    if (len >= sizeof line) return len;
    memcpy(line, p, len);
    line[len] = '\0';
    trim(line);
    if (strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a redirect): forget the last */
        d->digest[0] = '\0';
        d->has_range = 0;
        char *sp = strchr(line, ' ');
        d->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    } else if (strncasecmp(line, "repr-digest:", 12) == 0) {
        const char *v = line + 12;
        while (*v == ' ') v++;
        size_t vl = strlen(v) < sizeof d->digest ? strlen(v) : sizeof d->digest - 1;
        memcpy(d->digest, v, vl);
        d->digest[vl] = '\0';
    } else if (strncasecmp(line, "content-range:", 14) == 0) {
        unsigned long long a;
        if (sscanf(line + 14, " bytes %llu-", &a) == 1) {
            d->range_start = a;
            d->has_range = 1;
        }
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    struct dl *d = ud;
    size_t len = size * n;
    if (!d->started) {
        d->started = 1;
        if (d->status == 200 && d->have > 0) {
            /* the server sent the whole file: start over */
            if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0) return d->failed = 1, 0;
            d->have = 0;
        } else if (d->status == 206) {
            if (!d->has_range || d->range_start != d->have) return d->failed = 1, 0;
        }
    }
    if (d->status != 200 && d->status != 206) {
        size_t room = sizeof d->error - 1 - d->error_len;
        size_t k = len < room ? len : room;
        memcpy(d->error + d->error_len, p, k);
        d->error_len += k;
        d->error[d->error_len] = '\0';
        return len;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(d->fd, p + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return d->failed = 1, 0;
        off += (size_t)w;
    }
    d->written += len;
    return len;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_progress(void *ud, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un) {
    struct dl *d = ud;
    if (!d->tty || total <= 0) return 0;
    double t = now_s();
    if (t - d->last_draw < 0.1 && now < total) return 0;
    d->last_draw = t;
    double all = (double)d->have + (double)total, got = (double)d->have + (double)now;
    int w = 40, fill = (int)(w * got / all);
    char bar[48];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : ' ';
    bar[w] = '\0';
    fprintf(stderr, "\r[%s] %5.1f%%  %.1f / %.1f MiB", bar, 100.0 * got / all, got / 1048576.0, all / 1048576.0);
    return 0;
}

/* SHA-256 of the whole file, as Repr-Digest writes it: "sha-256=:BASE64:". */
static int file_digest(const char *path, char out[80]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    static char buf[1 << 20];
    ssize_t k;
    while (ok && (k = read(fd, buf, sizeof buf)) != 0) {
        if (k < 0) {
            if (errno == EINTR) continue;
            ok = 0;
            break;
        }
        ok = EVP_DigestUpdate(c, buf, (size_t)k) == 1;
    }
    unsigned char md[32];
    unsigned int ml = 0;
    if (ok) ok = EVP_DigestFinal_ex(c, md, &ml) == 1 && ml == 32;
    EVP_MD_CTX_free(c);
    close(fd);
    if (!ok) return -1;
    unsigned char b64[48];
    int n = EVP_EncodeBlock(b64, md, 32);
    snprintf(out, 80, "sha-256=:%.*s:", n, (const char *)b64);
    return 0;
}

/* The URL without its query, for messages: the token never reaches a terminal or a log. */
static void safe_url(const char *url, char *out, size_t n) {
    size_t q = strcspn(url, "?#");
    snprintf(out, n, "%.*s%s", (int)(q > 200 ? 200 : q), url, url[q] ? "?..." : "");
}

static int default_name(const char *url, char *out, size_t n) {
    size_t q = strcspn(url, "?#");
    const char *s = url;
    for (size_t i = 0; i < q; i++)
        if (url[i] == '/') s = url + i + 1;
    size_t len = (size_t)(url + q - s);
    if (len == 0 || len >= n || !tok_art_valid(s, len)) return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

/* One request from what .part holds. 0 done, 1 retry from zero, -1 failed. */
static int attempt(CURL *h, const char *url, const char *file, const char *part, long long rate) {
    struct dl d;
    memset(&d, 0, sizeof d);
    d.tty = isatty(2);
    d.fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (d.fd < 0) {
        fprintf(stderr, "proflab fetch: %s: %s\n", part, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(d.fd, &st) != 0) {
        close(d.fd);
        return -1;
    }
    d.have = (unsigned long long)st.st_size;
    char range[64];
    struct curl_slist *hdrs = NULL;
    if (d.have > 0) {
        snprintf(range, sizeof range, "Range: bytes=%llu-", d.have);
        hdrs = curl_slist_append(NULL, range);
        fprintf(stderr, "proflab fetch: resuming %s at byte %llu\n", file, d.have);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &d);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &d);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 0L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)rate);
    if (getenv("PROFLAB_FETCH_INSECURE") != NULL) { /* self-signed lab certificates */
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(h);
    if (d.tty) fputc('\n', stderr);
    curl_slist_free_all(hdrs);
    int cerr = close(d.fd);
    char shown[256];
    safe_url(url, shown, sizeof shown);
    if (d.status == 416 && d.have > 0) return 1; /* .part is not a prefix of this artifact */
    if (d.status != 200 && d.status != 206) {
        fprintf(stderr, "proflab fetch: %s answered %ld %s\n", shown, d.status, d.error_len ? d.error : "");
        return -1;
    }
    if (d.failed) {
        fprintf(stderr, "proflab fetch: %s\n", d.status == 206 ? "the server resumed at another offset" : "cannot write the file");
        return d.status == 206 ? 1 : -1;
    }
    if (rc != CURLE_OK || cerr != 0) {
        fprintf(stderr, "proflab fetch: %s: %s after %llu bytes; run the same command again to resume\n", shown,
                rc != CURLE_OK ? curl_easy_strerror(rc) : strerror(errno), d.have + d.written);
        return -1;
    }
    if (strncmp(d.digest, "sha-256=:", 9) != 0) {
        fprintf(stderr, "proflab fetch: the server sent no Repr-Digest sha-256: cannot check the download\n");
        return -1;
    }
    char got[80];
    if (file_digest(part, got) != 0) {
        fprintf(stderr, "proflab fetch: cannot read back %s\n", part);
        return -1;
    }
    if (strcmp(got, d.digest) != 0) {
        fprintf(stderr, "proflab fetch: SHA-256 mismatch (got %s, the server says %s)\n", got, d.digest);
        unlink(part);
        return d.have > 0 ? 1 : -1;
    }
    if (rename(part, file) != 0) {
        fprintf(stderr, "proflab fetch: %s: %s\n", file, strerror(errno));
        return -1;
    }
    fprintf(stderr, "proflab fetch: %s: %llu bytes, %s verified\n", file, d.have + d.written, d.digest);
    return 0;
}

int tok_fetch_main(int argc, char **argv) {
    const char *url = NULL, *file = NULL;
    long long rate = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(fetch_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strcmp(argv[i], "--limit-rate") == 0 && i + 1 < argc) {
            char *end;
            rate = strtoll(argv[++i], &end, 10);
            if (*end != '\0' || rate < 1) {
                fprintf(stderr, "proflab fetch: --limit-rate wants bytes per second\n");
                return 2;
            }
        } else if (url == NULL && argv[i][0] != '-') {
            url = argv[i];
        } else {
            fprintf(stderr, "proflab fetch: unexpected '%s'\n\n%s", argv[i], fetch_usage);
            return 2;
        }
    }
    if (url == NULL || !(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)) {
        fprintf(stderr, "%s", fetch_usage);
        return 2;
    }
    char name[128], part[4200];
    if (file == NULL) {
        if (default_name(url, name, sizeof name) != 0) {
            fprintf(stderr, "proflab fetch: cannot name the file from the URL: use -o FILE\n");
            return 2;
        }
        file = name;
    }
    if ((size_t)snprintf(part, sizeof part, "%s.part", file) >= sizeof part) return 2;
    char lerr[300];
    if (curlx_load(lerr, sizeof lerr) != 0) {
        fprintf(stderr, "proflab fetch: %s\n", lerr);
        return 1;
    }
    CURL *h = curl_easy_init();
    if (h == NULL) return 1;
    int r = attempt(h, url, file, part, rate);
    if (r == 1) {
        fprintf(stderr, "proflab fetch: the partial file does not fit this artifact; starting over\n");
        unlink(part);
        r = attempt(h, url, file, part, rate);
    }
    curl_easy_cleanup(h);
    return r == 0 ? 0 : 1;
}
