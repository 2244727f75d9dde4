#!/usr/bin/python3
"""A webhook receiver for tests that misbehaves on purpose (python3 standard library only).

    fake_webhook_receiver.py --port 0 [--slow-seconds 2]

Listens on 127.0.0.1 and prints "fake receiver listening on <port>" (flushed) once it accepts
connections. One thread per connection. Exits by itself when the process that started it dies.

POST /<any path>: a webhook delivery. The n-th request carrying one event id on one path takes the
n-th step of that path's plan (past its end: "ok"):
    "ok"        200
    "fail"      500
    "throttle"  429
    "gone"      410
    "binary"    500 with 700 bytes that are not all UTF-8 (multi-byte characters, NUL, invalid bytes)
    "hang"      sleep --slow-seconds, then close the connection without an answer
    "late"      record the event as received, sleep --slow-seconds, then answer 200 (after the
                sender gave up: it sends the event again)
Every request is recorded: path, the Emporium-Event-Id header, the body's id and type, whether the
Emporium-Signature header is valid for the path's secret (t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">, t within 300 s of now), the step taken, and "accepted" (whether the receiver kept
the event: ok and late). A real receiver dedupes accepted events by id; "unique" in
/_control/received counts them.

Control endpoints:
    POST /_control/path {"path": "/a", "secret": "whsec_…", "plan": ["fail", "hang", "late"]}
    GET  /_control/received?path=/a   {"requests": [...], "unique": ["evt_1", …]}
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
import urllib.parse


class State:
    def __init__(self, slow_seconds):
        self.lock = threading.Lock()
        self.slow_seconds = slow_seconds
        self.paths = {}  # path -> {"secret": str, "plan": [str]}
        self.seen = {}  # (path, event id) -> requests so far
        self.requests = []


def signature_valid(secret, header, body):
    if not secret or not header:
        return False
    items = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [v for k, v in items if k == "t"]
    signatures = [v for k, v in items if k == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return False
    if abs(time.time() - int(stamps[0])) > 300:
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"{}"):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        state = self.server.state
        url = urllib.parse.urlparse(self.path)
        if url.path != "/_control/received":
            self.reply(404)
            return
        path = urllib.parse.parse_qs(url.query).get("path", [None])[0]
        with state.lock:
            requests = [r for r in state.requests if path is None or r["path"] == path]
            unique = sorted({r["event_id"] for r in requests if r["accepted"] and r["signature_valid"]})
        self.reply(200, json.dumps({"requests": requests, "unique": unique}).encode())

    def do_POST(self):
        state = self.server.state
        body = self.read_body()
        if self.path == "/_control/path":
            spec = json.loads(body)
            with state.lock:
                state.paths[spec["path"]] = {"secret": spec.get("secret", ""), "plan": list(spec.get("plan", []))}
            self.reply(200)
            return
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        event_id = self.headers.get("Emporium-Event-Id", "")
        with state.lock:
            spec = state.paths.get(self.path, {"secret": "", "plan": []})
            n = state.seen.get((self.path, event_id), 0)
            state.seen[(self.path, event_id)] = n + 1
            step = spec["plan"][n] if n < len(spec["plan"]) else "ok"
            record = {
                "path": self.path,
                "event_id": event_id,
                "body_id": event.get("id") if isinstance(event, dict) else None,
                "type": event.get("type") if isinstance(event, dict) else None,
                "event_type_header": self.headers.get("Emporium-Event-Type", ""),
                "delivery_id": self.headers.get("Emporium-Delivery-Id", ""),
                "signature_valid": signature_valid(spec["secret"], self.headers.get("Emporium-Signature", ""), body),
                "step": step,
                "accepted": step in ("ok", "late"),
                "at": time.time(),
            }
            state.requests.append(record)
        if step == "ok":
            self.reply(200, b'{"received":true}')
        elif step == "fail":
            self.reply(500, b'{"error":"receiver broken"}')
        elif step == "throttle":
            self.reply(429, b'{"error":"slow down"}')
        elif step == "gone":
            self.reply(410, b'{"error":"gone"}')
        elif step == "binary":
            self.reply(500, ("\u00e6\u00f8\u00e5\u20ac" * 60).encode()[:511] + b"\x00\xff\xfe" + bytes(range(256)) * 1)
        elif step == "hang":
            time.sleep(state.slow_seconds)
            self.close_connection = True
        elif step == "late":
            time.sleep(state.slow_seconds)
            try:
                self.reply(200, b'{"received":true}')
            except OSError:
                pass
        else:
            self.reply(500, b'{"error":"unknown step"}')


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def exit_with_parent():
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description="A misbehaving webhook receiver for tests.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args.slow_seconds)
    exit_with_parent()
    print("fake receiver listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
