"""Razorpay payments: the platform's side (checkout, settlement, refunds, holds, webhook) and, apart in
`web.payments.sandbox`, the local Razorpay sandbox it can talk to instead of the real service."""
