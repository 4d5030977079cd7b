/* runner.c: `proflab walk`: finds a walkthrough, starts a child engine unless --target is
 * given, and runs the walkthrough in a client-side Lua state (walk.lua holds the runner). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "walk.h"

#define WALK_DIR PROFLAB_SOURCE_DIR "/scripts/walkthroughs"
#define WALK_RUNNER PROFLAB_SOURCE_DIR "/engine/walk/walk.lua"

static const char usage[] =
    "usage: proflab walk NAME|FILE [options]\n"
    "       proflab walk --list\n"
    "\n"
    "Run a scripted, self-checking walkthrough of the lab. By default it starts its own engine\n"
    "(a child process on an ephemeral port, the lab enabled with a fresh token) and stops it at\n"
    "the end; --target drives an engine that is already running.\n"
    "\n"
    "options:\n"
    "  --list             list the walkthroughs, one a line: name, then summary\n"
    "  --explain          print the narrative and the steps without running anything\n"
    "  --tap              report in TAP (for CI) instead of the terminal report\n"
    "  --target URL       drive the engine at URL (http:// or https://)\n"
    "  --token TOKEN      the lab token for --target (default: LAB_TOKEN)\n"
    "  --insecure         accept a self-signed certificate (--target https://...)\n"
    "  --scenarios DIR    for the child engine: also load DIR (repeatable; overrides same names)\n"
    "  --walkthroughs DIR where NAME is looked up (default: the source tree's scripts/walkthroughs)\n"
    "\n"
    "The exit code is 0 when every expectation held, 1 when one failed, 2 on a usage error.\n";

struct child {
    pid_t pid;
    char log[96];
    char dir[64]; /* /tmp/proflab-walk.XXXXXX */
};

static struct child child = {0};

static void stop_child(void) {
    if (child.pid <= 0) return;
    kill(child.pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(child.pid, NULL, WNOHANG) == child.pid) {
            child.pid = 0;
            return;
        }
        usleep(50000);
    }
    kill(child.pid, SIGKILL);
    waitpid(child.pid, NULL, 0);
    child.pid = 0;
}

static void remove_tree(const char *dir) {
    char cmd[PATH_MAX + 16];
    if (dir[0] == '\0' || strncmp(dir, "/tmp/proflab-walk.", 18) != 0) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "proflab walk: could not remove %s\n", dir);
}

/* Starts `proflab serve` on an ephemeral port; fills t->base from its log. */
static int start_child(struct walk_target *t, char **extra_dirs, int n_extra, char *err, size_t errlen) {
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return snprintf(err, errlen, "no randomness"), -1;
    for (int i = 0; i < 16; i++) snprintf(t->token + 2 * i, 3, "%02x", rnd[i]);
    snprintf(child.log, sizeof child.log, "%s/engine.log", child.dir);
    char art[PATH_MAX], self[PATH_MAX];
    snprintf(art, sizeof art, "%s/artifacts", child.dir);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return snprintf(err, errlen, "cannot find my own binary"), -1;
    self[n] = '\0';

    char *argv[16 + 2 * 8];
    int a = 0;
    argv[a++] = self;
    argv[a++] = "serve";
    argv[a++] = "--listen";
    argv[a++] = "127.0.0.1:0";
    argv[a++] = "--artifacts";
    argv[a++] = art;
    if (n_extra > 0) {
        argv[a++] = "--scenarios";
        argv[a++] = PROFLAB_SCENARIOS_DIR;
        for (int i = 0; i < n_extra && i < 8; i++) {
            argv[a++] = "--scenarios";
            argv[a++] = extra_dirs[i];
        }
    }
    argv[a] = NULL;

    int fd = open(child.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return snprintf(err, errlen, "cannot create %s: %s", child.log, strerror(errno)), -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return snprintf(err, errlen, "fork: %s", strerror(errno)), -1;
    }
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
        }
        setenv("LAB_ENABLE", "true", 1);
        setenv("LAB_TOKEN", t->token, 1);
        unsetenv("APP_ENV");
        unsetenv("NODE_ENV");
        execv(self, argv);
        _exit(127);
    }
    close(fd);
    child.pid = pid;
    /* the engine logs "msg=listening url=http://127.0.0.1:PORT" once it accepts */
    for (int i = 0; i < 400; i++) {
        FILE *f = fopen(child.log, "r");
        char line[1024];
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            char *u = strstr(line, "msg=listening url=http://");
            if (u == NULL) continue;
            u += strlen("msg=listening url=");
            u[strcspn(u, " \n")] = '\0';
            snprintf(t->base, sizeof t->base, "%s", u);
            fclose(f);
            return 0;
        }
        if (f != NULL) fclose(f);
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            child.pid = 0;
            return snprintf(err, errlen, "the engine exited at start; its log: %s", child.log), -1;
        }
        usleep(25000);
    }
    return snprintf(err, errlen, "the engine did not start within 10 s; its log: %s", child.log), -1;
}

static int l_engine_log(lua_State *L) {
    if (child.pid <= 0 && child.log[0] == '\0') return 0;
    FILE *f = fopen(child.log, "r");
    if (f == NULL) return 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) luaL_addlstring(&b, chunk, n);
    fclose(f);
    luaL_pushresult(&b);
    return 1;
}

static int l_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6);
    return 1;
}

static int l_sleep(lua_State *L) {
    double ms = luaL_checknumber(L, 1);
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
}

/* host.self(args...) -> exit code, stdout: runs this very binary (proflab analyze, proflab diff),
 * so walkthroughs read profiles and snapshots with the same analyzers a learner runs. */
static int l_self(lua_State *L) {
    int n = lua_gettop(L);
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0 || n < 1 || n > 16) return luaL_error(L, "host.self: cannot run myself");
    self[len] = '\0';
    const char *argv[18];
    argv[0] = self;
    for (int i = 1; i <= n; i++) argv[i] = luaL_checkstring(L, i);
    argv[n + 1] = NULL;
    int fds[2];
    if (pipe(fds) != 0) return luaL_error(L, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return luaL_error(L, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(self, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char chunk[4096];
    ssize_t k;
    while ((k = read(fds[0], chunk, sizeof chunk)) != 0) {
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) break;
        luaL_addlstring(&b, chunk, (size_t)k);
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    luaL_pushresult(&b);
    lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    lua_insert(L, -2);
    return 2;
}

/* host.list(dir) -> sorted names of the *.lua files in dir */
static int l_list(lua_State *L) {
    const char *d = luaL_checkstring(L, 1);
    DIR *dh = opendir(d);
    if (dh == NULL) return luaL_error(L, "cannot open %s: %s", d, strerror(errno));
    lua_newtable(L);
    struct dirent *e;
    lua_Integer n = 0;
    while ((e = readdir(dh)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".lua") == 0 && e->d_name[0] != '.') {
            lua_pushlstring(L, e->d_name, len - 4);
            lua_rawseti(L, -2, ++n);
        }
    }
    closedir(dh);
    return 1;
}

static int l_isatty(lua_State *L) {
    lua_pushboolean(L, isatty(STDOUT_FILENO));
    return 1;
}

int walk_main(int argc, char **argv) {
    struct walk_target t;
    memset(&t, 0, sizeof t);
    const char *name = NULL, *dir = WALK_DIR, *mode = "run", *target = NULL;
    char *extra[8];
    int n_extra = 0, tap = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return fputs(usage, stdout), 0;
        else if (strcmp(a, "--list") == 0) mode = "list";
        else if (strcmp(a, "--explain") == 0) mode = "explain";
        else if (strcmp(a, "--tap") == 0) tap = 1;
        else if (strcmp(a, "--insecure") == 0) t.insecure = 1;
        else if ((strcmp(a, "--target") == 0 || strcmp(a, "--token") == 0 || strcmp(a, "--scenarios") == 0 ||
                  strcmp(a, "--walkthroughs") == 0) && val == NULL) {
            fprintf(stderr, "proflab walk: %s needs a value\n", a);
            return 2;
        } else if (strcmp(a, "--target") == 0) target = argv[++i];
        else if (strcmp(a, "--token") == 0) snprintf(t.token, sizeof t.token, "%s", argv[++i]);
        else if (strcmp(a, "--walkthroughs") == 0) dir = argv[++i];
        else if (strcmp(a, "--scenarios") == 0) {
            if (n_extra == 8) return fputs("proflab walk: at most 8 --scenarios\n", stderr), 2;
            extra[n_extra++] = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "proflab walk: unknown option '%s' (see proflab walk --help)\n", a);
            return 2;
        } else if (name == NULL) name = a;
        else return fputs("proflab walk: one walkthrough at a time\n", stderr), 2;
    }
    if (name == NULL && strcmp(mode, "list") != 0) return fputs(usage, stderr), 2;
    if (target != NULL) {
        if (strncmp(target, "http://", 7) != 0 && strncmp(target, "https://", 8) != 0)
            return fputs("proflab walk: --target wants http://HOST:PORT or https://HOST:PORT\n", stderr), 2;
        snprintf(t.base, sizeof t.base, "%s", target);
        size_t bl = strlen(t.base);
        while (bl > 0 && t.base[bl - 1] == '/') t.base[--bl] = '\0';
        if (t.token[0] == '\0' && getenv("LAB_TOKEN") != NULL) snprintf(t.token, sizeof t.token, "%s", getenv("LAB_TOKEN"));
    }

    lua_State *L = luaL_newstate();
    if (L == NULL) return fputs("proflab walk: out of memory\n", stderr), 1;
    luaL_openlibs(L);
    int code = 1;
    char err[600];
    if (strcmp(mode, "run") == 0) {
        /* downloads, and the child engine's log and artifacts, go here */
        snprintf(child.dir, sizeof child.dir, "/tmp/proflab-walk.XXXXXX");
        if (mkdtemp(child.dir) == NULL) {
            fprintf(stderr, "proflab walk: mkdtemp: %s\n", strerror(errno));
            lua_close(L);
            return 1;
        }
    }
    if (strcmp(mode, "run") == 0 && target == NULL) {
        if (start_child(&t, extra, n_extra, err, sizeof err) != 0) {
            fprintf(stderr, "proflab walk: %s\n", err);
            stop_child();
            lua_close(L);
            return 1;
        }
    }
    lua_pushcfunction(L, walk_open_decoders);
    lua_call(L, 0, 0);
    walk_open_http(L, &t);
    lua_createtable(L, 0, 12);
    lua_pushstring(L, mode);
    lua_setfield(L, -2, "mode");
    lua_pushstring(L, name != NULL ? name : "");
    lua_setfield(L, -2, "name");
    lua_pushstring(L, dir);
    lua_setfield(L, -2, "dir");
    lua_pushboolean(L, tap);
    lua_setfield(L, -2, "tap");
    lua_pushstring(L, t.base);
    lua_setfield(L, -2, "base");
    lua_pushstring(L, target != NULL ? "target" : "child");
    lua_setfield(L, -2, "engine");
    lua_pushcfunction(L, l_engine_log);
    lua_setfield(L, -2, "engine_log");
    lua_pushcfunction(L, l_now);
    lua_setfield(L, -2, "now");
    lua_pushcfunction(L, l_sleep);
    lua_setfield(L, -2, "sleep");
    lua_pushcfunction(L, l_isatty);
    lua_setfield(L, -2, "isatty");
    lua_pushcfunction(L, l_list);
    lua_setfield(L, -2, "list");
    lua_pushcfunction(L, l_self);
    lua_setfield(L, -2, "self");
    lua_pushstring(L, child.dir);
    lua_setfield(L, -2, "workdir");
    lua_setglobal(L, "walkhost");
    if (luaL_loadfilex(L, WALK_RUNNER, "t") != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "proflab walk: %s\n", lua_tostring(L, -1));
    } else {
        code = (int)lua_tointeger(L, -1);
    }
    lua_close(L);
    stop_child();
    if (code == 0) remove_tree(child.dir);
    else if (child.dir[0] != '\0') fprintf(stderr, "proflab walk: the engine's log and artifacts are kept in %s\n", child.dir);
    return code;
}
