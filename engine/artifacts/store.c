/* store.c: what the artifact folder holds — an index on the loop thread, sidecars that make it
 * survive a restart, the retention budget, and safe opening by name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../log/log.h"
#include "artifacts.h"

#define SIDECAR_MAGIC "proflab-artifact 1"

static struct {
    struct art_info *a; /* oldest first */
    int n, cap;
    unsigned long long total, budget;
} st_;

int art_name_valid(const char *s, size_t len) {
    if (s == NULL || len == 0 || len >= ART_NAME_MAX || s[0] == '.') return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
        if (c == '.' && i + 1 < len && s[i + 1] == '.') return 0;
    }
    return 1;
}

void art_set_budget(unsigned long long bytes) { st_.budget = bytes; }
unsigned long long art_budget(void) { return st_.budget; }
unsigned long long art_store_budget(void) { return st_.budget; }
unsigned long long art_total_bytes(void) { return st_.total; }
int art_count(void) { return st_.n; }
const struct art_info *art_at(int i) { return i >= 0 && i < st_.n ? &st_.a[i] : NULL; }

static int find_index(const char *name, size_t len) {
    if (!art_name_valid(name, len)) return -1;
    for (int i = 0; i < st_.n; i++)
        if (strlen(st_.a[i].name) == len && memcmp(st_.a[i].name, name, len) == 0) return i;
    return -1;
}

const struct art_info *art_find(const char *name, size_t len) {
    int i = find_index(name, len);
    return i < 0 ? NULL : &st_.a[i];
}

static void hex(const unsigned char *p, size_t n, char *out) {
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void art_digest_hex(const struct art_info *a, char out[65]) { hex(a->sha256, 32, out); }

void art_digest_header(const struct art_info *a, char out[64]) {
    unsigned char b64[48];
    int n = EVP_EncodeBlock(b64, a->sha256, 32); /* 44 chars, standard alphabet with padding */
    snprintf(out, 64, "sha-256=:%.*s:", n, (const char *)b64);
}

static void sidecar_path(const char *name, char *out, size_t outlen, int part) {
    snprintf(out, outlen, "%s/.%s.meta%s", art_dir(), name, part ? ".part" : "");
}

static long long mtime_ns(const struct stat *s) {
    return (long long)s->st_mtim.tv_sec * 1000000000LL + s->st_mtim.tv_nsec;
}

static int write_sidecar(const struct art_info *a, const struct stat *s) {
    char path[PATH_MAX], tmp[PATH_MAX], shahex[65], line[256];
    sidecar_path(a->name, path, sizeof path, 0);
    sidecar_path(a->name, tmp, sizeof tmp, 1);
    art_digest_hex(a, shahex);
    int n = snprintf(line, sizeof line, SIDECAR_MAGIC " %s %llu %lld %lld %s\n", a->kind, a->size, mtime_ns(s),
                     a->created_ms, shahex);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    int e = 0;
    if (write(fd, line, (size_t)n) != n) e = errno ? errno : EIO;
    if (e == 0 && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && e == 0) e = errno;
    if (e == 0 && rename(tmp, path) != 0) e = errno;
    if (e != 0) {
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

void art_store_drop_sidecar(const char *name) {
    char path[PATH_MAX];
    sidecar_path(name, path, sizeof path, 0);
    unlink(path);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void art_store_info(struct art_info *a, const struct art_writer *w, const unsigned char sha[32], const struct stat *s) {
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", w->name);
    snprintf(a->kind, sizeof a->kind, "%s", w->kind);
    a->size = (unsigned long long)s->st_size;
    memcpy(a->sha256, sha, 32);
    a->created_ms = now_ms();
}

int art_store_sidecar(const struct art_info *a, const struct stat *s) { return write_sidecar(a, s); }

static int push(const struct art_info *a) {
    if (st_.n == st_.cap) {
        int cap = st_.cap ? st_.cap * 2 : 32;
        struct art_info *p = realloc(st_.a, (size_t)cap * sizeof *p);
        if (p == NULL) return -1;
        st_.a = p;
        st_.cap = cap;
    }
    /* keep oldest first */
    int i = st_.n;
    while (i > 0 && st_.a[i - 1].created_ms > a->created_ms) i--;
    memmove(&st_.a[i + 1], &st_.a[i], (size_t)(st_.n - i) * sizeof *st_.a);
    st_.a[i] = *a;
    st_.n++;
    st_.total += a->size;
    return 0;
}

static void remove_at(int i) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", art_dir(), st_.a[i].name);
    unlink(path);
    art_store_drop_sidecar(st_.a[i].name);
    st_.total -= st_.a[i].size;
    memmove(&st_.a[i], &st_.a[i + 1], (size_t)(st_.n - i - 1) * sizeof *st_.a);
    st_.n--;
}

/* Oldest first, never the one just written (keep is its name). */
static void enforce_budget(const char *keep) {
    while (st_.budget != 0 && st_.total > st_.budget) {
        int victim = -1;
        for (int i = 0; i < st_.n && victim < 0; i++)
            if (keep == NULL || strcmp(st_.a[i].name, keep) != 0) victim = i;
        if (victim < 0) break;
        log_begin(LOG_INFO, "artifact removed by retention");
        log_kv_str("name", st_.a[victim].name);
        log_kv_int("bytes", (long long)st_.a[victim].size);
        log_kv_int("budget_bytes", (long long)st_.budget);
        log_end();
        remove_at(victim);
    }
}

void art_store_record(const struct art_info *a) {
    int i = find_index(a->name, strlen(a->name));
    if (i >= 0) remove_at(i);
    if (push(a) != 0) {
        log_msg(LOG_ERROR, "out of memory listing artifact %s", a->name);
        return;
    }
    enforce_budget(a->name);
}

/* A sidecar that matches the file's size and mtime; 0, or -1 (absent, stale or unreadable). */
static int read_sidecar(const char *name, const struct stat *s, struct art_info *a) {
    char path[PATH_MAX], line[256], kind[ART_KIND_MAX], shahex[80];
    unsigned long long size;
    long long mt, created;
    sidecar_path(name, path, sizeof path, 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    if (n <= 0) return -1;
    line[n] = '\0';
    if (strncmp(line, SIDECAR_MAGIC " ", sizeof SIDECAR_MAGIC) != 0) return -1;
    if (sscanf(line + sizeof SIDECAR_MAGIC, "%23s %llu %lld %lld %70s", kind, &size, &mt, &created, shahex) != 5) return -1;
    if (size != (unsigned long long)s->st_size || mt != mtime_ns(s) || strlen(shahex) != 64) return -1;
    memset(a, 0, sizeof *a);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(shahex + 2 * i, "%2x", &v) != 1) return -1;
        a->sha256[i] = (unsigned char)v;
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->kind, sizeof a->kind, "%s", kind);
    a->size = size;
    a->created_ms = created;
    return 0;
}

/* No sidecar (copied in by hand, or a crash): read the file once. */
static int recompute(int dfd, const char *name, const struct stat *s, struct art_info *a) {
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    static char buf[1 << 16];
    unsigned long long total = 0;
    ssize_t k;
    while (ok && (k = read(fd, buf, sizeof buf)) != 0) {
        if (k < 0) {
            if (errno == EINTR) continue;
            ok = 0;
            break;
        }
        total += (unsigned long long)k;
        ok = EVP_DigestUpdate(c, buf, (size_t)k) == 1;
    }
    unsigned int len = 0;
    memset(a, 0, sizeof *a);
    if (ok) ok = EVP_DigestFinal_ex(c, a->sha256, &len) == 1 && len == 32;
    EVP_MD_CTX_free(c);
    close(fd);
    if (!ok || total != (unsigned long long)s->st_size) return -1;
    snprintf(a->name, sizeof a->name, "%s", name);
    size_t kl = strcspn(name, "-.");
    snprintf(a->kind, sizeof a->kind, "%.*s", (int)(kl < ART_KIND_MAX ? kl : ART_KIND_MAX - 1), name);
    a->size = total;
    a->created_ms = (long long)s->st_mtim.tv_sec * 1000 + s->st_mtim.tv_nsec / 1000000;
    if (write_sidecar(a, s) != 0) log_msg(LOG_WARN, "cannot write the sidecar of %s: %s", name, strerror(errno));
    return 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int art_store_scan(const char *dir, char *err, size_t errlen) {
    free(st_.a);
    st_.a = NULL;
    st_.n = st_.cap = 0;
    st_.total = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d == NULL) {
        snprintf(err, errlen, "cannot list the artifact folder %s: %s", dir, strerror(errno));
        if (dfd >= 0) close(dfd);
        return -1;
    }
    struct dirent *e;
    int skipped = 0;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        struct stat s;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) continue;
        if (n[0] == '.') {
            /* a write a crash interrupted; sidecars are checked with their file below */
            if (ends_with(n, ".part")) unlinkat(dfd, n, 0);
            continue;
        }
        if (!art_name_valid(n, strlen(n)) || fstatat(dfd, n, &s, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(s.st_mode)) {
            skipped++; /* symlinks, folders, odd names: never listed, never served */
            continue;
        }
        struct art_info a;
        if (read_sidecar(n, &s, &a) != 0 && recompute(dfd, n, &s, &a) != 0) {
            skipped++;
            continue;
        }
        if (push(&a) != 0) {
            snprintf(err, errlen, "out of memory listing the artifact folder");
            closedir(d);
            return -1;
        }
    }
    /* sidecars whose file is gone */
    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        if (n[0] != '.' || !ends_with(n, ".meta") || l < 7) continue;
        if (find_index(n + 1, l - 6) < 0) unlinkat(dfd, n, 0);
    }
    closedir(d);
    if (skipped > 0) log_msg(LOG_WARN, "artifact folder: %d entries that are not artifacts are ignored", skipped);
    enforce_budget(NULL);
    return 0;
}

int art_open(const char *name, size_t len, struct art_info *info) {
    int i = find_index(name, len);
    if (i < 0) {
        errno = ENOENT;
        return -1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", art_dir(), st_.a[i].name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) return -1;
    struct stat s;
    if (fstat(fd, &s) != 0 || !S_ISREG(s.st_mode) || (unsigned long long)s.st_size != st_.a[i].size) {
        /* replaced behind our back: not what the index describes */
        close(fd);
        errno = ENOENT;
        return -1;
    }
    if (info != NULL) *info = st_.a[i];
    return fd;
}

int art_delete(const char *name, size_t len) {
    int i = find_index(name, len);
    if (i < 0) {
        errno = ENOENT;
        return -1;
    }
    remove_at(i);
    return 0;
}
