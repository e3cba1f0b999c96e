#!/usr/bin/env python3
"""Runs every code example of the docs (for tests/cli/doc_examples_test.sh).

usage: doc_examples.py VSRUN WORKDIR FILE... [--help-topics]   (FILE: Markdown, or a man page NAME.1)

Fenced blocks in Markdown files:
  ```lua   a file block when its first line is `-- NAME.lua...` (saved as NAME.lua, then run
           with `vsrun --sandbox NAME.lua`), a test file when it requires vsrun.testing (run
           with `vsrun test`), else a snippet run under `vsrun --sandbox` after a prelude
           that defines the names the docs use without defining (pd, inc, input, ...).
  ```sh    run with bash -e in WORKDIR, `vsrun` on PATH being the build under test.
  ```      a console transcript: its `$ ` lines are run as sh.
A block preceded by `<!-- not run: REASON -->` is skipped and counted. Every other block
must run and exit 0. Help topics (`vsrun help TOPIC`): their Lua examples (indented lines
holding `local`) and `$ ` command lines run the same way; command lists are not examples.
Prints `ok doc ...` / `FAIL doc ...` per block and a last line `ran N skipped M`.
"""
import os
import re
import signal
import subprocess
import sys
# the example library (scripts/vsrun.json), for blocks that require its modules
EXAMPLE_LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "incident-kit", "src")

PRELUDE = """local pd = require "pagerduty"
local http, vs, json = require "http", require "vsrun", require "json"
local sandbox = require "vsrun.sandbox"
local info = sandbox.info()
local inc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1]
local input = { service = info.services[1].id, incident = inc.id, api_key = "doc-example-key" }
local user_ids = { info.users[1].id, info.users[2].id }
local incident_ids = { inc.id }
"""

# seconds a block may take: valgrind (make memcheck) runs vsrun 20-50 times slower
LIMIT = 900 if os.environ.get("VSRUN_BUILD") == "memcheck" else 60

MARK = re.compile(r"^<!--\s*not run:\s*(.+?)\s*-->\s*$")


def blocks_of_markdown(path):
    """-> [(line, lang, text, skip_reason)]"""
    out = []
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i + 1, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        k = i - 1
        while k >= 0 and lines[k].strip() == "":
            k -= 1
        mark = MARK.match(lines[k]) if k >= 0 else None
        out.append((start, lang, "\n".join(lines[i + 1:j]) + "\n", mark.group(1) if mark else None))
        i = j + 1
    return out


def blocks_of_man(path):
    """The man page's EXAMPLES: each line of its .nf/.fi block is one sh example; a line
    `.\\" not run: REASON` before it marks it."""
    out, inside, skip = [], False, None
    section = None
    for n, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        if line.startswith(".SH"):
            section = line[4:].strip()
        if section != "EXAMPLES":
            continue
        if line == ".nf":
            inside = True
        elif line == ".fi":
            inside = False
        elif inside:
            m = re.match(r'^\.\\"\s*not run:\s*(.+)$', line)
            if m:
                skip = m.group(1).strip()
            elif not line.startswith("."):
                out.append((n, "sh", line.replace("\\-", "-") + "\n", skip))
                skip = None
    return out


def blocks_of_help(vsrun, workdir):
    topics = subprocess.run([vsrun, "help", "nosuchtopic"], capture_output=True, text=True).stderr
    names = topics.split("topics:")[-1].split()
    out = []
    for name in names:
        text = subprocess.run([vsrun, "help", name], capture_output=True, text=True).stdout
        block, first = [], 0
        lines = text.split("\n") + [""]
        for n, line in enumerate(lines, 1):
            if line.startswith("  "):
                if not block:
                    first = n
                block.append(line[2:])
                continue
            if block and any("local " in b for b in block):
                lua = [b for b in block if not b.startswith("$ ")]
                cmds = [b[2:] for b in block if b.startswith("$ ")]
                out.append((f"help {name}:{first}", "lua", "\n".join(lua) + "\n", None))
                if cmds:
                    out.append((f"help {name}:{first}$", "sh", "\n".join(cmds) + "\n", None))
            block = []
    return out


def run(cmd, workdir, env, stdin=None):
    # its own process group, killed afterwards: a block that starts a server in the
    # background must not leave it running (holding a port other tests use)
    p = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=LIMIT)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        out, err, rc = "", "timed out after %d s" % LIMIT, 124
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if p.returncode is None:
            p.wait()
    return rc, out, err


def run_block(where, lang, text, vsrun, workdir, env, counter):
    if lang == "lua":
        first = text.split("\n", 1)[0]
        fm = re.match(r"^--\s*([\w.-]+\.lua)\b", first)
        if "vsrun.testing" in text:
            name = f"doc{counter}_test.lua"
            open(os.path.join(workdir, name), "w").write(text)
            rc, out, err = run([vsrun, "test", name], workdir, env)
            if rc == 0 and not re.search(r"\b[1-9]\d* passed", out + err):
                return 1, out, "no test passed"
            return rc, out, err
        if fm:
            open(os.path.join(workdir, fm.group(1)), "w").write(text)
            return run([vsrun, "--sandbox", "--lib", EXAMPLE_LIB, fm.group(1)], workdir, env)
        name = f"doc{counter}.lua"
        open(os.path.join(workdir, name), "w").write(PRELUDE + "do\n" + text + "\nend\n")
        return run([vsrun, "--sandbox", "--lib", EXAMPLE_LIB, name], workdir, env)
    if lang in ("sh", "bash", "console", ""):
        if lang in ("", "console"):
            cmds = [l[2:] for l in text.split("\n") if l.startswith("$ ")]
            if not cmds:
                return 1, "", "a block with no language and no `$ ` lines: label it or mark it not run"
            text = "\n".join(cmds) + "\n"
        return run(["bash", "-e", "-o", "pipefail", "-c", text], workdir, env)
    return 1, "", f"unknown block language '{lang}': label it lua or sh, or mark it not run"


def main():
    args = sys.argv[1:]
    vsrun, workdir = os.path.abspath(args[0]), args[1]
    files = [a for a in args[2:] if not a.startswith("--")]
    env = dict(os.environ)
    env["PATH"] = os.path.join(workdir, "bin") + ":" + env["PATH"]
    blocks = []
    for f in files:
        parse = blocks_of_man if f.endswith(".1") else blocks_of_markdown
        blocks += [(f"{f}:{line}", lang, text, skip) for line, lang, text, skip in parse(f)]
    if "--help-topics" in args:
        blocks += blocks_of_help(vsrun, workdir)
    ran = skipped = 0
    for counter, (where, lang, text, skip) in enumerate(blocks, 1):
        if skip:
            skipped += 1
            print(f"ok doc {where} skipped ({skip})")
            continue
        rc, out, err = run_block(where, lang, text, vsrun, workdir, env, counter)
        ran += 1
        if rc == 0 and not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:", err):
            print(f"ok doc {where} ({lang or 'console'})")
        else:
            print(f"FAIL doc {where} ({lang or 'console'}): exit {rc}; mark it "
                  f"<!-- not run: REASON --> if it cannot run offline")
            for l in (err.strip() or out.strip()).split("\n")[:8]:
                print("    " + l)
    print(f"ran {ran} skipped {skipped}")


if __name__ == "__main__":
    main()
