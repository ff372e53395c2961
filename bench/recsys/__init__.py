"""Offline evaluation of the Recommended tab's model (issue 15): `python -m bench.recsys`."""
