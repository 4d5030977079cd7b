/* artifacts_test.c: atomic writes with their SHA-256, the index across a restart, retention,
 * write errors that leave nothing behind, and names that could leave the folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/artifacts.h"

static char dir[PATH_MAX];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/proflab-art-test.XXXXXX");
    if (mkdtemp(dir) == NULL) return -1;
    char err[256];
    art_set_budget(0);
    return art_init(dir, err, sizeof err);
}

static int teardown(void **state) {
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX + 300];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d != NULL) closedir(d);
    rmdir(dir);
    return 0;
}

static int count_files(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static void write_artifact(const char *prefix, size_t bytes, unsigned char seed, char *name_out) {
    struct art_writer w;
    assert_int_equal(art_create(&w, prefix, ".bin"), 0);
    unsigned char buf[4096];
    for (size_t o = 0; o < bytes; o += sizeof buf) {
        size_t n = bytes - o < sizeof buf ? bytes - o : sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(seed + o + i);
        art_write(&w, buf, n);
    }
    assert_int_equal(art_commit(&w), 0);
    strcpy(name_out, w.name);
}

static void test_write_index_restart(void **state) {
    (void)state;
    char name[ART_NAME_MAX];
    write_artifact("cpu", 100000, 7, name);
    const struct art_info *a = art_find(name, strlen(name));
    assert_non_null(a);
    assert_string_equal(a->kind, "cpu");
    assert_int_equal(a->size, 100000);
    /* the SHA-256 computed while writing is the file's */
    char path[PATH_MAX + 100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char all[100000];
    assert_int_equal(fread(all, 1, sizeof all, f), sizeof all);
    fclose(f);
    unsigned char md[32];
    SHA256(all, sizeof all, md);
    assert_memory_equal(md, a->sha256, 32);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* file + sidecar, nothing else */
    assert_int_equal(count_files(), 2);
    struct art_info before = *a;

    /* a restart lists it again from the sidecar */
    char err[256];
    assert_int_equal(art_init(dir, err, sizeof err), 0);
    assert_int_equal(art_count(), 1);
    a = art_find(name, strlen(name));
    assert_non_null(a);
    assert_memory_equal(a->sha256, before.sha256, 32);
    assert_int_equal(a->created_ms, before.created_ms);
    assert_string_equal(a->kind, "cpu");
    /* a stale sidecar (file changed behind our back) is recomputed */
    f = fopen(path, "r+b");
    assert_non_null(f);
    fputc('X', f);
    fclose(f);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {1, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    assert_int_equal(art_init(dir, err, sizeof err), 0);
    a = art_find(name, strlen(name));
    assert_non_null(a);
    all[0] = 'X';
    SHA256(all, sizeof all, md);
    assert_memory_equal(md, a->sha256, 32);

    /* open, delete */
    struct art_info info;
    int fd = art_open(name, strlen(name), &info);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(art_delete(name, strlen(name)), 0);
    assert_int_equal(art_count(), 0);
    assert_int_equal(count_files(), 0);
    assert_int_equal(art_delete(name, strlen(name)), -1);
    assert_int_equal(errno, ENOENT);
}

/* A write error (a full disk: /dev/full) fails the commit and leaves no file at all. */
static void test_write_error_leaves_nothing(void **state) {
    (void)state;
    struct art_writer w;
    assert_int_equal(art_create(&w, "heap", ".heapsnapshot"), 0);
    int full = open("/dev/full", O_WRONLY);
    assert_true(full >= 0);
    assert_int_equal(dup2(full, w.fd), w.fd);
    close(full);
    art_write(&w, "some bytes", 10);
    assert_int_equal(w.failed, ENOSPC);
    assert_int_equal(art_commit(&w), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(count_files(), 0);
    assert_int_equal(art_count(), 0);
    /* abort also removes everything */
    assert_int_equal(art_create(&w, "heap", ".x"), 0);
    art_write(&w, "abc", 3);
    art_abort(&w);
    assert_int_equal(count_files(), 0);
}

static void test_retention(void **state) {
    (void)state;
    char n1[ART_NAME_MAX], n2[ART_NAME_MAX], n3[ART_NAME_MAX];
    art_set_budget(250000);
    write_artifact("a", 100000, 1, n1);
    usleep(2000);
    write_artifact("b", 100000, 2, n2);
    usleep(2000);
    write_artifact("c", 100000, 3, n3); /* 300000 > budget: the oldest goes */
    assert_int_equal(art_count(), 2);
    assert_null(art_find(n1, strlen(n1)));
    assert_non_null(art_find(n2, strlen(n2)));
    assert_non_null(art_find(n3, strlen(n3)));
    assert_int_equal(art_total_bytes(), 200000);
    assert_int_equal(count_files(), 4);
    /* one artifact larger than the whole budget fails, and keeps the others */
    struct art_writer w;
    assert_int_equal(art_create(&w, "big", ".bin"), 0);
    static char big[300000];
    art_write(&w, big, sizeof big);
    assert_int_equal(art_commit(&w), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(art_count(), 2);
    assert_int_equal(count_files(), 4);
    art_set_budget(0);
}

static void test_names(void **state) {
    (void)state;
    const char *bad[] = {"", ".", "..", "../x", "..%2fx", "%2e%2e%2f", "/etc/passwd", "a/b", "a\\b", ".hidden", "a b",
                         "a..b", "x\n", "é.bin", "a:b", "a?b", "*"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (art_name_valid(bad[i], strlen(bad[i]))) fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(art_open(bad[i], strlen(bad[i]), NULL), -1);
    }
    assert_false(art_name_valid("a\0b", 3));
    assert_true(art_name_valid("cpu-2026-11-26T02-41-11.123Z-1a2b3c4d.cpuprofile", 48));
    /* a symlink inside the folder, pointing outside: never listed, never opened */
    char link[PATH_MAX + 20], err[256];
    snprintf(link, sizeof link, "%s/evil.bin", dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    assert_int_equal(art_init(dir, err, sizeof err), 0);
    assert_null(art_find("evil.bin", 8));
    assert_int_equal(art_open("evil.bin", 8, NULL), -1);
    assert_int_equal(art_delete("evil.bin", 8), -1);
    assert_int_equal(unlink(link), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_index_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
