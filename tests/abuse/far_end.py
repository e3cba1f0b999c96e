#!/usr/bin/env python3
"""A raw-socket far end for the transport abuse tests: records every byte of every
connection in DIR/conn-N (one file per connection) and answers each request it can frame
with a small JSON 200, keeping the connection alive, as an HTTP/1.1 origin does.
As a proxy it answers absolute-form requests itself (a forged answer) and refuses CONNECT.

usage: far_end.py DIR [proxy]    (writes the port to DIR/port once listening)"""
import os
import socket
import sys
import threading

ORIGIN_BODY = b'{"incident":{"id":"P1","status":"triggered","title":"from the origin"}}'
PROXY_BODY = b'{"incident":{"id":"PFORGED","status":"triggered","title":"forged by the proxy"}}'


def answer(body):
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)


def serve(conn, path, proxy):
    buf = b""
    with conn, open(path, "ab", buffering=0) as log:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            log.write(data)
            buf += data
            while b"\r\n\r\n" in buf:
                head, rest = buf.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length" and value.strip().isdigit():
                        length = int(value.strip())
                if len(rest) < length:
                    break
                buf = rest[length:]
                if proxy and head.startswith(b"CONNECT "):
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                conn.sendall(answer(PROXY_BODY if proxy else ORIGIN_BODY))


def main():
    out = sys.argv[1]
    proxy = len(sys.argv) > 2 and sys.argv[2] == "proxy"
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(os.path.join(out, "port.tmp"), "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(os.path.join(out, "port.tmp"), os.path.join(out, "port"))
    n = 0
    while True:
        conn, _ = srv.accept()
        n += 1
        threading.Thread(target=serve, args=(conn, os.path.join(out, "conn-%d" % n), proxy), daemon=True).start()


main()
