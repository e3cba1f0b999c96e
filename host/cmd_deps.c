/* vsrun deps: a project's dependencies (docs/libraries.md). LuaRocks does the installing:
 * `pin` and `install` run `luarocks make --only-deps` on the project's rockspec into its rocks
 * tree (luarocks.lock holds the versions); vsrun.lock adds the SHA-256 of every installed
 * file, which `check` compares, naming each file that differs; `tree` shows which file each
 * module name resolves to, in the order require searches. */
#include "cmd_deps.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <openssl/evp.h>

#include "exitcodes.h"
#include "modules.h"
#include "options.h"
#include "vm.h"

#define LOCK_FILE "vsrun.lock"

static const char usage[] =
    "usage: vsrun deps [tree|lock|check|pin|install] [--project DIR] [-- LUAROCKS-OPTIONS...]\n"
    "  tree      which file each module name resolves to, and the installed rocks (default)\n"
    "  lock      write vsrun.lock: the SHA-256 of every file in the project's rocks tree\n"
    "  check     compare the rocks tree with vsrun.lock; names each file that differs (exit 1)\n"
    "  pin       luarocks make --only-deps --pin ROCKSPEC: install the rockspec's dependencies,\n"
    "            write luarocks.lock (versions), then vsrun.lock (hashes)\n"
    "  install   install exactly the versions in luarocks.lock, then check vsrun.lock\n"
    "  --project DIR   the project is found from DIR upwards (default: the working directory)\n"
    "  -- ...          passed to luarocks (e.g. --only-server=file:///srv/rocks)\n"
    "See 'vsrun help libraries'.\n";

struct project {
    char root[PATH_MAX];
    char rocks[PATH_MAX];      /* absolute */
    char *libs[VM_MAX_LIBS];   /* absolute */
    int n_libs;
};

struct files {
    char **path;   /* relative to the project root */
    char **hash;
    size_t n, cap;
};

static void files_add(struct files *f, const char *path, const char *hash) {
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->path = realloc(f->path, f->cap * sizeof *f->path);
        f->hash = realloc(f->hash, f->cap * sizeof *f->hash);
        if (!f->path || !f->hash) { perror("vsrun deps"); exit(EXIT_LIMIT); }
    }
    f->path[f->n] = strdup(path);
    f->hash[f->n] = hash ? strdup(hash) : NULL;
    f->n++;
}

static void files_free(struct files *f) {
    for (size_t i = 0; i < f->n; i++) { free(f->path[i]); free(f->hash[i]); }
    free(f->path);
    free(f->hash);
}

static int files_cmp_index(const struct files *f, size_t a, size_t b) { return strcmp(f->path[a], f->path[b]); }

static void files_sort(struct files *f) {  /* insertion sort: a rocks tree is small */
    for (size_t i = 1; i < f->n; i++)
        for (size_t j = i; j > 0 && files_cmp_index(f, j - 1, j) > 0; j--) {
            char *p = f->path[j]; f->path[j] = f->path[j - 1]; f->path[j - 1] = p;
            char *h = f->hash[j]; f->hash[j] = f->hash[j - 1]; f->hash[j - 1] = h;
        }
}

/* Loads the project through the same code require uses (a Lua state over DIR). */
static int deps_project(const char *start, struct project *p) {
    memset(p, 0, sizeof *p);
    if (!modules_find_root(start, p->root, sizeof p->root)) {
        fprintf(stderr, "vsrun deps: no vsrun.json in %s or above it (the project file marks the project root; "
                        "see 'vsrun help libraries')\n", start ? start : "the working directory");
        return EXIT_USAGE;
    }
    struct vm_options o = {0};
    o.script_dir = p->root;
    struct vm *vm = vm_new(&o);
    if (!vm) { fprintf(stderr, "vsrun deps: out of memory\n"); return EXIT_LIMIT; }
    lua_State *L = vm_lua(vm);
    const char *err = modules_push_project(L);
    if (err || !lua_istable(L, -1)) {
        fprintf(stderr, "vsrun deps: %s\n", err ? err : "cannot read the project file");
        vm_free(vm);
        return EXIT_USAGE;
    }
    lua_getfield(L, -1, "rocks");
    snprintf(p->rocks, sizeof p->rocks, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, -1, "libs");
    for (lua_Integer i = 1; p->n_libs < VM_MAX_LIBS && lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
        p->libs[p->n_libs++] = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    vm_free(vm);
    return EXIT_OK;
}

static void deps_project_free(struct project *p) {
    for (int i = 0; i < p->n_libs; i++) free(p->libs[i]);
}

static const char *deps_relative(const struct project *p, const char *abs) {
    size_t n = strlen(p->root);
    if (strncmp(abs, p->root, n) == 0 && abs[n] == '/') return abs + n + 1;
    return abs;
}

static int sha256_file(const char *path, char hex[65]) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char buf[8192], md[32];
    size_t got;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    while (ok && (got = fread(buf, 1, sizeof buf, f)) > 0) ok = EVP_DigestUpdate(ctx, buf, got) == 1;
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (!ok) return -1;
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Every regular file below dir (symlinked files count, symlinked directories do not). With
 * hashes, each gets its SHA-256; without, only *.lua files that are not *_test.lua. */
static void deps_walk(const struct project *p, const char *dir, struct files *out, int hashes) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        struct stat lst, st;
        if (lstat(path, &lst) != 0) continue;
        if (S_ISDIR(lst.st_mode)) { deps_walk(p, path, out, hashes); continue; }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (hashes) {
            /* luarocks rewrites its manifest on every install; the rocks' own files are what count */
            if (strcmp(e->d_name, "manifest") == 0 && strstr(path, "/lib/luarocks/rocks-")) continue;
            char hex[65];
            if (sha256_file(path, hex) != 0) snprintf(hex, sizeof hex, "unreadable");
            files_add(out, deps_relative(p, path), hex);
        } else {
            size_t n = strlen(e->d_name);
            if (n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0 &&
                !(n > 9 && strcmp(e->d_name + n - 9, "_test.lua") == 0))
                files_add(out, path, NULL);
        }
    }
    closedir(d);
}

static void deps_hash_tree(const struct project *p, struct files *out) {
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/share", p->rocks);
    deps_walk(p, dir, out, 1);
    snprintf(dir, sizeof dir, "%s/lib", p->rocks);
    deps_walk(p, dir, out, 1);
    files_sort(out);
}

static int deps_write_lock(const struct project *p) {
    struct files f = {0};
    deps_hash_tree(p, &f);
    char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", p->root, LOCK_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "vsrun deps: cannot write %s: %s\n", tmp, strerror(errno));
        files_free(&f);
        return EXIT_USAGE;
    }
    fprintf(out, "# vsrun.lock: SHA-256 of every file in the project's rocks tree; written by 'vsrun deps lock',\n"
                 "# compared by 'vsrun deps check'. Commit it with luarocks.lock.\n");
    for (size_t i = 0; i < f.n; i++) fprintf(out, "%s  %s\n", f.hash[i], f.path[i]);
    int bad = fclose(out) != 0 || rename(tmp, path) != 0;
    if (bad) {
        fprintf(stderr, "vsrun deps: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    } else {
        printf("vsrun deps: wrote %s (%zu files)\n", path, f.n);
    }
    files_free(&f);
    return bad ? EXIT_USAGE : EXIT_OK;
}

static int deps_read_lock(const struct project *p, struct files *out) {
    char path[PATH_MAX + 16], line[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s", p->root, LOCK_FILE);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        char *sep = strstr(line, "  ");
        if (!sep) continue;
        *sep = '\0';
        files_add(out, sep + 2, line);
    }
    fclose(f);
    files_sort(out);
    return 0;
}

static int deps_check(const struct project *p) {
    struct files locked = {0}, now = {0};
    if (deps_read_lock(p, &locked) != 0) {
        fprintf(stderr, "vsrun deps: no %s/%s to check against (write it with 'vsrun deps lock')\n", p->root, LOCK_FILE);
        return EXIT_USAGE;
    }
    deps_hash_tree(p, &now);
    size_t i = 0, j = 0, differ = 0;
    while (i < locked.n || j < now.n) {
        int c = i == locked.n ? 1 : j == now.n ? -1 : strcmp(locked.path[i], now.path[j]);
        if (c < 0) { printf("missing:   %s (in vsrun.lock, not installed)\n", locked.path[i++]); differ++; }
        else if (c > 0) { printf("unlocked:  %s (installed, not in vsrun.lock)\n", now.path[j++]); differ++; }
        else {
            if (strcmp(locked.hash[i], now.hash[j]) != 0) { printf("changed:   %s\n", now.path[j]); differ++; }
            i++, j++;
        }
    }
    if (differ) fprintf(stderr, "vsrun deps check: %zu file%s from %s\n", differ, differ == 1 ? " differs" : "s differ", LOCK_FILE);
    else printf("vsrun deps check: %zu files match %s\n", now.n, LOCK_FILE);
    files_free(&locked);
    files_free(&now);
    return differ ? EXIT_SCRIPT : EXIT_OK;
}

/* `a/b/init.lua` -> `a.b`, `a/b.lua` -> `a.b` */
static void module_name(const char *rel, char *name, size_t n) {
    snprintf(name, n, "%s", rel);
    size_t len = strlen(name);
    if (len >= 4) name[len -= 4] = '\0';
    if (len >= 5 && strcmp(name + len - 5, "/init") == 0) name[len - 5] = '\0';
    else if (strcmp(name, "init") == 0) name[0] = '\0';
    for (char *c = name; *c; c++) if (*c == '/') *c = '.';
}

static void deps_tree_dir(const struct project *p, const char *dir, const char *label, struct files *seen) {
    struct files f = {0};
    deps_walk(p, dir, &f, 0);
    files_sort(&f);
    printf("%s %s\n", label, deps_relative(p, dir));
    for (size_t i = 0; i < f.n; i++) {
        char name[PATH_MAX];
        module_name(f.path[i] + strlen(dir) + 1, name, sizeof name);
        if (name[0] == '\0') continue;
        int shadowed = 0;
        for (size_t k = 0; k < seen->n; k++) if (strcmp(seen->path[k], name) == 0) shadowed = 1;
        printf("  %-28s %s%s\n", name, deps_relative(p, f.path[i]), shadowed ? "  (shadowed: found earlier)" : "");
        if (!shadowed) files_add(seen, name, NULL);
    }
    files_free(&f);
}

static int deps_tree(const struct project *p) {
    printf("project %s (%s/vsrun.json)\n", p->root, p->root);
    struct files seen = {0};
    for (int i = 0; i < p->n_libs; i++) deps_tree_dir(p, p->libs[i], "library directory", &seen);
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/share/lua/5.4", p->rocks);
    deps_tree_dir(p, dir, "rocks tree", &seen);
    files_free(&seen);
    snprintf(dir, sizeof dir, "%s/lib/luarocks/rocks-5.4", p->rocks);
    DIR *d = opendir(dir);
    printf("rocks installed in %s\n", deps_relative(p, p->rocks));
    if (d) {
        struct files rocks = {0};
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            char sub[PATH_MAX + 300];
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            DIR *v = opendir(sub);
            if (!v) continue;
            struct dirent *ve;
            while ((ve = readdir(v)) != NULL) {
                if (ve->d_name[0] == '.') continue;
                char line[600];
                snprintf(line, sizeof line, "%s %s", e->d_name, ve->d_name);
                files_add(&rocks, line, NULL);
            }
            closedir(v);
        }
        closedir(d);
        files_sort(&rocks);
        for (size_t i = 0; i < rocks.n; i++) printf("  %s\n", rocks.path[i]);
        if (rocks.n == 0) printf("  (none)\n");
        files_free(&rocks);
    } else {
        printf("  (none)\n");
    }
    return EXIT_OK;
}

/* The project's one rockspec (its dependencies); NULL with a message when there is not one. */
static char *deps_rockspec(const struct project *p) {
    DIR *d = opendir(p->root);
    char *found = NULL;
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 9 && strcmp(e->d_name + len - 9, ".rockspec") == 0) {
            n++;
            free(found);
            found = strdup(e->d_name);
        }
    }
    if (d) closedir(d);
    if (n != 1) {
        fprintf(stderr, "vsrun deps: %s rockspec in %s (the project declares its dependencies in one "
                        "NAME-dev-1.rockspec; 'luarocks init' writes one)\n", n ? "more than one" : "no", p->root);
        free(found);
        return NULL;
    }
    return found;
}

static int deps_luarocks(const struct project *p, int pin, int argc, char **argv) {
    char *rockspec = deps_rockspec(p);
    if (!rockspec) return EXIT_USAGE;
    char *args[64];
    int n = 0;
    args[n++] = "luarocks";
    args[n++] = "--lua-version=5.4";
    args[n++] = "--tree";
    args[n++] = (char *)p->rocks;
    for (int i = 0; i < argc && n < 56; i++) args[n++] = argv[i];
    args[n++] = "make";
    args[n++] = "--only-deps";
    if (pin) args[n++] = "--pin";
    args[n++] = rockspec;
    args[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(p->root) != 0) _exit(127);
        execvp("luarocks", args);
        fprintf(stderr, "vsrun deps: cannot run luarocks: %s (install it: vendor/install, or apt-get install luarocks)\n",
                strerror(errno));
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) status = -1;
    free(rockspec);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "vsrun deps: luarocks failed\n");
        return EXIT_SCRIPT;
    }
    return EXIT_OK;
}

enum { DEPS_PROJECT = 1 };
static const struct opt deps_options[] = {
    {"--project", NULL, DEPS_PROJECT, OPT_VALUE},
    {NULL, NULL, 0, 0},
};

int cmd_deps(int argc, char **argv) {
    const char *sub = "tree", *start = NULL;
    int i = 0;
    if (i < argc && argv[i][0] != '-') sub = argv[i++];
    struct opt_parser op;
    opt_init(&op, "vsrun deps", argc - i, argv + i, deps_options, NULL);
    for (int id; (id = opt_next(&op)) != OPT_END;) {
        if (id == OPT_ERROR) return EXIT_USAGE;
        if (id == OPT_HELP) { fputs(usage, stdout); return EXIT_OK; }
        if (id == DEPS_PROJECT) { start = op.value; continue; }
        if (!op.options_done) {   /* luarocks' own options come after "--" */
            fprintf(stderr, "vsrun deps: unexpected argument '%s'\n%s", op.value, usage);
            return EXIT_USAGE;
        }
        op.i--;                   /* the first luarocks argument: hand the rest over */
        break;
    }
    i += op.i;
    int is_pin = strcmp(sub, "pin") == 0, is_install = strcmp(sub, "install") == 0;
    if (!is_pin && !is_install && strcmp(sub, "tree") && strcmp(sub, "lock") && strcmp(sub, "check")) {
        fprintf(stderr, "vsrun deps: unknown subcommand '%s'\n%s", sub, usage);
        return EXIT_USAGE;
    }
    if (i < argc && !is_pin && !is_install) {
        fprintf(stderr, "vsrun deps %s: luarocks options only go with pin and install\n", sub);
        return EXIT_USAGE;
    }
    struct project p;
    int rc = deps_project(start, &p);
    if (rc != EXIT_OK) return rc;
    if (strcmp(sub, "tree") == 0) rc = deps_tree(&p);
    else if (strcmp(sub, "lock") == 0) rc = deps_write_lock(&p);
    else if (strcmp(sub, "check") == 0) rc = deps_check(&p);
    else {
        char lock[PATH_MAX + 32];
        snprintf(lock, sizeof lock, "%s/luarocks.lock", p.root);
        if (is_install && access(lock, R_OK) != 0) {
            fprintf(stderr, "vsrun deps install: no %s: pin the versions first with 'vsrun deps pin'\n", lock);
            rc = EXIT_USAGE;
        } else {
            rc = deps_luarocks(&p, is_pin, argc - i, argv + i);
            if (rc == EXIT_OK) {
                char vlock[PATH_MAX + 32];
                snprintf(vlock, sizeof vlock, "%s/%s", p.root, LOCK_FILE);
                if (is_pin) rc = deps_write_lock(&p);
                else if (access(vlock, R_OK) == 0) rc = deps_check(&p);
            }
        }
    }
    deps_project_free(&p);
    return rc;
}
