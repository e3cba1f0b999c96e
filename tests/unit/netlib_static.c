/* Unit tests and fuzz targets link every host object into one program, so the network
 * library's table (host/net_entry.c) is the program's own: nothing to open or check. */
#include "netlib.h"

const struct vsrun_net *netlib_load(char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    return &vsrun_net;
}

const struct vsrun_net *netlib_loaded(void) { return &vsrun_net; }

const struct vsrun_net *netlib_need(void) { return &vsrun_net; }
