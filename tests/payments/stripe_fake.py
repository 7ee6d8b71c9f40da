"""The local fake Stripe for the tests (localstripe via ``payments.fakestripe``), what a
browser does with Stripe.js, and signed event payloads for what localstripe lacks."""

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parents[2]
PUBLISHABLE = "pk_test_parvis"
SECRET_A, WEBHOOK_A = "sk_test_alpha_0001", "whsec_alpha_secret"
SECRET_B, WEBHOOK_B = "sk_test_beta_0002", "whsec_beta_secret"
VISA = "4242424242424242"
DECLINED = "4000000000000341"  # the card is accepted, every charge declined
THREE_D_SECURE = "4000002760003184"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fake_stripe_server():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "payments.fakestripe", "--port",
                                str(port)], cwd=BASE_DIR, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/v1/charges", auth=(SECRET_A, ""), timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise RuntimeError("localstripe did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def browser_confirms_setup(base: str, client_secret: str, number: str = VISA) -> dict:
    """What Stripe.js's ``confirmCardSetup`` sends (the card goes to Stripe, never to us)."""
    setup_id = client_secret.split("_secret_")[0]
    response = requests.post(f"{base}/v1/setup_intents/{setup_id}/confirm", json={
        "key": PUBLISHABLE, "client_secret": client_secret, "use_stripe_sdk": True,
        "payment_method_data": {"type": "card", "card": {
            "number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}}},
        timeout=10)
    return response.json()


def browser_authenticates(base: str, client_secret: str, success: bool = True) -> dict:
    """The 3-D Secure step of ``confirmCardPayment``."""
    intent_id = client_secret.split("_secret_")[0]
    response = requests.post(
        f"{base}/v1/payment_intents/{intent_id}/_authenticate?success={str(success).lower()}",
        json={"key": PUBLISHABLE, "client_secret": client_secret}, timeout=10)
    return response.json()


def signed(event: dict, secret: str, *, timestamp: int | None = None) -> tuple[bytes, str]:
    """An event body and its ``Stripe-Signature`` header, as Stripe signs them."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"%d.%s" % (timestamp, payload),
                      hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={digest}"


def event(event_type: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {"id": event_id or f"evt_{event_type.replace('.', '_')}_{obj.get('id', '')}",
            "object": "event", "type": event_type, "created": int(time.time()),
            "livemode": False, "data": {"object": obj}}
