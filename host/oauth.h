/* OAuth connections from the vault (implemented in host/oauth.c). host/connection.c has
 * weak fallbacks that report the vault as unavailable, so the pieces link in any order. */
#ifndef VSRUN_OAUTH_H
#define VSRUN_OAUTH_H
#include <stddef.h>

#include "connection.h"

/* Fills c from the vault record `name` (NULL = the default connection), refreshing first when
 * the token is about to expire. 0, -1 + err, -2 when the connection is disconnected (err is
 * then the reconnect message), or -3 when an expired token could not be refreshed for a
 * transient reason (the identity server failed or was unreachable). */
int oauth_load_connection(const char *name, struct connection *c, char *err, size_t errlen);

/* Refreshes c's token under the vault lock, unless another process or task already did
 * (c->generation / the record's expiry tell). 0 = c holds a fresh token; -1 = error (err);
 * -2 = the grant is gone: the connection is marked disconnected, reconnect required. */
int oauth_refresh_connection(struct connection *c, char *err, size_t errlen);

#endif
