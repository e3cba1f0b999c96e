#!/usr/bin/env python3
"""A gate in front of the sandbox's identity endpoints, for tests/cli/refresh_concurrent_test.sh.

Usage: refresh_gate.py SANDBOX_URL PORTS_FILE. Serves two ports on 127.0.0.1 and writes
"IDENTITY_PORT CONTROL_PORT" to PORTS_FILE when ready.
- identity port: forwards every request to the sandbox (no redirects followed), except that
  while armed a refresh-grant POST /oauth/token is held before it is forwarded until the
  control port's /release (or 120 s, so a blocked client cannot wedge the gate forever).
- control port: /arm, /disarm (forward refresh requests at once again), /held ("yes" once a refresh request is held), /ping, /release,
  /events (the recorded events, one a line, in the order they happened), /short (the next
  token answer says expires_in 1, so the record it makes is due for a refresh at once),
  /lock?path=P and /unlock (hold and release an flock on the vault lock file P, as another
  vsrun process would).
The events are what the test orders: "held", "ping", "release", "answered STATUS".
"""
import fcntl
import http.client
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SANDBOX = urllib.parse.urlsplit(sys.argv[1])
lock = threading.Lock()
events = []
state = {"armed": False, "held": False, "release": threading.Event(), "short": False}


def note(event):
    with lock:
        events.append(event)


class Identity(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        refresh = self.path.startswith("/oauth/token") and b"grant_type=refresh_token" in body
        if refresh and state["armed"]:
            with lock:
                state["held"] = True
                release = state["release"]
            note("held")
            release.wait(120)
        conn = http.client.HTTPConnection(SANDBOX.hostname, SANDBOX.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        res = conn.getresponse()
        data = res.read()
        if self.path.startswith("/oauth/token") and state["short"] and res.status == 200:
            state["short"] = False
            data = re.sub(rb'"expires_in":\s*[0-9.]+', b'"expires_in":1', data)
        if refresh:
            note("answered %d" % res.status)
        self.send_response(res.status)
        for k, v in res.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a run that ended): nothing to do
        conn.close()

    do_GET = do_POST = forward


class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/arm":
            with lock:
                state["release"].set()  # a request still held from an earlier run goes on
                state.update(armed=True, held=False, release=threading.Event())
                events.clear()
            out = "armed"
        elif path == "/disarm":
            with lock:
                state["release"].set()
                state.update(armed=False, held=False)
                events.clear()
            out = "disarmed"
        elif path == "/lock":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            state["lock"] = open(query["path"][0], "a")
            fcntl.flock(state["lock"], fcntl.LOCK_EX)
            note("locked")
            out = "locked"
        elif path == "/unlock":
            note("unlocked")
            fcntl.flock(state["lock"], fcntl.LOCK_UN)
            state["lock"].close()
            out = "unlocked"
        elif path == "/short":
            state["short"] = True
            out = "short"
        elif path == "/held":
            out = "yes" if state["held"] else "no"
        elif path == "/ping":
            note("ping")
            out = "pong"
        elif path == "/release":
            note("release")
            state["release"].set()
            out = "released"
        elif path == "/events":
            with lock:
                out = "".join(e + "\n" for e in events)
        else:
            self.send_error(404)
            return
        data = out.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    identity = ThreadingHTTPServer(("127.0.0.1", 0), Identity)
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    for server in (identity, control):
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write("%d %d\n" % (identity.server_address[1], control.server_address[1]))
    import os
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    threading.Event().wait()


if __name__ == "__main__":
    main()
