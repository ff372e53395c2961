"""The same app, sandbox and `Shop` helpers as payments_flow: one definition, shared."""

from tests.integration.payments_flow.conftest import config, shop

__all__ = ["config", "shop"]
