"""Payment and webhook signatures: the gateway (through the SDK) and the sandbox's signer agree
with Razorpay's documented formula, computed here with hmac directly."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from web.payments.gateway import PaymentGateway
from web.payments.signatures import payment_signature, webhook_signature

KEY_ID = "rzp_test_Signatures0001"
KEY_SECRET = "test_secret_key"
WEBHOOK_SECRET = "whsec_example"
ORDER_ID = "order_IEIaMR65cu6nz3"
PAYMENT_ID = "pay_IH4NVgf4Dreq1l"
BODY = b'{"entity":"event","event":"payment.captured"}'


def documented_payment_signature(order_id: str, payment_id: str, secret: str) -> str:
    # Razorpay: generated_signature = hmac_sha256(order_id + "|" + razorpay_payment_id, secret)
    return hmac.new(secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


def documented_webhook_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def tampered(signature: str) -> str:
    last = "0" if signature[-1] != "0" else "1"
    return signature[:-1] + last


@pytest.fixture
def gateway() -> PaymentGateway:
    # Verification is local: no base_url is contacted.
    return PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET)


def test_fixed_vectors() -> None:
    # Pinned so that a change to the formula on both sides at once still fails a test.
    assert documented_payment_signature(ORDER_ID, PAYMENT_ID, KEY_SECRET) == (
        "dce65dd7f382cc5ab097f75e210fc49ae476d28d482aed4406f1988e5471708e")
    assert documented_webhook_signature(BODY, WEBHOOK_SECRET) == (
        "e104d12a33fd6964484d83b96ec462fc1af117cf7fcc90831ef350eec1b0e561")


def test_sandbox_signs_with_the_documented_formula() -> None:
    assert payment_signature(ORDER_ID, PAYMENT_ID, KEY_SECRET) == documented_payment_signature(
        ORDER_ID, PAYMENT_ID, KEY_SECRET)
    assert webhook_signature(BODY, WEBHOOK_SECRET) == documented_webhook_signature(BODY, WEBHOOK_SECRET)


# payment signatures


def test_valid_payment_signature(gateway: PaymentGateway) -> None:
    signature = documented_payment_signature(ORDER_ID, PAYMENT_ID, KEY_SECRET)
    assert gateway.verify_payment_signature(ORDER_ID, PAYMENT_ID, signature) is True


def test_tampered_payment_signature(gateway: PaymentGateway) -> None:
    signature = documented_payment_signature(ORDER_ID, PAYMENT_ID, KEY_SECRET)
    assert gateway.verify_payment_signature(ORDER_ID, PAYMENT_ID, tampered(signature)) is False
    assert gateway.verify_payment_signature(ORDER_ID, PAYMENT_ID, signature.upper()) is False
    assert gateway.verify_payment_signature(ORDER_ID, PAYMENT_ID, signature[:-2]) is False


def test_signature_for_another_order_is_refused(gateway: PaymentGateway) -> None:
    # A browser replaying a genuine (order, payment, signature) triple against a different booking.
    signature = documented_payment_signature("order_OtherOrder0001", PAYMENT_ID, KEY_SECRET)
    assert gateway.verify_payment_signature(ORDER_ID, PAYMENT_ID, signature) is False


def test_signature_with_another_secret_is_refused(gateway: PaymentGateway) -> None:
    signature = documented_payment_signature(ORDER_ID, PAYMENT_ID, "somebody-elses-secret")
    assert gateway.verify_payment_signature(ORDER_ID, PAYMENT_ID, signature) is False


@pytest.mark.parametrize(
    ("order_id", "payment_id", "signature"),
    [
        (None, PAYMENT_ID, "sig"),
        (ORDER_ID, None, "sig"),
        (ORDER_ID, PAYMENT_ID, None),
        ("", PAYMENT_ID, "sig"),
        (ORDER_ID, "", "sig"),
        (ORDER_ID, PAYMENT_ID, ""),
        (ORDER_ID, PAYMENT_ID, 12345),
    ],
)
def test_missing_fields_are_refused(gateway: PaymentGateway, order_id: object, payment_id: object,
                                    signature: object) -> None:
    real = documented_payment_signature(ORDER_ID, PAYMENT_ID, KEY_SECRET)
    sig = real if signature == "sig" else signature
    assert gateway.verify_payment_signature(order_id, payment_id, sig) is False  # type: ignore[arg-type]


def test_non_ascii_signature_is_refused_not_raised(gateway: PaymentGateway) -> None:
    assert gateway.verify_payment_signature(ORDER_ID, PAYMENT_ID, "é" * 64) is False


# webhook signatures


def test_valid_webhook_signature(gateway: PaymentGateway) -> None:
    assert gateway.verify_webhook_signature(BODY, documented_webhook_signature(BODY, WEBHOOK_SECRET)) is True


def test_tampered_webhook(gateway: PaymentGateway) -> None:
    signature = documented_webhook_signature(BODY, WEBHOOK_SECRET)
    assert gateway.verify_webhook_signature(BODY, tampered(signature)) is False
    assert gateway.verify_webhook_signature(BODY.replace(b"captured", b"failed"), signature) is False


def test_reserialized_body_breaks_the_signature(gateway: PaymentGateway) -> None:
    signature = documented_webhook_signature(BODY, WEBHOOK_SECRET)
    reserialized = json.dumps(json.loads(BODY)).encode()
    assert reserialized != BODY
    assert gateway.verify_webhook_signature(reserialized, signature) is False


def test_webhook_signed_with_the_key_secret_is_refused(gateway: PaymentGateway) -> None:
    assert gateway.verify_webhook_signature(BODY, documented_webhook_signature(BODY, KEY_SECRET)) is False


@pytest.mark.parametrize("signature", [None, ""])
def test_missing_webhook_signature(gateway: PaymentGateway, signature: str | None) -> None:
    assert gateway.verify_webhook_signature(BODY, signature) is False


def test_non_utf8_body_is_refused(gateway: PaymentGateway) -> None:
    body = b"\xff\xfe{}"
    assert gateway.verify_webhook_signature(body, documented_webhook_signature(body, WEBHOOK_SECRET)) is False


def test_utf8_body_verifies_on_its_exact_bytes(gateway: PaymentGateway) -> None:
    body = '{"notes":{"mentor":"Zoë Ñandú"}}'.encode()
    assert gateway.verify_webhook_signature(body, documented_webhook_signature(body, WEBHOOK_SECRET)) is True


def test_empty_webhook_secret_verifies_nothing() -> None:
    careless = PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret="")
    assert careless.verify_webhook_signature(BODY, documented_webhook_signature(BODY, "")) is False
