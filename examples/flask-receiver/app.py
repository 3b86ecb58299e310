"""A Securo webhook receiver in Flask, verifying with the standard library.

Register the endpoint as https://<your-domain>/securo-webhooks: the route
below, on example.com, is https://example.com/securo-webhooks.

Run it (Debian: apt-get install python3-flask; elsewhere: pip install flask):

    SECURO_WEBHOOK_SECRET=whsec_... \
    TLS_CERT_FILE=cert.pem TLS_KEY_FILE=key.pem \
    python3 app.py

Settings (environment):

    SECURO_WEBHOOK_SECRET  the endpoint's signing secret (whsec_...); during a
                           rotation, the new and the old one, comma-separated
    RECEIVER_HOST          where to listen; default 0.0.0.0
    RECEIVER_PORT          default 8443
    TLS_CERT_FILE          PEM certificate (chain) to serve HTTPS with
    TLS_KEY_FILE           its PEM private key

Securo delivers only to https:// URLs (but for sandbox endpoints), so serve
TLS here or behind a proxy that does. Flask's own server is for trying
things out; in production run the app under gunicorn or uwsgi behind TLS.
"""

import base64
import hashlib
import hmac
import json
import os
import queue
import sys
import threading
import time

from flask import Flask, request

ROUTE = "/securo-webhooks"
TOLERANCE_SECONDS = 5 * 60  # refuse timestamps further than this from now
SECRET_PREFIX = "whsec_"


class InvalidSignature(Exception):
    pass


def decode_secret(secret):
    """The HMAC key: the base64 after the whsec_ prefix."""
    if secret.startswith(SECRET_PREFIX):
        secret = secret[len(SECRET_PREFIX):]
    return base64.b64decode(secret, validate=True)


def verify(keys, headers, body, now=None):
    """Checks a request the Standard Webhooks way; raises InvalidSignature.

    body is the raw request body (bytes), exactly as received: parse JSON
    only after this passes.
    """
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not a number of seconds")
    now = time.time() if now is None else now
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        raise InvalidSignature("webhook-timestamp is more than 5 minutes from now")
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = [
        base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in keys
    ]
    # The header may hold several signatures, space-separated ("v1,<sig>
    # v1,<sig>" while a secret is rotated); one match is enough.
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        for want in expected:
            if hmac.compare_digest(value, want):
                return
    raise InvalidSignature("no webhook-signature matches")


class SeenIDs:
    """The last webhook-ids received, in memory.

    A real receiver keeps them in its database, written in the same
    transaction as the event's effect, so a restart forgets nothing.
    """

    def __init__(self, size=100_000):
        self._lock = threading.Lock()
        self._ids = {}
        self._size = size

    def add(self, msg_id):
        """Records msg_id; False if it was seen before."""
        with self._lock:
            if msg_id in self._ids:
                return False
            if len(self._ids) >= self._size:
                self._ids.pop(next(iter(self._ids)))
            self._ids[msg_id] = True
            return True

    def remove(self, msg_id):
        with self._lock:
            self._ids.pop(msg_id, None)


def log(line):
    print(line, flush=True)


def process(events):
    """Your business logic goes here; this prints each event."""
    while True:
        event = events.get()
        mode = "sandbox" if event["sandbox"] else "live"
        log("received %s %s (%s, created %s): %s" % (
            event["type"], event["id"], mode, event["created_at"],
            json.dumps(event["data"], separators=(",", ":"))))


def create_app(secrets):
    keys = [decode_secret(s.strip()) for s in secrets.split(",")]
    seen = SeenIDs()
    events = queue.Queue(maxsize=1024)
    threading.Thread(target=process, args=(events,), daemon=True).start()
    app = Flask(__name__)

    @app.route(ROUTE, methods=["POST"])
    def securo_webhooks():
        # 1. The raw body: the signature covers these exact bytes.
        body = request.get_data(cache=False)
        # 2. Verify before anything else (5-minute timestamp tolerance).
        try:
            verify(keys, request.headers, body)
        except InvalidSignature as e:
            return "invalid signature: %s\n" % e, 400
        # json.loads keeps big integers exact (Python ints have no limit).
        event = json.loads(body)
        # 3. At least once: the same webhook-id may come again. Answer 2xx
        # and do nothing the second time.
        msg_id = request.headers["webhook-id"]
        if not seen.add(msg_id):
            log("duplicate %s: already received, answered 204" % msg_id)
            return "", 204
        # 4. Queue it and answer at once; a full queue answers 503 so Securo
        # retries later (and the id is forgotten so the retry is processed).
        try:
            events.put_nowait(event)
        except queue.Full:
            seen.remove(msg_id)
            return "busy\n", 503, {"Retry-After": "30"}
        return "", 204

    return app


def main():
    secret = os.environ.get("SECURO_WEBHOOK_SECRET")
    if not secret:
        sys.exit("set SECURO_WEBHOOK_SECRET to the endpoint's signing secret (whsec_...)")
    cert, key = os.environ.get("TLS_CERT_FILE"), os.environ.get("TLS_KEY_FILE")
    if bool(cert) != bool(key):
        sys.exit("set both TLS_CERT_FILE and TLS_KEY_FILE, or neither")
    host = os.environ.get("RECEIVER_HOST", "0.0.0.0")
    port = int(os.environ.get("RECEIVER_PORT", "8443"))
    app = create_app(secret)
    scheme = "https" if cert else "http"
    if not cert:
        log("no TLS_CERT_FILE: serving plain HTTP, which Securo delivers to only for sandbox endpoints")
    log("listening on %s://%s:%d%s" % (scheme, host, port, ROUTE))
    app.run(host=host, port=port, ssl_context=(cert, key) if cert else None, threaded=True)


if __name__ == "__main__":
    main()
