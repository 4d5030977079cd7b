/* artifacts: the folder where profiles and snapshots are written. Files appear whole or not
 * at all: written under a temporary name, fsynced, then renamed. */
#ifndef PROFLAB_ARTIFACTS_H
#define PROFLAB_ARTIFACTS_H

#include <limits.h>
#include <stddef.h>

#define ART_NAME_MAX 96

#define ART_KIND_MAX 24

struct art_writer {
    int fd;
    int failed;     /* errno of the first failed write, 0 while all is well */
    size_t bytes;
    char name[ART_NAME_MAX];
    char tmp[PATH_MAX];
    char path[PATH_MAX];
    void *sha;      /* EVP_MD_CTX: SHA-256 of what was written, computed as it is written */
    char kind[ART_KIND_MAX];
};

/* What the store records of each artifact; kept in a sidecar .NAME.meta so that it survives a
 * restart (the SHA-256 is recomputed when the sidecar is missing or stale). */
struct art_info {
    char name[ART_NAME_MAX];
    char kind[ART_KIND_MAX];      /* the prefix given to art_create: cpu, heap, ... */
    unsigned long long size;
    unsigned char sha256[32];
    long long created_ms;         /* Unix time in ms */
};

/* The default folder: $XDG_STATE_HOME/proflab, else /tmp/proflab-UID. */
void art_default_dir(char *out, size_t outlen);
/* Creates dir (mode 0700) if needed and makes it the artifact folder. 0, or -1 with err. */
int art_init(const char *dir, char *err, size_t errlen);
/* art_init also lists what the folder holds (the store survives a restart) and removes the
 * temporary files of writes a crash interrupted. */
const char *art_dir(void);

/* A new artifact named PREFIX-<ISO time with - for :>-<8 hex>EXT, e.g. cpu-2026-11-26T02-41-11.123Z-1a2b3c4d.cpuprofile.
 * 0, or -1 with errno. */
int art_create(struct art_writer *w, const char *prefix, const char *ext);
/* Appends; a failure is remembered and reported by art_commit. */
void art_write(struct art_writer *w, const void *p, size_t n);
/* fsync, rename into place. 0 with w->path the absolute path, or -1 with errno (the temporary
 * file is removed: no partial artifact is left). */
int art_commit(struct art_writer *w);
void art_abort(struct art_writer *w);

/* The store (store.c). Names are [A-Za-z0-9._-], not starting with '.', no "..", under
 * ART_NAME_MAX bytes: anything else (/, \\, NUL, %, absolute paths) is refused before any
 * file is touched. */
int art_name_valid(const char *s, size_t len);
/* The retention budget in bytes (LAB_ARTIFACTS_MAX_MB; 0: none). When a commit takes the folder
 * past it, the oldest artifacts are removed first; a single artifact larger than the budget
 * fails with ENOSPC. */
void art_set_budget(unsigned long long bytes);
unsigned long long art_budget(void);
unsigned long long art_total_bytes(void);
/* The artifacts, oldest first. Valid until the next commit or delete. */
int art_count(void);
const struct art_info *art_at(int i);
const struct art_info *art_find(const char *name, size_t len);
/* Opens a listed artifact for reading (no symlinks, regular files only). The fd, or -1 with
 * errno (ENOENT when unknown or invalid). info may be NULL. */
int art_open(const char *name, size_t len, struct art_info *info);
/* Removes a listed artifact and its sidecar. 0, or -1 with errno (ENOENT when unknown). */
int art_delete(const char *name, size_t len);
/* "sha-256=:BASE64:" (RFC 9530 Repr-Digest) and the lowercase hex digest. */
void art_digest_header(const struct art_info *a, char out[64]);
void art_digest_hex(const struct art_info *a, char out[65]);

/* Signed links (link.c): an absolute URL to GET one artifact, carrying a token bound to it
 * (scope artifacts:read, valid ART_LINK_TTL_S). The base is LAB_PUBLIC_URL, else scheme://host
 * of the request (host checked to hold only host characters). */
#define ART_LINK_TTL_S 900
#define ART_LINK_MAX 4608
struct tok_key;
/* key NULL: the lab has no LAB_TOKEN and links cannot be made. public_url may be NULL. */
void art_link_setup(const struct tok_key *key, const char *public_url);
/* 0, or -1 (no key, bad scheme/host and no LAB_PUBLIC_URL, no room). */
int art_link_base(const char *scheme, size_t slen, const char *host, size_t hlen, char *out, size_t outlen);
int art_link(const char *name, const char *scheme, size_t slen, const char *host, size_t hlen, char *out, size_t outlen);
/* lab.artifacts for Lua: link(name or path [, req]) -> url, list() -> {{name, kind, size, sha256, createdAt}}.
 * Pushes the table. */
struct lua_State;
int art_open_lua(struct lua_State *L);
/* Remembers the req table on top of L as the request of coroutine co, for link(name). */
void art_lua_bind_req(struct lua_State *L, struct lua_State *co);
/* Raises a write failure (errno err) as lab.fail does: 507 insufficient_storage for a full disk,
 * the retention budget or an I/O error, else 500 artifact_error. Call it after art_commit or
 * art_abort, so that nothing partial is left. */
int art_lua_fail(struct lua_State *L, int err, const char *what);

#endif
