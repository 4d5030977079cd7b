/* analyze_fuzz.c: `proflab analyze` (engine/prof/analyze.c) on arbitrary bytes: a .cpuprofile
 * from anywhere must be refused or reported, without a crash, a leak, a hang or a bad read. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "prof/prof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *sink;
    if (sink == NULL) sink = fopen("/dev/null", "w");
    if (sink == NULL) return 0;
    char err[512];
    prof_analyze_text((const char *)data, size, "fuzz", 5, sink, err, sizeof err);
    return 0;
}
