"""Email: booking confirmations with calendar invites, reminders, cancellations, refunds, and any domain's
"email this user" (`email_user`). Sent by the durable `send_email` job, never on the request path;
without `[email] host` nothing is queued and nothing fails."""
