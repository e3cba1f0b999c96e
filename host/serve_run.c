/* One run of `vsrun serve` as a child process (see serve_run.h). */
#include "serve_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "secrets.h"

#define OUTPUT_TAIL 4096               /* bytes of stdout+stderr kept with the run */
#define RESULT_MAX (16u << 20)         /* a larger returned value is an error */
#define KILL_GRACE 10.0                /* seconds past --timeout before SIGKILL */
#define METRICS_FD 3                   /* the child's descriptor for its counters (run_metrics.c) */
#define METRICS_MAX (1u << 20)         /* bytes of counter lines read back */

extern char **environ;

static char **child_env;               /* environ plus the captured secrets */
static int child_env_secrets;          /* how many entries at the end are ours to wipe */
static char run_tmpdir[4096];
static char self_exe[4096];            /* this binary (read once: under valgrind, readlink
                                        * gives the program, exec of /proc/self/exe would not) */

int serve_run_init(const char *tmpdir) {
    snprintf(run_tmpdir, sizeof run_tmpdir, "%s", tmpdir);
    ssize_t n_exe = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n_exe <= 0) return -1;
    self_exe[n_exe] = '\0';
    static const char *const names[SECRET_COUNT] = {"VSRUN_KEY", "VSRUN_PASSPHRASE", "PAGERDUTY_TOKEN"};
    size_t n = 0;
    while (environ[n]) n++;
    child_env = calloc(n + SECRET_COUNT + 2, sizeof *child_env);
    if (child_env == NULL) return -1;
    size_t k = 0;
    /* the store's password (libpq reads PGPASSWORD) is the server's, not the pipelines' */
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PGPASSWORD=", 11) != 0 && strncmp(environ[i], "VSRUN_METRICS_FD=", 17) != 0)
            child_env[k++] = environ[i];
    child_env[k++] = "VSRUN_METRICS_FD=3";   /* = METRICS_FD */
    for (int i = 0; i < SECRET_COUNT; i++) {
        const char *v = secrets_get((enum secret_id)i);
        if (v == NULL) continue;
        size_t len = strlen(names[i]) + strlen(v) + 2;
        char *e = malloc(len);
        if (e == NULL) return -1;
        snprintf(e, len, "%s=%s", names[i], v);
        child_env[k++] = e;
        child_env_secrets++;
    }
    return 0;
}

void serve_run_cleanup(void) {
    if (child_env == NULL) return;
    size_t n = 0;
    while (child_env[n]) n++;
    for (size_t i = n - (size_t)child_env_secrets; i < n; i++) {
        OPENSSL_cleanse(child_env[i], strlen(child_env[i]));
        free(child_env[i]);
    }
    free(child_env);
    child_env = NULL;
    child_env_secrets = 0;
}

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keeps the last OUTPUT_TAIL bytes. */
static void tail_add(char *tail, size_t *len, const char *data, size_t n) {
    if (n >= OUTPUT_TAIL) {
        memcpy(tail, data + n - OUTPUT_TAIL, OUTPUT_TAIL);
        *len = OUTPUT_TAIL;
        return;
    }
    if (*len + n > OUTPUT_TAIL) {
        size_t drop = *len + n - OUTPUT_TAIL;
        memmove(tail, tail + drop, *len - drop);
        *len -= drop;
    }
    memcpy(tail + *len, data, n);
    *len += n;
}

/* Adds up the counter lines a run wrote (run_metrics.c); anything malformed is skipped. */
static void read_metrics(const char *path, struct serve_run_result *out) {
    FILE *f = fopen(path, "re");
    if (f == NULL) return;
    char line[128];
    size_t total = 0;
    while (total < METRICS_MAX && fgets(line, sizeof line, f)) {
        total += strlen(line);
        int status;
        double sec;
        char end;
        if (sscanf(line, "pagerduty %d%c", &status, &end) == 2 && end == '\n' && status >= 100 && status <= 599) {
            int i = 0;
            while (i < out->n_pagerduty && out->pagerduty[i].status != status) i++;
            if (i == out->n_pagerduty) {
                if (i == SERVE_RUN_MAX_STATUSES) continue;
                out->pagerduty[i].status = status;
                out->n_pagerduty++;
            }
            out->pagerduty[i].count++;
        } else if (sscanf(line, "rate_limit_wait %lf%c", &sec, &end) == 2 && end == '\n' && sec > 0 && sec <= 3600) {
            out->rate_limit_wait += sec;
        }
    }
    fclose(f);
}

static char *read_result(const char *path, char **why) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;   /* the script returned nothing */
    struct stat sb;
    char *buf = NULL;
    if (fstat(fd, &sb) == 0 && sb.st_size >= 0 && (size_t)sb.st_size <= RESULT_MAX) {
        buf = malloc((size_t)sb.st_size + 1);
        ssize_t got = buf ? read(fd, buf, (size_t)sb.st_size) : -1;
        if (got != sb.st_size) { free(buf); buf = NULL; *why = "cannot read the returned value"; }
        else buf[got] = '\0';
    } else {
        *why = "the returned value is larger than 16 MB";
    }
    close(fd);
    return buf;
}

void serve_run(const struct serve_route *r, int64_t id, const char *input, volatile pid_t *pid_slot,
               struct serve_run_result *out) {
    memset(out, 0, sizeof *out);
    out->exit_code = -1;
    double start = mono_now();
    char out_path[4200], metrics_path[4200], timeout[32], memory[32];
    snprintf(out_path, sizeof out_path, "%s/run-%lld.json", run_tmpdir, (long long)id);
    snprintf(metrics_path, sizeof metrics_path, "%s/run-%lld.metrics", run_tmpdir, (long long)id);
    unlink(out_path);
    unlink(metrics_path);
    snprintf(timeout, sizeof timeout, "%g", r->timeout);
    snprintf(memory, sizeof memory, "%g", r->max_memory);
    const char *argv[16];
    int a = 0;
    argv[a++] = "vsrun";
    if (r->strict) argv[a++] = "--strict";
    argv[a++] = "--timeout";
    argv[a++] = timeout;
    if (r->max_memory > 0) { argv[a++] = "--max-memory"; argv[a++] = memory; }
    if (r->connection) { argv[a++] = "--connection"; argv[a++] = r->connection; }
    argv[a++] = "--input-file";
    argv[a++] = "-";
    argv[a++] = "--output";
    argv[a++] = out_path;
    argv[a++] = "--";
    argv[a++] = r->script;
    argv[a] = NULL;

    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
    char tail[OUTPUT_TAIL + 1];
    size_t tail_len = 0;
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
        snprintf(tail, sizeof tail, "cannot start the run: %s", strerror(errno));
        tail_len = strlen(tail);
        goto done;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 2);
    posix_spawn_file_actions_addopen(&fa, METRICS_FD, metrics_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    /* the server blocks SIGINT/SIGTERM for sigwait; the child must not inherit that */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int rc = posix_spawn(&pid, self_exe, &fa, &attr, (char *const *)argv, child_env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in_pipe[0]);
    close(out_pipe[1]);
    in_pipe[0] = out_pipe[1] = -1;
    if (rc != 0) {
        snprintf(tail, sizeof tail, "cannot start the run: %s", strerror(rc));
        tail_len = strlen(tail);
        goto done;
    }
    *pid_slot = pid;
    /* The child reads all of its input before the script starts, so writing it whole
     * before reading any output cannot deadlock. A child that died early gives EPIPE. */
    size_t len = strlen(input), off = 0;
    while (off < len) {
        ssize_t w = write(in_pipe[1], input + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(in_pipe[1]);
    in_pipe[1] = -1;
    double hard_deadline = start + r->timeout + KILL_GRACE;
    int killed = 0;
    for (;;) {
        double left = hard_deadline - mono_now();
        if (left <= 0 && !killed) { kill(pid, SIGKILL); killed = 1; }
        struct pollfd pfd = {out_pipe[0], POLLIN, 0};
        int pr = poll(&pfd, 1, killed ? 1000 : (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) continue;
        char buf[4096];
        ssize_t n = read(out_pipe[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        tail_add(tail, &tail_len, buf, (size_t)n);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *pid_slot = 0;
    out->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (killed) {
        const char *msg = "\nvsrun serve: killed: the run outlived its timeout";
        tail_add(tail, &tail_len, msg, strlen(msg));
    }
    read_metrics(metrics_path, out);   /* a failed or killed run counts what it did too */
    if (out->exit_code == 0) {
        char *why = NULL;
        out->result = read_result(out_path, &why);
        if (why) {
            out->exit_code = 1;
            tail_add(tail, &tail_len, why, strlen(why));
        }
    }
done:
    for (int i = 0; i < 2; i++) {
        if (in_pipe[i] >= 0) close(in_pipe[i]);
        if (out_pipe[i] >= 0) close(out_pipe[i]);
    }
    unlink(out_path);
    unlink(metrics_path);
    tail[tail_len] = '\0';
    out->output = strdup(tail);
    out->seconds = mono_now() - start;
}

void serve_run_stop(volatile pid_t *pid_slot) {
    pid_t pid = *pid_slot;
    if (pid > 0) kill(pid, SIGKILL);
}

void serve_run_result_free(struct serve_run_result *res) {
    free(res->result);
    free(res->output);
    memset(res, 0, sizeof *res);
}
