/* artifacts.c: the artifact folder and atomic writes into it. */
#include "artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* short enough that folder/.name.part always fits in PATH_MAX */
static char art_folder[PATH_MAX - ART_NAME_MAX - 16];

/* store.c */
int art_store_scan(const char *dir, char *err, size_t errlen);
void art_store_info(struct art_info *a, const struct art_writer *w, const unsigned char sha[32], const struct stat *st);
int art_store_sidecar(const struct art_info *a, const struct stat *st);
void art_store_record(const struct art_info *a);
void art_store_drop_sidecar(const char *name);
unsigned long long art_store_budget(void);

void art_default_dir(char *out, size_t outlen) {
    const char *state = getenv("XDG_STATE_HOME");
    if (state != NULL && state[0] == '/') snprintf(out, outlen, "%s/proflab", state);
    else snprintf(out, outlen, "/tmp/proflab-%u", (unsigned)getuid());
}

int art_init(const char *dir, char *err, size_t errlen) {
    char real[PATH_MAX];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the artifact folder %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "the artifact folder %s is not a folder", dir);
        return -1;
    }
    if (st.st_uid != getuid() || (st.st_mode & 077) != 0) {
        /* someone else's, or readable by others: profiles hold source paths and data */
        if (st.st_uid != getuid() || chmod(dir, 0700) != 0) {
            snprintf(err, errlen, "the artifact folder %s must belong to this user with mode 0700", dir);
            return -1;
        }
    }
    if (realpath(dir, real) == NULL) {
        snprintf(err, errlen, "cannot resolve %s: %s", dir, strerror(errno));
        return -1;
    }
    if (strlen(real) >= sizeof art_folder) {
        snprintf(err, errlen, "the artifact folder's path is too long");
        return -1;
    }
    memcpy(art_folder, real, strlen(real) + 1);
    return art_store_scan(art_folder, err, errlen);
}

const char *art_dir(void) { return art_folder; }


int art_create(struct art_writer *w, const char *prefix, const char *ext) {
    memset(w, 0, sizeof *w);
    w->fd = -1;
    struct timespec ts;
    struct tm tm;
    unsigned char rnd[4];
    char stamp[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H-%M-%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000);
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        errno = EIO;
        return -1;
    }
    if (art_folder[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    snprintf(w->name, sizeof w->name, "%s-%s-%02x%02x%02x%02x%s", prefix, stamp, rnd[0], rnd[1], rnd[2], rnd[3], ext);
    snprintf(w->kind, sizeof w->kind, "%s", prefix);
    if (!art_name_valid(w->name, strlen(w->name))) {
        errno = EINVAL;
        return -1;
    }
    w->sha = EVP_MD_CTX_new();
    if (w->sha == NULL || EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(w->sha);
        w->sha = NULL;
        errno = ENOMEM;
        return -1;
    }
    snprintf(w->path, sizeof w->path, "%s/%s", art_folder, w->name);
    snprintf(w->tmp, sizeof w->tmp, "%s/.%s.part", art_folder, w->name);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (w->fd < 0) {
        int e = errno;
        EVP_MD_CTX_free(w->sha);
        w->sha = NULL;
        errno = e;
        return -1;
    }
    return 0;
}

void art_write(struct art_writer *w, const void *p, size_t n) {
    const char *c = p;
    unsigned long long budget = art_store_budget();
    if (w->failed == 0 && budget != 0 && w->bytes + n > budget) w->failed = ENOSPC; /* could never be kept */
    if (w->failed == 0 && n > 0 && EVP_DigestUpdate(w->sha, p, n) != 1) w->failed = EIO;
    while (n > 0 && w->failed == 0) {
        ssize_t k = write(w->fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            w->failed = k < 0 ? errno : EIO;
            break;
        }
        c += k;
        n -= (size_t)k;
        w->bytes += (size_t)k;
    }
}

void art_abort(struct art_writer *w) {
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    if (w->tmp[0] != '\0') unlink(w->tmp);
    w->tmp[0] = '\0';
    EVP_MD_CTX_free(w->sha);
    w->sha = NULL;
}

int art_commit(struct art_writer *w) {
    int e = w->failed;
    unsigned char sha[32];
    unsigned int shalen = 0;
    struct stat st;
    if (e == 0 && (EVP_DigestFinal_ex(w->sha, sha, &shalen) != 1 || shalen != sizeof sha)) e = EIO;
    EVP_MD_CTX_free(w->sha);
    w->sha = NULL;
    if (e == 0 && fsync(w->fd) != 0) e = errno;
    if (e == 0 && fstat(w->fd, &st) != 0) e = errno;
    if (close(w->fd) != 0 && e == 0) e = errno;
    w->fd = -1;
    /* the sidecar first: a crash between the two renames leaves a sidecar without a file,
     * which the next start removes */
    struct art_info info;
    if (e == 0) art_store_info(&info, w, sha, &st);
    if (e == 0 && art_store_sidecar(&info, &st) != 0) e = errno;
    if (e == 0 && rename(w->tmp, w->path) != 0) {
        e = errno;
        art_store_drop_sidecar(w->name);
    }
    if (e != 0) {
        unlink(w->tmp);
        w->tmp[0] = '\0';
        errno = e;
        return -1;
    }
    w->tmp[0] = '\0';
    art_store_record(&info);
    /* the rename is durable once the folder is synced */
    int dfd = open(art_folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
