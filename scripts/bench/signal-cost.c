/* signal-cost.c: what one timer signal costs the thread it interrupts on this machine. A busy
 * loop is timed (thread CPU time) alone, then under a POSIX timer sending SIGPROF to the thread
 * every INTERVAL_US with an empty handler, the way the profiler's timer does.
 * Usage: signal-cost [INTERVAL_US]   (built and run by scripts/bench/profiler.sh) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long hits;

static void on_signal(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)si, (void)uc;
    hits++;
}

static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double spin(void) {
    double c0 = cpu_s();
    volatile double x = 1;
    for (long i = 0; i < 200000000; i++) x = 1 + 1 / x;
    return cpu_s() - c0;
}

int main(int argc, char **argv) {
    long interval = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
    if (interval < 10 || interval > 1000000) {
        fprintf(stderr, "usage: signal-cost [INTERVAL_US from 10 to 1000000]\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) != 0) return perror("sigaction"), 1;
    double alone = spin();
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGPROF;
    ev._sigev_un._tid = gettid();
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t) != 0) return perror("timer_create"), 1;
    struct itimerspec its = {{interval / 1000000, interval % 1000000 * 1000}, {interval / 1000000, interval % 1000000 * 1000}};
    if (timer_settime(t, 0, &its, NULL) != 0) return perror("timer_settime"), 1;
    double signalled = spin();
    timer_delete(t);
    printf("%.3f %.3f %lu %.2f\n", alone, signalled, hits, hits ? (signalled - alone) / (double)hits * 1e6 : 0.0);
    return 0;
}
