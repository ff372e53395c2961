"""The same app, sandbox and `Shop` helpers as payments/flow: one definition, shared."""

from tests.integration.payments.flow.conftest import config, shop

__all__ = ["config", "shop"]
