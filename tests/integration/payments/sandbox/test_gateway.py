"""PaymentGateway (the official SDK) against the Razorpay sandbox on a real loopback port."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from models.clock import ManualClock
from tests.integration.payments.sandbox.support import (
    KEY_ID,
    KEY_SECRET,
    RETRY_DELAYS,
    WEBHOOK_SECRET,
    WebhookReceiver,
    basic_auth_header,
)
from web.payments.gateway import PaymentGateway, PaymentGatewayError
from web.payments.sandbox.app import create_sandbox_app
from web.payments.sandbox.ledger import SandboxError
from web.payments.sandbox.server import SandboxServer, start_sandbox
from web.payments.sandbox.service import RazorpaySandbox


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def new_order(gateway: PaymentGateway, amount: int = 50_000, **notes: str) -> dict[str, Any]:
    return await gateway.create_order(amount, "INR", "booking-42", notes or {"booking_id": "42"})


# orders


async def test_create_and_fetch_order(gateway: PaymentGateway, clock: ManualClock) -> None:
    clock.advance(timedelta(minutes=3))
    order = await gateway.create_order(49_900, "INR", "booking-7", {"booking_id": "7", "learner": "asha"})

    assert order["id"].startswith("order_") and len(order["id"]) == len("order_") + 14
    assert order["entity"] == "order"
    assert order["status"] == "created"
    assert (order["amount"], order["amount_paid"], order["amount_due"]) == (49_900, 0, 49_900)
    assert order["currency"] == "INR"
    assert order["receipt"] == "booking-7"
    assert order["notes"] == {"booking_id": "7", "learner": "asha"}
    assert order["attempts"] == 0
    assert order["created_at"] == int(clock.now().timestamp())
    assert await gateway.fetch_order(order["id"]) == order
    assert await gateway.order_payments(order["id"]) == []


async def test_order_ids_are_unique(gateway: PaymentGateway) -> None:
    orders = await asyncio.gather(*(new_order(gateway) for _ in range(10)))
    assert len({order["id"] for order in orders}) == 10


async def test_empty_notes_come_back_as_razorpay_sends_them(gateway: PaymentGateway) -> None:
    order = await gateway.create_order(10_000, "INR", "r-1", None)
    assert order["notes"] == []


@pytest.mark.parametrize(
    ("amount", "currency", "receipt", "notes", "message"),
    [
        (99, "INR", "r", {}, "Order amount less than minimum amount allowed"),
        (0, "INR", "r", {}, "Order amount less than minimum amount allowed"),
        (100.5, "INR", "r", {}, "The amount must be an integer."),
        ("abc", "INR", "r", {}, "The amount must be an integer."),
        (1000, "XYZ", "r", {}, "The selected currency is invalid."),
        (1000, "", "r", {}, "The currency field is required."),
        (1000, "INR", "r" * 41, {}, "The receipt may not be greater than 40 characters."),
        (1000, "INR", "r", {f"k{i}": "v" for i in range(16)},
         "Number of fields in notes should be less than or equal to 15"),
        (1000, "INR", "r", {"k": "v" * 257}, "The notes.k may not be greater than 256 characters."),
    ],
)
async def test_order_validation_errors_reach_the_caller(
    gateway: PaymentGateway, amount: Any, currency: str, receipt: str, notes: dict[str, str], message: str
) -> None:
    with pytest.raises(PaymentGatewayError) as caught:
        await gateway.create_order(amount, currency, receipt, notes)
    assert caught.value.code == "BAD_REQUEST_ERROR"
    assert caught.value.message == message
    assert str(caught.value) == message


async def test_boundaries_are_accepted(gateway: PaymentGateway) -> None:
    order = await gateway.create_order(100, "INR", "r" * 40, {f"k{i}": "v" * 256 for i in range(15)})
    assert order["amount"] == 100
    assert len(order["notes"]) == 15


async def test_unknown_ids_are_bad_requests(gateway: PaymentGateway) -> None:
    for call in (gateway.fetch_order("order_DoesNotExist00"), gateway.fetch_payment("pay_DoesNotExist000"),
                 gateway.fetch_refund("rfnd_DoesNotExist00"), gateway.order_payments("order_Nope")):
        with pytest.raises(PaymentGatewayError, match="The id provided does not exist") as caught:
            await call
        assert caught.value.code == "BAD_REQUEST_ERROR"


async def test_unexpected_field_is_refused(sandbox_server: SandboxServer) -> None:
    async with aiohttp.ClientSession(headers=basic_auth_header()) as http:
        async with http.post(f"{sandbox_server.url}/v1/orders",
                             json={"amount": 1000, "currency": "INR", "colour": "red"}) as reply:
            assert reply.status == 400
            body = await reply.json()
    assert body["error"]["code"] == "BAD_REQUEST_ERROR"
    assert body["error"]["description"] == "colour is/are not required and should not be sent"


# authentication


@pytest.mark.parametrize(
    ("key_id", "key_secret", "message"),
    [
        (KEY_ID, "wrong-secret", "Authentication failed"),
        ("rzp_test_SomebodyElse1", KEY_SECRET, "The api key provided is invalid"),
    ],
)
async def test_bad_credentials_are_refused(sandbox_server: SandboxServer, key_id: str, key_secret: str,
                                           message: str) -> None:
    intruder = PaymentGateway(key_id=key_id, key_secret=key_secret, webhook_secret=WEBHOOK_SECRET,
                              base_url=sandbox_server.url, timeout=5.0)
    with pytest.raises(PaymentGatewayError, match=message) as caught:
        await intruder.create_order(1000, "INR", "r", {})
    assert caught.value.code == "BAD_REQUEST_ERROR"
    assert sandbox_server.sandbox.ledger.orders == {}


async def test_missing_credentials_get_401_in_razorpay_format(sandbox_server: SandboxServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox_server.url}/v1/orders/order_Anything0000") as reply:
            assert reply.status == 401
            body = await reply.json()
    assert body["error"]["code"] == "BAD_REQUEST_ERROR"
    assert body["error"]["description"] == "Please provide your api key for authentication purposes."


async def test_unreachable_gateway_is_a_network_error(sandbox_server: SandboxServer) -> None:
    url = sandbox_server.url
    await sandbox_server.close()
    gateway = PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                             base_url=url, timeout=2.0)
    with pytest.raises(PaymentGatewayError) as caught:
        await gateway.fetch_order("order_Anything0000")
    assert caught.value.code == "NETWORK_ERROR"


# payments


async def test_pay_order_gives_a_signature_the_gateway_verifies(gateway: PaymentGateway,
                                                                sandbox: RazorpaySandbox) -> None:
    order = await new_order(gateway)
    fields = await sandbox.pay_order(order["id"])

    assert set(fields) == {"razorpay_payment_id", "razorpay_order_id", "razorpay_signature"}
    assert fields["razorpay_order_id"] == order["id"]
    assert fields["razorpay_payment_id"].startswith("pay_")
    expected = hmac_hex(KEY_SECRET, f"{order['id']}|{fields['razorpay_payment_id']}".encode())
    assert fields["razorpay_signature"] == expected
    assert gateway.verify_payment_signature(order["id"], fields["razorpay_payment_id"],
                                            fields["razorpay_signature"])

    other = await new_order(gateway)
    assert not gateway.verify_payment_signature(other["id"], fields["razorpay_payment_id"],
                                                fields["razorpay_signature"])

    paid = await gateway.fetch_order(order["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"], paid["attempts"]) == ("paid", 50_000, 0, 1)
    payment = await gateway.fetch_payment(fields["razorpay_payment_id"])
    assert (payment["status"], payment["captured"], payment["order_id"]) == ("captured", True, order["id"])
    assert payment["amount"] == 50_000 and payment["notes"] == {"booking_id": "42"}
    assert [p["id"] for p in await gateway.order_payments(order["id"])] == [payment["id"]]


async def test_paid_order_takes_no_second_payment(gateway: PaymentGateway, sandbox: RazorpaySandbox,
                                                 sandbox_server: SandboxServer) -> None:
    order = await new_order(gateway)
    await sandbox.pay_order(order["id"])

    with pytest.raises(SandboxError, match="Order has already been paid"):
        await sandbox.pay_order(order["id"])
    with pytest.raises(SandboxError, match="Order has already been paid"):
        await sandbox.fail_order(order["id"])
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox_server.url}/sandbox/checkout/{order['id']}/pay",
                             json={"key": KEY_ID}) as reply:
            assert reply.status == 400
            assert (await reply.json())["error"]["description"] == "Order has already been paid"
    assert len(await gateway.order_payments(order["id"])) == 1


async def test_failed_attempt_then_success(gateway: PaymentGateway, sandbox: RazorpaySandbox) -> None:
    order = await new_order(gateway)
    error = await sandbox.fail_order(order["id"])

    assert error["code"] == "BAD_REQUEST_ERROR"
    assert error["source"] == "bank" and error["step"] == "payment_authorization"
    assert error["reason"] == "payment_failed" and error["description"]
    assert error["metadata"]["order_id"] == order["id"]
    failed = await gateway.fetch_payment(error["metadata"]["payment_id"])
    assert failed["status"] == "failed" and failed["error_reason"] == "payment_failed"
    assert (await gateway.fetch_order(order["id"]))["status"] == "attempted"

    fields = await sandbox.pay_order(order["id"])
    statuses = [(p["id"], p["status"]) for p in await gateway.order_payments(order["id"])]
    assert statuses == [(failed["id"], "failed"), (fields["razorpay_payment_id"], "captured")]
    order_now = await gateway.fetch_order(order["id"])
    assert (order_now["status"], order_now["attempts"]) == ("paid", 2)


async def test_manual_capture_order(gateway: PaymentGateway, sandbox: RazorpaySandbox) -> None:
    order = sandbox.create_order({"amount": 20_000, "currency": "INR", "payment_capture": 0})
    fields = await sandbox.pay_order(order["id"])
    payment_id = fields["razorpay_payment_id"]

    assert (await gateway.fetch_payment(payment_id))["status"] == "authorized"
    assert (await gateway.fetch_order(order["id"]))["status"] == "attempted"
    with pytest.raises(SandboxError, match="already authorized"):
        await sandbox.pay_order(order["id"])
    with pytest.raises(PaymentGatewayError, match="should be captured"):
        await gateway.refund(payment_id)
    with pytest.raises(PaymentGatewayError, match="equal to the amount authorized"):
        await gateway.capture(payment_id, 10_000, "INR")

    captured = await gateway.capture(payment_id, 20_000, "INR")
    assert (captured["status"], captured["captured"]) == ("captured", True)
    assert (await gateway.fetch_order(order["id"]))["status"] == "paid"
    with pytest.raises(PaymentGatewayError, match="already been captured"):
        await gateway.capture(payment_id, 20_000, "INR")


# refunds


async def test_refund_only_on_captured_payments(gateway: PaymentGateway, sandbox: RazorpaySandbox) -> None:
    order = await new_order(gateway)
    error = await sandbox.fail_order(order["id"])
    with pytest.raises(PaymentGatewayError) as caught:
        await gateway.refund(error["metadata"]["payment_id"], 1_000)
    assert caught.value.code == "BAD_REQUEST_ERROR"
    assert caught.value.message == "The payment status should be captured for action to be taken"
    assert sandbox.ledger.refunds == {}


async def test_refund_states_partial_then_full(gateway: PaymentGateway, sandbox: RazorpaySandbox) -> None:
    order = await new_order(gateway, amount=10_000)
    payment_id = (await sandbox.pay_order(order["id"]))["razorpay_payment_id"]

    with pytest.raises(PaymentGatewayError, match="greater than amount captured"):
        await gateway.refund(payment_id, 10_001)
    with pytest.raises(PaymentGatewayError, match=r"atleast INR 1\.00"):
        await gateway.refund(payment_id, 99)

    partial = await gateway.refund(payment_id, 3_000, {"reason": "mentor cancelled"})
    assert partial["id"].startswith("rfnd_")
    assert (partial["status"], partial["amount"], partial["payment_id"]) == ("pending", 3_000, payment_id)
    assert partial["notes"] == {"reason": "mentor cancelled"}
    payment = await gateway.fetch_payment(payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == ("captured", 3_000,
                                                                                          "partial")

    processed = await sandbox.process_refund(partial["id"])
    assert processed["status"] == "processed"
    assert (await gateway.fetch_refund(partial["id"]))["status"] == "processed"

    rest = await gateway.refund(payment_id)
    assert (rest["amount"], rest["status"]) == (7_000, "pending")
    payment = await gateway.fetch_payment(payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == ("refunded", 10_000,
                                                                                          "full")
    with pytest.raises(PaymentGatewayError, match="fully refunded already"):
        await gateway.refund(payment_id, 100)
    # An order stays paid after its payment is refunded, as on Razorpay.
    assert (await gateway.fetch_order(order["id"]))["status"] == "paid"


async def test_failed_refund_gives_the_amount_back(gateway: PaymentGateway, sandbox: RazorpaySandbox) -> None:
    order = await new_order(gateway, amount=5_000)
    payment_id = (await sandbox.pay_order(order["id"]))["razorpay_payment_id"]
    refund = await gateway.refund(payment_id)
    assert (await gateway.fetch_payment(payment_id))["status"] == "refunded"

    assert (await sandbox.fail_refund(refund["id"]))["status"] == "failed"
    payment = await gateway.fetch_payment(payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == ("captured", 0, None)
    with pytest.raises(SandboxError, match="already failed"):
        await sandbox.process_refund(refund["id"])


async def test_refunds_settle_by_themselves_after_the_delay(webhook_receiver: WebhookReceiver) -> None:
    async with await start_sandbox(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                   webhook_url=webhook_receiver.url, refund_delay=0.05) as server:
        gateway = PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                 base_url=server.url, timeout=5.0)
        order = await new_order(gateway)
        payment_id = (await server.sandbox.pay_order(order["id"]))["razorpay_payment_id"]
        refund = await gateway.refund(payment_id, 1_000)
        assert refund["status"] == "pending"
        deadline = time.monotonic() + 5
        while (await gateway.fetch_refund(refund["id"]))["status"] == "pending":
            assert time.monotonic() < deadline, "refund never processed"
            await asyncio.sleep(0.02)
        assert (await gateway.fetch_refund(refund["id"]))["status"] == "processed"
        await server.sandbox.webhooks.drain()
        assert [d.event for d in server.sandbox.outbox][-2:] == ["refund.created", "refund.processed"]


# webhooks


async def test_webhooks_are_signed_and_delivered(gateway: PaymentGateway, sandbox: RazorpaySandbox,
                                                 webhook_receiver: WebhookReceiver) -> None:
    order = await new_order(gateway)
    fields = await sandbox.pay_order(order["id"])
    received = await webhook_receiver.wait_for(3)
    await sandbox.webhooks.drain()

    events = {}
    for hook in received:
        signature = hook.headers["X-Razorpay-Signature"]
        assert signature == hmac_hex(WEBHOOK_SECRET, hook.body)
        assert gateway.verify_webhook_signature(hook.body, signature)
        assert hook.headers["Content-Type"] == "application/json"
        payload = json.loads(hook.body)
        assert payload["entity"] == "event"
        events[payload["event"]] = (hook.headers["X-Razorpay-Event-Id"], payload)
    assert set(events) == {"payment.authorized", "payment.captured", "order.paid"}

    authorized = events["payment.authorized"][1]
    assert authorized["contains"] == ["payment"]
    # Each payload is a snapshot from when its event happened.
    assert authorized["payload"]["payment"]["entity"]["status"] == "authorized"
    captured = events["payment.captured"][1]["payload"]["payment"]["entity"]
    assert (captured["id"], captured["status"], captured["order_id"]) == (
        fields["razorpay_payment_id"], "captured", order["id"])
    paid = events["order.paid"][1]
    assert paid["contains"] == ["payment", "order"]
    assert paid["payload"]["order"]["entity"]["status"] == "paid"

    event_ids = [event_id for event_id, _ in events.values()]
    assert len(set(event_ids)) == 3
    assert {d.event_id for d in sandbox.outbox} == set(event_ids)
    assert all(d.state == "delivered" for d in sandbox.outbox)


async def test_failure_and_refund_events(gateway: PaymentGateway, sandbox: RazorpaySandbox,
                                         webhook_receiver: WebhookReceiver) -> None:
    order = await new_order(gateway)
    error = await sandbox.fail_order(order["id"])
    payment_id = (await sandbox.pay_order(order["id"]))["razorpay_payment_id"]
    refund = await gateway.refund(payment_id, 2_000)
    await sandbox.process_refund(refund["id"])
    await webhook_receiver.wait_for(6)
    await sandbox.webhooks.drain()

    by_event = {d.event: d.payload for d in sandbox.outbox}
    assert set(by_event) == {"payment.failed", "payment.authorized", "payment.captured", "order.paid",
                             "refund.created", "refund.processed"}
    assert by_event["payment.failed"]["payload"]["payment"]["entity"]["id"] == error["metadata"]["payment_id"]
    assert by_event["refund.created"]["contains"] == ["refund", "payment"]
    assert by_event["refund.created"]["payload"]["refund"]["entity"]["status"] == "pending"
    assert by_event["refund.processed"]["payload"]["refund"]["entity"]["status"] == "processed"
    assert by_event["refund.processed"]["payload"]["payment"]["entity"]["amount_refunded"] == 2_000
    ids = [hook.headers["X-Razorpay-Event-Id"] for hook in webhook_receiver.received]
    assert len(ids) == len(set(ids)) == 6


async def test_webhook_is_retried_on_500(gateway: PaymentGateway, sandbox: RazorpaySandbox,
                                         webhook_receiver: WebhookReceiver) -> None:
    order = await new_order(gateway)
    webhook_receiver.failures_left = 2
    await sandbox.fail_order(order["id"])
    await sandbox.webhooks.drain()

    received = webhook_receiver.received
    assert [hook.status for hook in received] == [500, 500, 200]
    # A retry is the same event: same id, same bytes, same signature.
    assert len({hook.headers["X-Razorpay-Event-Id"] for hook in received}) == 1
    assert len({hook.body for hook in received}) == 1
    assert len({hook.headers["X-Razorpay-Signature"] for hook in received}) == 1
    (delivery,) = sandbox.outbox
    assert delivery.state == "delivered"
    assert [attempt.status for attempt in delivery.attempts] == [500, 500, 200]


async def test_webhook_retries_are_bounded(gateway: PaymentGateway, sandbox: RazorpaySandbox,
                                           webhook_receiver: WebhookReceiver) -> None:
    order = await new_order(gateway)
    webhook_receiver.failures_left = 1_000
    await sandbox.fail_order(order["id"])
    await sandbox.webhooks.drain()

    assert len(webhook_receiver.received) == 1 + len(RETRY_DELAYS)
    (delivery,) = sandbox.outbox
    assert delivery.state == "failed"


async def test_slow_receiver_does_not_delay_api_replies(gateway: PaymentGateway, sandbox_server: SandboxServer,
                                                        webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.delay = 1.0
    order = await new_order(gateway)
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.post(f"{sandbox_server.url}/sandbox/checkout/{order['id']}/pay",
                             json={"key": KEY_ID}) as reply:
            assert reply.status == 200
        assert time.monotonic() - started < 0.5
    assert webhook_receiver.received == []
    await sandbox_server.sandbox.webhooks.drain()
    assert len(webhook_receiver.received) == 3


async def test_held_webhooks_are_released_in_any_order_and_replayed(
    gateway: PaymentGateway, sandbox: RazorpaySandbox, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.webhooks.hold = True
    order = await new_order(gateway)
    await sandbox.pay_order(order["id"])
    await asyncio.sleep(0.05)
    assert webhook_receiver.received == []
    assert [d.state for d in sandbox.outbox] == ["held", "held", "held"]

    newest_first = [d.event_id for d in reversed(sandbox.outbox)]
    await sandbox.webhooks.release(*newest_first)
    assert [hook.headers["X-Razorpay-Event-Id"] for hook in webhook_receiver.received] == newest_first
    assert [json.loads(hook.body)["event"] for hook in webhook_receiver.received] == [
        "order.paid", "payment.captured", "payment.authorized"]

    replayed = await sandbox.webhooks.replay(newest_first[0])
    assert replayed.state == "delivered"
    last = webhook_receiver.received[-1]
    assert last.headers["X-Razorpay-Event-Id"] == newest_first[0]
    assert last.body == webhook_receiver.received[0].body
    with pytest.raises(ValueError, match="not held"):
        await sandbox.webhooks.release(newest_first[0])


async def test_without_a_webhook_url_events_stay_in_the_outbox(clock: ManualClock) -> None:
    async with await start_sandbox(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                   clock=clock) as server:
        order = server.sandbox.create_order({"amount": 1_000, "currency": "INR"})
        await server.sandbox.fail_order(order["id"])
        await server.sandbox.webhooks.drain()
        assert [(d.event, d.state) for d in server.sandbox.outbox] == [("payment.failed", "no_url")]


async def test_webhook_url_getter_is_read_at_delivery(webhook_receiver: WebhookReceiver) -> None:
    target: dict[str, str | None] = {"url": None}
    async with await start_sandbox(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                   webhook_url_getter=lambda: target["url"], hold_webhooks=True) as server:
        order = server.sandbox.create_order({"amount": 1_000, "currency": "INR"})
        await server.sandbox.fail_order(order["id"])
        target["url"] = webhook_receiver.url
        await server.sandbox.webhooks.release()
        assert len(webhook_receiver.received) == 1


# checkout imitation


async def test_checkout_page_and_actions(gateway: PaymentGateway, sandbox_server: SandboxServer) -> None:
    order = await new_order(gateway)
    base = f"{sandbox_server.url}/sandbox/checkout/{order['id']}"
    async with aiohttp.ClientSession() as http:
        async with http.get(base, params={"key": KEY_ID, "origin": "http://127.0.0.1:8080",
                                          "name": "MentorLive <b>", "description": "Intro to Rust"}) as reply:
            assert reply.status == 200
            page = await reply.text()
        for element_id in ("sandbox-pay", "sandbox-fail", "sandbox-dismiss"):
            assert f'id="{element_id}"' in page
        assert order["id"] in page and "₹500.00" in page
        assert "MentorLive &lt;b&gt;" in page and "<b>" not in page
        assert "disabled" not in page.split('id="sandbox-pay"')[1].split(">")[0]

        async with http.post(f"{base}/fail", json={"key": KEY_ID}) as reply:
            assert reply.status == 200
            error = (await reply.json())["error"]
        assert error["metadata"]["order_id"] == order["id"]
        assert error["metadata"]["payment_id"].startswith("pay_")

        async with http.post(f"{base}/pay", json={"key": "rzp_test_wrong"}) as reply:
            assert reply.status == 401
        async with http.post(f"{base}/pay", json={"key": KEY_ID, "email": "a@b.in"}) as reply:
            assert reply.status == 200
            fields = await reply.json()
        assert gateway.verify_payment_signature(order["id"], fields["razorpay_payment_id"],
                                                fields["razorpay_signature"])
        assert (await gateway.fetch_payment(fields["razorpay_payment_id"]))["email"] == "a@b.in"

        async with http.get(base, params={"key": KEY_ID}) as reply:
            paid_page = await reply.text()
        assert "Order has already been paid" in paid_page
        assert "disabled" in paid_page.split('id="sandbox-pay"')[1].split(">")[0]

        async with http.get(f"{sandbox_server.url}/sandbox/checkout/order_Unknown000000",
                            params={"key": KEY_ID}) as reply:
            assert reply.status == 404
            assert "The id provided does not exist" in await reply.text()


async def test_checkout_page_refuses_a_wrong_key(gateway: PaymentGateway, sandbox_server: SandboxServer) -> None:
    order = await new_order(gateway)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox_server.url}/sandbox/checkout/{order['id']}",
                            params={"key": "rzp_test_wrong"}) as reply:
            page = await reply.text()
    assert "The api key provided is invalid" in page
    assert "disabled" in page.split('id="sandbox-pay"')[1].split(">")[0]


async def test_checkout_js_is_served(sandbox_server: SandboxServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox_server.checkout_js_url) as reply:
            assert reply.status == 200
            assert reply.content_type == "application/javascript"
            script = await reply.text()
    assert "window.Razorpay = Razorpay" in script
    assert "payment.failed" in script


# routing


async def test_unknown_api_path_answers_in_razorpay_format(sandbox_server: SandboxServer) -> None:
    async with aiohttp.ClientSession(headers=basic_auth_header()) as http:
        async with http.get(f"{sandbox_server.url}/v1/widgets") as reply:
            assert reply.status == 400
            body = await reply.json()
        assert body["error"]["description"] == "The requested URL was not found on the server."
        async with http.delete(f"{sandbox_server.url}/v1/orders") as reply:
            assert reply.status == 405
            assert (await reply.json())["error"]["code"] == "BAD_REQUEST_ERROR"
    async with aiohttp.ClientSession() as http, http.get(f"{sandbox_server.url}/v1/widgets") as reply:
        assert reply.status == 401


async def test_sandbox_mounted_under_a_prefix(clock: ManualClock) -> None:
    host = web.Application()
    host.add_subapp("/razorpay", create_sandbox_app(key_id=KEY_ID, key_secret=KEY_SECRET,
                                                    webhook_secret=WEBHOOK_SECRET, clock=clock))
    runner = web.AppRunner(host, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        address, port = runner.addresses[0][:2]
        base = f"http://{address}:{port}/razorpay"
        gateway = PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                 base_url=base, timeout=5.0)
        order = await new_order(gateway)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/sandbox/checkout/{order['id']}", params={"key": KEY_ID}) as reply:
                page = await reply.text()
            # The page posts to a URL relative to itself, so it follows the prefix.
            assert f'"action_base": "{order["id"]}"' in page
            async with http.post(f"{base}/sandbox/checkout/{order['id']}/pay", json={"key": KEY_ID}) as reply:
                fields = await reply.json()
        assert gateway.verify_payment_signature(order["id"], fields["razorpay_payment_id"],
                                                fields["razorpay_signature"])
        assert (await gateway.fetch_order(order["id"]))["status"] == "paid"
    finally:
        await runner.cleanup()


async def test_timeout_and_unreadable_replies_become_gateway_errors() -> None:
    # A real misbehaving server: one route that hangs, one that answers like a proxy's error page.
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    async def proxy_page(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/v1/orders/{id}", hang)
    app.router.add_get("/v1/payments/{id}", proxy_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        address, port = runner.addresses[0][:2]
        gateway = PaymentGateway(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET,
                                 base_url=f"http://{address}:{port}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(PaymentGatewayError) as caught:
            await gateway.fetch_order("order_Hangs000000000")
        assert caught.value.code == "TIMEOUT"
        assert time.monotonic() - started < 3
        with pytest.raises(PaymentGatewayError) as caught:
            await gateway.fetch_payment("pay_ProxyPage000000")
        assert caught.value.code == "BAD_RESPONSE"
    finally:
        release.set()
        await runner.cleanup()
