#!/usr/bin/python3
"""A fake Stripe-like payment gateway for tests (python3 standard library only).

    fake_gateway.py --port 0 --secret-key sk_test_x [--slow-seconds 3] [--verbose]

Listens on 127.0.0.1 and prints "fake gateway listening on <port>" (flushed) once it accepts
connections. One thread per connection. Exits by itself when the process that started it dies
(a crashed test cannot leave it behind).

POST /v1/payment_intents (application/x-www-form-urlencoded, "Authorization: Bearer <key>")
    A wrong or missing key answers 401. Behaviour by payment_method:
      tok_ok, pm_card_visa         200, a PaymentIntent with status "succeeded" (a charge)
      tok_declined                 402 card_error card_declined
      tok_invalid, unknown tokens  400 invalid_request_error
      tok_processing               200, status "processing"              (no charge)
      tok_requires_action          200, status "requires_action"         (no charge)
      tok_requires_payment_method  200, status "requires_payment_method" (no charge)
    Missing amount/currency/payment_method or a non-integer amount answer 400.
    Idempotency-Key: the first 200 or 402 answer for a key is stored; the same key with the same
    form parameters replays it (status and body) without charging again; the same key with other
    parameters answers 400 idempotency_error. 400/401 answers are not stored (as with Stripe,
    a request that failed validation may be retried with the same key).
    A charge is counted once per new "succeeded" PaymentIntent.

POST /v1/refunds (payment_intent, amount, metadata[...]; same key and idempotency rules)
    200 a Refund with status "succeeded" ("pending" for exactly 777 cents) for a succeeded PaymentIntent of this gateway while the
    amount fits what is left of it; 400 resource_missing for an unknown intent, 400
    amount_too_large beyond what is left. A refund is counted once per new Refund.

Fault injection: POST /_control/faults {"faults": [...]} queues faults; each incoming payment
request takes the next one (FIFO) before anything else happens:
    "<3-digit status>"   answer that status with a JSON error, no charge ("500", "429", "503";
                         "409" answers Stripe's idempotency "request in progress" error)
    "drop"               read the request, close the connection without an answer, no charge
    "reset"              read the request, reset the connection (TCP RST), no charge
    "malformed"          200 with a body that is not JSON, no charge
    "timeout"            sleep --slow-seconds, then process the request normally
    "drop_after_charge"  process normally (charge counted and stored for the key), then close
                         the connection without an answer
    "500_after_charge"   process normally, then answer 500 instead of the real answer

Control endpoints (not recorded in the request log):
    GET  /_control/requests  every payment API request, in arrival order: method, path,
                             idempotency_key, authorization, content_type, params (the decoded
                             form), fault, status (the answer sent; null while in progress or when
                             none was sent), done (the handler finished)
    GET  /_control/charges   {"count": N, "keys": {"<idempotency key>": "<pi id>"}, "refunds": N,
                             "refunded": {"<pi id>": cents}}
    POST /_control/faults    queue faults (see above); 400 for an unknown fault
    POST /_control/reset     forget requests, charges, stored answers and queued faults
"""

import argparse
import http.server
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

MAX_BODY_BYTES = 1024 * 1024
AFTER_CHARGE_FAULTS = ("drop_after_charge", "500_after_charge")
NAMED_FAULTS = ("drop", "reset", "malformed", "timeout") + AFTER_CHARGE_FAULTS
SUCCEEDING_TOKENS = ("tok_ok", "pm_card_visa")
STATUS_TOKENS = {
    "tok_processing": "processing",
    "tok_requires_action": "requires_action",
    "tok_requires_payment_method": "requires_payment_method",
}


def is_valid_fault(fault):
    if fault in NAMED_FAULTS:
        return True
    return isinstance(fault, str) and len(fault) == 3 and fault.isdigit() and 100 <= int(fault) <= 599


def error_body(error_type, message, code=None, **extra):
    error = {"type": error_type, "message": message}
    if code is not None:
        error["code"] = code
    error.update(extra)
    return {"error": error}


class Gateway:
    """The shared state, guarded by one lock; nothing blocks while holding it."""

    def __init__(self, secret_key, slow_seconds):
        self.secret_key = secret_key
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.next_id = 1
        self.reset()

    def reset(self):
        with self.lock:
            self.faults = []
            self.requests = []
            self.charge_count = 0
            self.charge_keys = {}
            self.intents = {}  # succeeded intent id -> amount
            self.refunded = {}  # intent id -> cents refunded
            self.refund_count = 0
            self.stored = {}  # idempotency key -> (params, status, body)

    def new_intent_id(self):
        intent_id = "pi_%d" % self.next_id
        self.next_id += 1
        return intent_id

    def process_payment(self, key, params):
        """The answer (status, JSON-able body) for an authenticated payment request."""
        with self.lock:
            if key:
                stored = self.stored.get(key)
                if stored is not None:
                    stored_params, status, body = stored
                    if stored_params != params:
                        return 400, error_body(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with.",
                        )
                    return status, body
            status, body, charged = self.create_intent(params)
            if charged:
                self.charge_count += 1
                self.intents[body["id"]] = body["amount"]
                if key:
                    self.charge_keys[key] = body["id"]
            if key and status in (200, 402):
                self.stored[key] = (params, status, body)
            return status, body

    def process_refund(self, key, params):
        """The answer (status, JSON-able body) for an authenticated refund request."""
        with self.lock:
            if key:
                stored = self.stored.get(key)
                if stored is not None:
                    stored_params, status, body = stored
                    if stored_params != params:
                        return 400, error_body(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with.",
                        )
                    return status, body
            intent = params.get("payment_intent", "")
            if intent not in self.intents:
                return 400, error_body("invalid_request_error", "No such payment_intent: '%s'" % intent,
                                       "resource_missing", param="payment_intent")
            try:
                amount = int(params.get("amount", ""))
            except ValueError:
                return 400, error_body("invalid_request_error", "Invalid integer amount", "parameter_invalid_integer")
            left = self.intents[intent] - self.refunded.get(intent, 0)
            if amount <= 0 or amount > left:
                return 400, error_body("invalid_request_error",
                                       "Refund amount (%d) is greater than unrefunded amount (%d)" % (amount, left),
                                       "amount_too_large", param="amount")
            self.refunded[intent] = self.refunded.get(intent, 0) + amount
            self.refund_count += 1
            metadata = {}
            for name, value in params.items():
                if name.startswith("metadata[") and name.endswith("]"):
                    metadata[name[len("metadata["):-1]] = value
            # 777 cents: left pending (settled later by a webhook at the real provider).
            status = "pending" if amount == 777 else "succeeded"
            body = {"id": "re_%d" % self.next_id, "object": "refund", "status": status, "amount": amount,
                    "payment_intent": intent, "metadata": metadata}
            self.next_id += 1
            if key:
                self.stored[key] = (params, 200, body)
            return 200, body

    def create_intent(self, params):
        """(status, body, charged) for a new PaymentIntent; called with the lock held."""
        for name in ("amount", "currency", "payment_method"):
            if not params.get(name):
                return 400, error_body(
                    "invalid_request_error", "Missing required param: %s." % name, "parameter_missing", param=name
                ), False
        try:
            amount = int(params["amount"])
        except ValueError:
            return 400, error_body(
                "invalid_request_error", "Invalid integer: %s" % params["amount"], "parameter_invalid_integer",
                param="amount",
            ), False
        token = params["payment_method"]
        if token == "tok_declined":
            intent_id = self.new_intent_id()
            return 402, error_body(
                "card_error", "Your card was declined.", "card_declined", decline_code="generic_decline",
                payment_intent={"id": intent_id, "object": "payment_intent", "status": "requires_payment_method"},
            ), False
        if token not in SUCCEEDING_TOKENS and token not in STATUS_TOKENS:
            return 400, error_body(
                "invalid_request_error", "No such PaymentMethod: '%s'" % token, "resource_missing",
                param="payment_method",
            ), False
        status = "succeeded" if token in SUCCEEDING_TOKENS else STATUS_TOKENS[token]
        metadata = {}
        for name, value in params.items():
            if name.startswith("metadata[") and name.endswith("]"):
                metadata[name[len("metadata["):-1]] = value
        body = {
            "id": self.new_intent_id(),
            "object": "payment_intent",
            "status": status,
            "amount": amount,
            "currency": params["currency"],
            "payment_method": token,
            "metadata": metadata,
            "created": int(time.time()),
        }
        if status == "requires_payment_method":
            body["last_payment_error"] = {
                "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            }
        return 200, body, status == "succeeded"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGateway/1"

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        if self.server.verbose:
            sys.stderr.write("fake gateway: %s\n" % (format % args))

    @property
    def gateway(self):
        return self.server.gateway

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def send_json(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def drop(self, reset):
        """Ends the connection without an answer; `reset` sends a TCP RST instead of a FIN."""
        self.close_connection = True
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    # ---- control ------------------------------------------------------------------------------

    def do_GET(self):
        gateway = self.gateway
        if self.path == "/_control/requests":
            with gateway.lock:
                snapshot = json.loads(json.dumps(gateway.requests))
            self.send_json(200, snapshot)
        elif self.path == "/_control/charges":
            with gateway.lock:
                body = {"count": gateway.charge_count, "keys": dict(gateway.charge_keys),
                        "refunds": gateway.refund_count, "refunded": dict(gateway.refunded)}
            self.send_json(200, body)
        else:
            self.send_json(404, error_body("invalid_request_error", "Unrecognized request URL (GET: %s)." % self.path))

    def do_POST(self):
        try:
            raw = self.read_body()
        except ValueError as exc:
            self.close_connection = True
            self.send_json(400, error_body("invalid_request_error", str(exc)))
            return
        if self.path == "/_control/faults":
            self.queue_faults(raw)
        elif self.path == "/_control/reset":
            self.gateway.reset()
            self.send_json(200, {"reset": True})
        elif self.path == "/v1/payment_intents":
            self.payment_intents(raw, self.gateway.process_payment)
        elif self.path == "/v1/refunds":
            self.payment_intents(raw, self.gateway.process_refund)
        else:
            self.send_json(404, error_body("invalid_request_error", "Unrecognized request URL (POST: %s)." % self.path))

    def queue_faults(self, raw):
        try:
            faults = json.loads(raw or b"{}").get("faults")
        except (ValueError, AttributeError):
            faults = None
        if not isinstance(faults, list) or not all(is_valid_fault(f) for f in faults):
            self.send_json(400, {"error": "expected {\"faults\": [...]} with faults from: %s or a status code"
                                          % ", ".join(NAMED_FAULTS)})
            return
        with self.gateway.lock:
            self.gateway.faults.extend(faults)
            queued = len(self.gateway.faults)
        self.send_json(200, {"queued": queued})

    # ---- the payment API ----------------------------------------------------------------------

    def payment_intents(self, raw, process):
        gateway = self.gateway
        params = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        key = self.headers.get("Idempotency-Key")
        entry = {
            "method": self.command,
            "path": self.path,
            "idempotency_key": key,
            "authorization": self.headers.get("Authorization"),
            "content_type": self.headers.get("Content-Type"),
            "params": params,
            "fault": None,
            "status": None,
            "done": False,
        }
        with gateway.lock:
            fault = gateway.faults.pop(0) if gateway.faults else None
            entry["fault"] = fault
            gateway.requests.append(entry)
        try:
            self.answer_payment(key, params, fault, entry, process)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout): nothing to answer
        finally:
            with gateway.lock:
                entry["done"] = True

    def answer_payment(self, key, params, fault, entry, process):
        gateway = self.gateway

        def respond(status, body):
            with gateway.lock:
                entry["status"] = status
            self.send_json(status, body)

        if fault in ("drop", "reset"):
            self.drop(reset=fault == "reset")
            return
        if fault == "malformed":
            with gateway.lock:
                entry["status"] = 200
            payload = b"<html>not json"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if fault is not None and fault.isdigit():
            status = int(fault)
            if status == 409:
                respond(409, error_body(
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key.",
                    "idempotency_key_in_use"))
            elif status == 429:
                respond(429, error_body("invalid_request_error", "Too many requests.", "rate_limit"))
            else:
                respond(status, error_body("api_error", "Injected fault: HTTP %d." % status))
            return
        if fault == "timeout":
            time.sleep(gateway.slow_seconds)

        authorization = self.headers.get("Authorization") or ""
        if authorization != "Bearer " + gateway.secret_key:
            message = "You did not provide an API key." if not authorization else "Invalid API Key provided."
            respond(401, error_body("invalid_request_error", message))
            return

        status, body = process(key, params)
        if fault == "drop_after_charge":
            self.drop(reset=False)
        elif fault == "500_after_charge":
            respond(500, error_body("api_error", "Injected fault: HTTP 500 after the charge."))
        else:
            respond(status, body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def exit_with_parent():
    """Ends this process soon after its parent is gone (it is then re-parented)."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description="A fake Stripe-like payment gateway for tests.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--slow-seconds", type=float, default=3.0, help="the delay of the 'timeout' fault")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = parser.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    server.gateway = Gateway(args.secret_key, args.slow_seconds)
    server.verbose = args.verbose
    exit_with_parent()
    print("fake gateway listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
