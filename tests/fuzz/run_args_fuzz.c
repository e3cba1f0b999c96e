/* libFuzzer target: the command line of a script run (options, name=value inputs) split
 * from arbitrary bytes on newlines, through cli_parse_run and cli_build_inputs. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[64];
    int argc = 0;
    for (char *p = buf; argc < 63;) {
        argv[argc++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    argv[argc] = NULL;
    /* messages go to stderr; keep the fuzzer's output readable */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    struct cli_run run;
    if (cli_parse_run(argc, argv, &run) == 0 && run.input_file == NULL) {
        struct vm *vm = vm_new(&run.vm);
        if (vm) {
            cli_build_inputs(vm_lua(vm), &run);
            vm_free(vm);
        }
    }
    cli_free_run(&run);
    fclose(stderr);
    stderr = saved;
    free(buf);
    return 0;
}
