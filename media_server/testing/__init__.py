"""Test and benchmark aids: a Python /rtc client, synthetic encoded clips, a codec-use
counter and packet-loss injection. The server never imports this package."""
