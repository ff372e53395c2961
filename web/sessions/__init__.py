"""Sessions: what a mentor creates, edits and cancels, how sessions are listed and shown, and the rules of
time applied to a stored session (timing.py over models.rules)."""
