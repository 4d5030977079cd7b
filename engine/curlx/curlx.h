/* curlx: libcurl loaded with dlopen on first use, so that only the client commands (walk) map
 * it; the server never pays its ~4 MB of RSS and its start-up time. Include this instead of
 * <curl/curl.h>: the curl_* calls below go through the loaded table. */
#ifndef PROFLAB_CURLX_H
#define PROFLAB_CURLX_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <stddef.h>

struct curlx {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLHcode (*easy_header)(CURL *, const char *, size_t, unsigned int, int, struct curl_header **);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
};

extern struct curlx curlx;

/* Loads libcurl.so.4 and runs curl_global_init once. 0, or -1 with err. */
int curlx_load(char *err, size_t errlen);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init(...) curlx.global_init(__VA_ARGS__)
#define curl_easy_init(...) curlx.easy_init(__VA_ARGS__)
#define curl_easy_setopt(...) curlx.easy_setopt(__VA_ARGS__)
#define curl_easy_perform(...) curlx.easy_perform(__VA_ARGS__)
#define curl_easy_getinfo(...) curlx.easy_getinfo(__VA_ARGS__)
#define curl_easy_header(...) curlx.easy_header(__VA_ARGS__)
#define curl_easy_cleanup(...) curlx.easy_cleanup(__VA_ARGS__)
#define curl_easy_strerror(...) curlx.easy_strerror(__VA_ARGS__)
#define curl_slist_append(...) curlx.slist_append(__VA_ARGS__)
#define curl_slist_free_all(...) curlx.slist_free_all(__VA_ARGS__)
#define curl_multi_init(...) curlx.multi_init(__VA_ARGS__)
#define curl_multi_add_handle(...) curlx.multi_add_handle(__VA_ARGS__)
#define curl_multi_remove_handle(...) curlx.multi_remove_handle(__VA_ARGS__)
#define curl_multi_perform(...) curlx.multi_perform(__VA_ARGS__)
#define curl_multi_poll(...) curlx.multi_poll(__VA_ARGS__)
#define curl_multi_info_read(...) curlx.multi_info_read(__VA_ARGS__)

#endif
