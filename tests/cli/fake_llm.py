#!/usr/bin/env python3
"""A stand-in for an OpenAI-style chat-completions API, for the ai_summary serve test:
POST /v1/chat/completions with `Authorization: Bearer <$FAKE_LLM_KEY>` gets a canned
completion; any other credential gets 401. Appends "good" or "bad" to DIR/calls per call.

usage: FAKE_LLM_KEY=... fake_llm.py DIR    (writes the port to DIR/port once listening)"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT = sys.argv[1]
KEY = os.environ["FAKE_LLM_KEY"]
CANNED = "CANNED SUMMARY: the disk filled up; clean the logs, then add an alert at 80%."


class LLM(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        good = self.path == "/v1/chat/completions" and self.headers.get("Authorization") == "Bearer " + KEY
        try:
            asked = json.loads(body)["messages"][-1]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            good, asked = False, ""
        with open(os.path.join(OUT, "calls"), "a") as f:
            f.write(("good" if good else "bad") + "\n")
        if good:
            out = json.dumps({"id": "chatcmpl-fake", "object": "chat.completion", "model": "fake",
                              "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": CANNED}}],
                              "prompt_chars": len(asked)}).encode()
            status = 200
        else:
            out = b'{"error":{"message":"invalid api key","type":"invalid_request_error"}}'
            status = 401
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), LLM)
with open(os.path.join(OUT, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(OUT, "port.tmp"), os.path.join(OUT, "port"))
srv.serve_forever()
