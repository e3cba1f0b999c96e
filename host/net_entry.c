/* What the network library (vsrun-net.so) offers the executable: one table, looked up by
 * name and checked by its stamp in netlib.c. A new C module or command that needs the
 * network libraries goes in NET_SRC (Makefile) and is listed here. */
#include "netlib.h"

#include <stdio.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "cmd_auth.h"
#include "cmd_deps.h"
#include "cmd_sandbox.h"
#include "cmd_secret.h"
#include "cmd_test.h"
#include "commands.h"
#include "http_policy.h"
#include "modules.h"
#include "sandbox.h"
#include "serve.h"

static const luaL_Reg net_modules[] = {
    {"vsrun.digest", luaopen_vsrun_digest},
    {"vsrun.http_core", luaopen_vsrun_http_core},
    {"vsrun.pd_core", luaopen_vsrun_pd_core},
    {"vsrun.pd_refresh", luaopen_vsrun_pd_refresh},
    {"vsrun.server", luaopen_vsrun_server},
    {NULL, NULL},
};

static const struct cli_command net_commands[] = {
    {"test", cmd_test},
    {"auth", cmd_auth},
    {"secret", cmd_secret},
    {"sandbox", cmd_sandbox},
    {"serve", cmd_serve},
    {"runs", cmd_runs},
    {"deps", cmd_deps},
    {NULL, NULL},
};

static void net_print_versions(void) {
    printf("libcurl %s\n%s\n", curl_version_info(CURLVERSION_NOW)->version, OpenSSL_version(OPENSSL_VERSION));
}

/* curl_global_init runs when the first Lua state opens vsrun.http_core (host/http.c). */
static void net_shutdown(void) { curl_global_cleanup(); }

const struct vsrun_net vsrun_net = {
    .stamp = NETLIB_STAMP,
    .modules = net_modules,
    .commands = net_commands,
    .check_allow_list = http_policy_check_allow_list,
    .sandbox_take_option = sandbox_take_option,
    .sandbox_start = sandbox_start,
    .sandbox_stop = sandbox_stop,
    .print_versions = net_print_versions,
    .shutdown = net_shutdown,
};
