/* name_fuzz.c: the artifact-name check. Whatever it accepts is one plain file name inside the
 * folder: no separator, no NUL, no dot-dot, no hidden or temporary names, and the same answer
 * from the token side (tok_art_valid) and the store side (art_name_valid). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/artifacts.h"
#include "tok/tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    const char *s = (const char *)d;
    int ok = art_name_valid(s, n);
    if (ok != tok_art_valid(s, n)) abort();
    if (!ok) return 0;
    if (n == 0 || n >= ART_NAME_MAX || s[0] == '.') abort();
    if (memchr(s, '/', n) || memchr(s, '\\', n) || memchr(s, '\0', n) || memchr(s, '%', n)) abort();
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '.' && s[i + 1] == '.') abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) abort();
    /* unknown names are never opened */
    if (art_open(s, n, NULL) >= 0) abort();
    return 0;
}
