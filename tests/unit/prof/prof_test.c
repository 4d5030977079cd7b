/* prof_test.c: stack interning, the .cpuprofile and folded writers (read back by jansson),
 * and the analyze report, on profiles built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prof/prof.h"

struct text {
    char *p;
    size_t len;
    int calls, fail_at;
};

static int sink(void *ud, const char *s, size_t n) {
    struct text *t = ud;
    if (++t->calls == t->fail_at) return 42;
    char *q = realloc(t->p, t->len + n + 1);
    if (q == NULL) return -1;
    memcpy(q + t->len, s, n);
    t->p = q;
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

static void test_intern_functions(void **state) {
    (void)state;
    struct prof_profile p;
    assert_int_equal(prof_profile_init(&p, 1000), 0);
    uint32_t a = prof_func(&p, "spin", "file:///s/jam.lua", 5);
    uint32_t b = prof_func(&p, "spin", "file:///s/jam.lua", 5);
    uint32_t c = prof_func(&p, "spin", "file:///s/jam.lua", 6);
    uint32_t d = prof_func(&p, "run", "file:///s/jam.lua", 20);
    uint32_t e = prof_func(&p, "spin", "file:///s/other.lua", 5);
    uint32_t f = prof_func(&p, "string.rep", "", -1);
    assert_int_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_not_equal(a, e);
    /* one scriptId per file, 0 for no file */
    assert_int_equal(p.funcs[a].script, p.funcs[d].script);
    assert_int_not_equal(p.funcs[a].script, p.funcs[e].script);
    assert_int_equal(p.funcs[f].script, 0);
    /* many functions: the index grows and finds every one again */
    char name[32];
    uint32_t ids[5000];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "f%d", i);
        ids[i] = prof_func(&p, name, "file:///x.lua", i);
        assert_int_not_equal(ids[i], PROF_NONE);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "f%d", i);
        assert_int_equal(prof_func(&p, name, "file:///x.lua", i), ids[i]);
    }
    assert_int_equal(prof_func(&p, "spin", "file:///s/jam.lua", 5), a);
    assert_int_equal(p.oom, 0);
    prof_profile_free(&p);
}

static void test_intern_stacks(void **state) {
    (void)state;
    struct prof_profile p;
    assert_int_equal(prof_profile_init(&p, 1000), 0);
    uint32_t run = prof_func(&p, "run", "file:///j.lua", 20), spin = prof_func(&p, "spin", "file:///j.lua", 5);
    uint32_t now = prof_func(&p, "lab.now", "", -1);
    uint32_t s1[] = {run, spin}, s2[] = {run, spin, now}, s3[] = {spin};
    assert_int_equal(prof_sample_stack(&p, 10, s1, 2, 11), 0);
    size_t nodes = p.n_nodes;
    assert_int_equal(nodes, 3); /* root, run, spin */
    assert_int_equal(prof_sample_stack(&p, 20, s1, 2, 11), 0);
    assert_int_equal(p.n_nodes, nodes); /* the same stack: no new node */
    assert_int_equal(p.samples[0].node, p.samples[1].node);
    assert_int_equal(prof_sample_stack(&p, 30, s2, 3, 0), 0);
    assert_int_equal(p.n_nodes, 4);
    assert_int_equal(p.nodes[p.samples[2].node].parent, p.samples[0].node);
    assert_int_equal(prof_sample_stack(&p, 40, s3, 1, 7), 0);
    assert_int_equal(p.n_nodes, 5); /* spin under the root is another node than spin under run */
    assert_int_equal(p.nodes[p.samples[3].node].parent, 0);
    /* a deep recursion: one node per depth */
    uint32_t deep[PROF_DEPTH_MAX];
    for (int i = 0; i < PROF_DEPTH_MAX; i++) deep[i] = spin;
    assert_int_equal(prof_sample_stack(&p, 50, deep, PROF_DEPTH_MAX, 9), 0);
    assert_int_equal(p.n_nodes, 5 + PROF_DEPTH_MAX - 1);
    prof_profile_free(&p);
}

static void test_finish_orders_samples(void **state) {
    (void)state;
    struct prof_profile p;
    assert_int_equal(prof_profile_init(&p, 1000), 0);
    uint32_t f = prof_func(&p, "f", "", -1), g = prof_func(&p, "g", "", -1);
    uint64_t times[] = {100, 300, 200, 400, 400, 350};
    for (int i = 0; i < 6; i++) assert_int_equal(prof_sample_stack(&p, times[i], i == 4 ? &g : &f, 1, 0), 0);
    uint32_t g_node = p.samples[4].node;
    prof_finish(&p, 150, 390);
    for (size_t i = 1; i < p.n_samples; i++) assert_true(p.samples[i - 1].t_us <= p.samples[i].t_us);
    assert_int_equal(p.samples[5].node, g_node); /* stable: 400 (f) stays before 400 (g) */
    assert_int_equal(p.start_us, 100);          /* widened to cover every sample */
    assert_int_equal(p.end_us, 400);
    prof_profile_free(&p);
}

/* A profile like a jam: 60 samples in spin at line 11, 20 idle, 15 in run, 5 in lab.now. */
static void jam_profile(struct prof_profile *p) {
    assert_int_equal(prof_profile_init(p, 1000), 0);
    uint32_t run = prof_func(p, "(anonymous @ jam.lua:20)", "file:///s/jam%20x.lua", 19);
    uint32_t spin = prof_func(p, "spin", "file:///s/jam%20x.lua", 5);
    uint32_t now = prof_func(p, "lab.now", "", -1), idle = prof_func(p, PROF_IDLE, "", -1);
    uint32_t odd = prof_func(p, "we\"ird;na\nme\xff", "", -1);
    uint64_t t = 1000000;
    for (int i = 0; i < 100; i++, t += 1000) {
        uint32_t s[3] = {run, spin, now};
        if (i < 60) assert_int_equal(prof_sample_stack(p, t, s, 2, i < 50 ? 11 : 12), 0);
        else if (i < 80) assert_int_equal(prof_sample_stack(p, t, &idle, 1, 0), 0);
        else if (i < 94) assert_int_equal(prof_sample_stack(p, t, s, 1, 21), 0);
        else if (i < 99) assert_int_equal(prof_sample_stack(p, t, s, 3, 0), 0);
        else {
            uint32_t o[2] = {run, odd};
            assert_int_equal(prof_sample_stack(p, t, o, 2, 0), 0);
        }
    }
    prof_finish(p, 1000000 - 500, t);
}

static void test_cpuprofile_json(void **state) {
    (void)state;
    struct prof_profile p;
    jam_profile(&p);
    struct text out = {0};
    assert_int_equal(prof_write_cpuprofile(&p, sink, &out), 0);
    json_error_t je;
    json_t *root = json_loads(out.p, 0, &je);
    if (root == NULL) fail_msg("not JSON: %s at %d", je.text, je.position);
    json_t *nodes = json_object_get(root, "nodes"), *samples = json_object_get(root, "samples");
    json_t *deltas = json_object_get(root, "timeDeltas");
    assert_true(json_is_array(nodes) && json_is_array(samples) && json_is_array(deltas));
    assert_int_equal(json_array_size(nodes), p.n_nodes);
    assert_int_equal(json_array_size(samples), 100);
    assert_int_equal(json_array_size(deltas), 100);
    /* the first node is (root), id 1; ids are unique; every child id exists once */
    json_t *first = json_array_get(nodes, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(first, "callFrame"), "functionName")), "(root)");
    assert_int_equal(json_integer_value(json_object_get(first, "id")), 1);
    int parents[64] = {0};
    long long hits = 0;
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        assert_int_equal(json_integer_value(json_object_get(n, "id")), (long long)i + 1);
        json_t *cf = json_object_get(n, "callFrame");
        assert_true(json_is_string(json_object_get(cf, "scriptId")));
        assert_true(json_is_string(json_object_get(cf, "url")));
        assert_true(json_is_integer(json_object_get(cf, "lineNumber")));
        assert_true(json_is_integer(json_object_get(cf, "columnNumber")));
        hits += json_integer_value(json_object_get(n, "hitCount"));
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(n, "children"), k, c) {
            long long id = json_integer_value(c);
            assert_true(id > 1 && id <= (long long)json_array_size(nodes));
            parents[id]++;
        }
    }
    for (size_t k = 2; k <= json_array_size(nodes); k++) assert_int_equal(parents[k], 1);
    assert_int_equal(hits, 100);
    /* times: integers, non-negative, summing to the last sample's offset from startTime */
    long long start = json_integer_value(json_object_get(root, "startTime"));
    long long end = json_integer_value(json_object_get(root, "endTime")), sum = 0;
    assert_int_equal(start, 999500);
    assert_true(end >= start);
    json_array_foreach(deltas, i, n) {
        assert_true(json_is_integer(n));
        assert_true(json_integer_value(n) >= 0);
        sum += json_integer_value(n);
    }
    assert_int_equal(start + sum, 1000000 + 99 * 1000);
    /* spin: 0-based definition line, url, positionTicks with 1-based lines 11 (50) and 12 (10) */
    json_t *spin = NULL;
    json_array_foreach(nodes, i, n) {
        json_t *cf = json_object_get(n, "callFrame");
        if (strcmp(json_string_value(json_object_get(cf, "functionName")), "spin") == 0) spin = n;
    }
    assert_non_null(spin);
    json_t *cf = json_object_get(spin, "callFrame");
    assert_int_equal(json_integer_value(json_object_get(cf, "lineNumber")), 5);
    assert_string_equal(json_string_value(json_object_get(cf, "url")), "file:///s/jam%20x.lua");
    assert_int_equal(json_integer_value(json_object_get(spin, "hitCount")), 60);
    json_t *ticks = json_object_get(spin, "positionTicks");
    assert_int_equal(json_array_size(ticks), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ticks, 0), "line")), 11);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ticks, 0), "ticks")), 50);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ticks, 1), "line")), 12);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ticks, 1), "ticks")), 10);
    /* a name with quotes, ';', a newline and invalid UTF-8 survives as a JSON string */
    assert_non_null(strstr(out.p, "we\\\"ird;na\\nme\\ufffd"));
    json_decref(root);
    free(out.p);

    /* a sink error stops the writer and is returned */
    struct text failing = {.fail_at = 1};
    assert_int_equal(prof_write_cpuprofile(&p, sink, &failing), 42);
    free(failing.p);
    prof_profile_free(&p);
}

static void test_folded(void **state) {
    (void)state;
    struct prof_profile p;
    jam_profile(&p);
    struct text out = {0};
    assert_int_equal(prof_write_folded(&p, sink, &out), 0);
    long long total = 0;
    int lines = 0;
    for (char *line = strtok(out.p, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        total += atoll(sp + 1);
        lines++;
        if (strncmp(line, "(anonymous @ jam.lua:20) (jam%20x.lua:20);spin (jam%20x.lua:6) ", 63) == 0)
            assert_string_equal(sp + 1, "60");
    }
    assert_int_equal(total, 100);
    assert_int_equal(lines, 5);
    free(out.p);
    prof_profile_free(&p);
}

static void test_analyze(void **state) {
    (void)state;
    struct prof_profile p;
    jam_profile(&p);
    char path[] = "/tmp/prof_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    struct text out = {0};
    assert_int_equal(prof_write_cpuprofile(&p, sink, &out), 0);
    assert_int_equal(fwrite(out.p, 1, out.len, f), out.len);
    assert_int_equal(fclose(f), 0);
    char *report = NULL;
    size_t rlen = 0;
    FILE *r = open_memstream(&report, &rlen);
    assert_non_null(r);
    char err[256];
    assert_int_equal(prof_analyze_file(path, 3, r, err, sizeof err), 0);
    assert_int_equal(fclose(r), 0);
    /* spin first by self time: 60%, defined at line 6 of the decoded path, hot line 11 */
    char *self = strstr(report, "by self time");
    assert_non_null(self);
    char *first = strchr(self, '\n') + 1;
    first = strchr(first, '\n') + 1; /* past the header */
    assert_non_null(strstr(first, "60.0%"));
    assert_non_null(strstr(first, "spin"));
    assert_non_null(strstr(first, "/s/jam x.lua:6"));
    assert_non_null(strstr(first, "line 11: 83.3% of self"));
    assert_non_null(strstr(report, "idle 20.0%"));
    /* by total time, run holds every sample but the idle ones */
    char *total = strstr(report, "by total time");
    assert_non_null(total);
    assert_non_null(strstr(total, "80.0%"));
    free(report);
    /* children that form a cycle: refused, not walked forever */
    FILE *c = fopen(path, "w");
    assert_non_null(c);
    fputs("{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"a\",\"url\":\"\",\"lineNumber\":-1},\"children\":[2]},"
          "{\"id\":2,\"callFrame\":{\"functionName\":\"b\",\"url\":\"\",\"lineNumber\":-1},\"children\":[1]}],"
          "\"samples\":[1,2],\"timeDeltas\":[0,1],\"startTime\":0,\"endTime\":2}", c);
    assert_int_equal(fclose(c), 0);
    r = open_memstream(&report, &rlen);
    assert_int_equal(prof_analyze_file(path, 3, r, err, sizeof err), -1);
    fclose(r);
    free(report);
    assert_non_null(strstr(err, "cycle"));
    /* not a profile: an error, not a report */
    assert_int_equal(truncate(path, 10), 0);
    r = open_memstream(&report, &rlen);
    assert_int_equal(prof_analyze_file(path, 3, r, err, sizeof err), -1);
    fclose(r);
    free(report);
    unlink(path);
    free(out.p);
    prof_profile_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_functions), cmocka_unit_test(test_intern_stacks),
        cmocka_unit_test(test_finish_orders_samples), cmocka_unit_test(test_cpuprofile_json),
        cmocka_unit_test(test_folded), cmocka_unit_test(test_analyze),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
