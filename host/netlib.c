/* Opening the network library (netlib.h) from the one place a vsrun binary trusts: beside
 * its own real path (the build tree: ./vsrun-net.so, build/asan/vsrun-net.so) or in
 * ../lib/vsrun/ from it (make install: PREFIX/bin/vsrun, PREFIX/lib/vsrun/vsrun-net.so).
 * Never from the environment, the working directory or the script's directory: the name is
 * absolute, so dlopen does not search LD_LIBRARY_PATH or the cache for it. The file must be
 * a regular file owned by root or by us and writable by no one else, in a directory that
 * is the same; it is opened once and that open file is what dlopen maps, so the file checked
 * is the file loaded. Its stamp must be this build's (docs/security.md). */
#include "netlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t netlib_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct vsrun_net *netlib_table;

/* Root's or ours, and no one else may write it. */
static int netlib_trusted_owner(const struct stat *st) {
    return (st->st_uid == 0 || st->st_uid == geteuid()) && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* The library's real path into path (PATH_MAX bytes): the first of the two places where
 * a file exists; else -1 with the reason. */
static int netlib_find(char *path, char *err, size_t errlen) {
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        snprintf(err, errlen, "cannot find the vsrun binary's own path (/proc/self/exe): %s", strerror(errno));
        return -1;
    }
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL) {
        snprintf(err, errlen, "the vsrun binary's path %s is not absolute", exe);
        return -1;
    }
    *slash = '\0';
    char beside[PATH_MAX + 40], installed[PATH_MAX + 40];
    snprintf(beside, sizeof beside, "%s/" NETLIB_FILE, exe);
    snprintf(installed, sizeof installed, "%s/../lib/vsrun/" NETLIB_FILE, exe);
    const char *const places[] = {beside, installed};
    for (int i = 0; i < 2; i++) {
        if (realpath(places[i], path) != NULL) return 0;
        if (errno != ENOENT) {
            snprintf(err, errlen, "cannot resolve %s: %s", places[i], strerror(errno));
            return -1;
        }
    }
    snprintf(err, errlen, "the network library " NETLIB_FILE " is not installed beside %s/vsrun or in %s/../lib/vsrun "
                          "(build it with make, or reinstall with make install)", exe, exe);
    return -1;
}

/* Opens the file at path after checking it and its directory; the open fd, or -1. */
static int netlib_open_checked(const char *path, char *err, size_t errlen) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0'; else if (slash) *slash = '\0';
    struct stat st;
    if (stat(dir, &st) != 0 || !netlib_trusted_owner(&st)) {
        snprintf(err, errlen, "refusing the network library %s: its directory is writable by others or "
                              "owned by another user", path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the network library %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !netlib_trusted_owner(&st)) {
        snprintf(err, errlen, "refusing the network library %s: not a regular file owned by root or by you and "
                              "writable by no one else", path);
        close(fd);
        return -1;
    }
    return fd;
}

static const struct vsrun_net *netlib_open(char *err, size_t errlen) {
    char path[PATH_MAX];
    if (netlib_find(path, err, errlen) != 0) return NULL;
    int fd = netlib_open_checked(path, err, errlen);
    if (fd < 0) return NULL;
    char via[64];
    snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
    /* lazy binding, as for the executable's own libraries: binding libcurl's and OpenSSL's
     * chains now would cost more than eager loading did. A library of this build has every
     * symbol it needs (tests/cli/lazy_start_test.sh); one of another build is refused below
     * before any of its code but constructors runs. */
    void *h = dlopen(via, RTLD_LAZY | RTLD_LOCAL);
    close(fd);
    if (h == NULL) {
        snprintf(err, errlen, "cannot load the network library %s: %s", path, dlerror());
        return NULL;
    }
    const struct vsrun_net *net = dlsym(h, NETLIB_SYMBOL);
    if (net == NULL || net->stamp == NULL || strcmp(net->stamp, NETLIB_STAMP) != 0) {
        snprintf(err, errlen, "refusing the network library %s: it is from another build of vsrun "
                              "(%.80s; this binary is %s): rebuild with make, or reinstall",
                 path, net && net->stamp ? net->stamp : "no vsrun stamp", NETLIB_STAMP);
        dlclose(h);
        return NULL;
    }
    return net;
}

const struct vsrun_net *netlib_load(char *err, size_t errlen) {
    pthread_mutex_lock(&netlib_lock);
    if (netlib_table == NULL) netlib_table = netlib_open(err, errlen);
    const struct vsrun_net *net = netlib_table;
    pthread_mutex_unlock(&netlib_lock);
    return net;
}

const struct vsrun_net *netlib_loaded(void) {
    pthread_mutex_lock(&netlib_lock);
    const struct vsrun_net *net = netlib_table;
    pthread_mutex_unlock(&netlib_lock);
    return net;
}

const struct vsrun_net *netlib_need(void) {
    char err[NETLIB_ERR_MAX];
    const struct vsrun_net *net = netlib_load(err, sizeof err);
    if (net == NULL) fprintf(stderr, "vsrun: %s\n", err);
    return net;
}
