"""The local Razorpay sandbox: orders, payments, refunds, a Checkout imitation and signed webhooks.

A separate product from the platform's payments: it imports nothing of `web` but the signature
helper (`web.payments.signatures`), so it could be lifted out as it is."""
