/* curlx.c: the dlopen'ed libcurl table. */
#include "curlx.h"

#include <dlfcn.h>
#include <stdio.h>

struct curlx curlx;

static int loaded;

int curlx_load(char *err, size_t errlen) {
    if (loaded) return 0;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(err, errlen, "cannot load libcurl.so.4 (apt-get install libcurl4): %s", dlerror());
        return -1;
    }
    struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&curlx.global_init, "curl_global_init"},
        {(void **)&curlx.easy_init, "curl_easy_init"},
        {(void **)&curlx.easy_setopt, "curl_easy_setopt"},
        {(void **)&curlx.easy_perform, "curl_easy_perform"},
        {(void **)&curlx.easy_getinfo, "curl_easy_getinfo"},
        {(void **)&curlx.easy_header, "curl_easy_header"},
        {(void **)&curlx.easy_cleanup, "curl_easy_cleanup"},
        {(void **)&curlx.easy_strerror, "curl_easy_strerror"},
        {(void **)&curlx.slist_append, "curl_slist_append"},
        {(void **)&curlx.slist_free_all, "curl_slist_free_all"},
        {(void **)&curlx.multi_init, "curl_multi_init"},
        {(void **)&curlx.multi_add_handle, "curl_multi_add_handle"},
        {(void **)&curlx.multi_remove_handle, "curl_multi_remove_handle"},
        {(void **)&curlx.multi_perform, "curl_multi_perform"},
        {(void **)&curlx.multi_poll, "curl_multi_poll"},
        {(void **)&curlx.multi_info_read, "curl_multi_info_read"},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        if ((*syms[i].slot = dlsym(h, syms[i].name)) == NULL) {
            snprintf(err, errlen, "libcurl.so.4 lacks %s (libcurl 7.84 or later is needed)", syms[i].name);
            return -1;
        }
    }
    if (curlx.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed");
        return -1;
    }
    loaded = 1;
    return 0;
}
