/* A claimed run (see store_claimed.h). */
#include "store_claimed.h"

#include <stdlib.h>
#include <string.h>

void store_claimed_free(struct store_claimed *c) {
    free(c->route);
    free(c->input);
    free(c->delivery_id);
    memset(c, 0, sizeof *c);
}
