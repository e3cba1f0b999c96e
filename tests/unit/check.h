/* A tiny C test harness: CHECK(cond, name) prints "ok name" or "FAIL name: file:line",
 * check_done() returns the exit status. */
#ifndef VSRUN_CHECK_H
#define VSRUN_CHECK_H
#include <stdio.h>

static int check_failures;

#define CHECK(cond, name)                                                         \
    do {                                                                          \
        if (cond) printf("ok %s\n", (name));                                      \
        else { printf("FAIL %s: %s:%d: %s\n", (name), __FILE__, __LINE__, #cond); \
               check_failures++; }                                                \
    } while (0)

static inline int check_done(void) { return check_failures ? 1 : 0; }

#endif
