/* What both run stores (host/store.c, host/store_pg.c) hand out: result codes and a
 * claimed run. Its own header so store_pg.h need not include store.h (which delegates to
 * it). */
#ifndef VSRUN_STORE_CLAIMED_H
#define VSRUN_STORE_CLAIMED_H
#include <stdint.h>

enum { STORE_OK = 0, STORE_DUPLICATE = 1, STORE_FULL = -2, STORE_ERROR = -1 };

/* A claimed run: the worker owns its strings (store_claimed_free). */
struct store_claimed {
    int64_t id;
    char *route, *input, *delivery_id;
    int attempt;          /* 1 for the first try */
    int max_attempts;
};
void store_claimed_free(struct store_claimed *c);

#endif
