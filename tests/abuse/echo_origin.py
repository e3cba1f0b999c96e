#!/usr/bin/env python3
"""An origin for the named-secret tests: answers every request with the request's headers
as JSON (a server that reflects what it gets, as a hostile or careless API could), except
GET /redirect?to=URL, answered 302 with Location: URL, and /quiet..., answered {} (an API
that does not reflect). Records each request line and its
headers in DIR/requests (one JSON object per line).

usage: echo_origin.py DIR    (writes the port to DIR/port once listening)"""
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT = sys.argv[1]


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                "body": body.decode("utf-8", "replace")}
        with open(os.path.join(OUT, "requests"), "a") as f:
            f.write(json.dumps(seen) + "\n")
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/redirect":
            to = urllib.parse.parse_qs(url.query).get("to", [""])[0]
            self.send_response(302)
            self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        out = b"{}" if url.path.startswith("/quiet") else json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
with open(os.path.join(OUT, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(OUT, "port.tmp"), os.path.join(OUT, "port"))
srv.serve_forever()
