"""Accounts: signup wizards, login (with its throttle), passwords, who a user is and a mentor's public profile."""
