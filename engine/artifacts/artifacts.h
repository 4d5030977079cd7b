/* artifacts: the folder where profiles and snapshots are written. Files appear whole or not
 * at all: written under a temporary name, fsynced, then renamed. */
#ifndef PROFLAB_ARTIFACTS_H
#define PROFLAB_ARTIFACTS_H

#include <limits.h>
#include <stddef.h>

#define ART_NAME_MAX 96

struct art_writer {
    int fd;
    int failed;     /* errno of the first failed write, 0 while all is well */
    size_t bytes;
    char name[ART_NAME_MAX];
    char tmp[PATH_MAX];
    char path[PATH_MAX];
};

/* The default folder: $XDG_STATE_HOME/proflab, else /tmp/proflab-UID. */
void art_default_dir(char *out, size_t outlen);
/* Creates dir (mode 0700) if needed and makes it the artifact folder. 0, or -1 with err. */
int art_init(const char *dir, char *err, size_t errlen);
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

#endif
