"""Pure checks: field validation, password hashing, role routing, settings overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.accounts import signup as signup_steps
from web.accounts.passwords import Passwords, fast_test_hasher
from web.accounts.service import dashboard_for, landing_for, safe_next
from web.config import ConfigError, load_config
from web.errors import ApiError
from web.http import fields as v


@pytest.mark.parametrize("email", ["a@b.co", "first.last+tag@sub.example.org"])
def test_valid_emails_are_lowercased(email: str) -> None:
    assert v.email({"email": email.upper()}) == email.lower()


@pytest.mark.parametrize("email", ["", "plain", "a@b", "a@@b.com", "a b@c.com", "@example.com"])
def test_invalid_emails_name_the_field(email: str) -> None:
    with pytest.raises(ApiError) as info:
        v.email({"email": email})
    assert info.value.status == 400
    assert info.value.field == "email"


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short1", "at least 8"), ("lettersonly", "letters and numbers"), ("12345678", "letters and numbers"),
     ("x" * 120 + "1" * 9, "at most 128")],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    with pytest.raises(ApiError) as info:
        v.password({"password": password})
    assert reason in info.value.message


def test_password_equal_to_email_is_refused() -> None:
    with pytest.raises(ApiError):
        v.password({"password": "ab12@x.io"}, email_value="AB12@x.io")


def test_tags_are_normalised_deduplicated_and_bounded() -> None:
    assert v.tags({"t": [" Python ", "python", "System   Design"]}, "t") == ["python", "system design"]
    with pytest.raises(ApiError):
        v.tags({"t": [f"tag{i}" for i in range(11)]}, "t")
    with pytest.raises(ApiError):
        v.tags({"t": ["<script>"]}, "t")


def test_integer_rejects_booleans_fractions_and_out_of_range() -> None:
    for bad in (True, 1.5, "x", 61):
        with pytest.raises(ApiError):
            v.integer({"n": bad}, "n", low=0, high=60)
    assert v.integer({"n": "7"}, "n", low=0, high=60) == 7


def test_argon2_hashes_verify_and_differ_per_salt() -> None:
    passwords = fast_test_hasher()
    first, second = passwords.hash("s3cret-pass"), passwords.hash("s3cret-pass")
    assert first != second and first.startswith("$argon2id$")
    assert passwords.verify(first, "s3cret-pass")
    assert not passwords.verify(first, "s3cret-pasS")
    assert not passwords.verify("not-a-hash", "s3cret-pass")


def test_production_hasher_uses_argon2id_defaults() -> None:
    assert Passwords().hash("abc12345").startswith("$argon2id$v=19$m=65536")


def test_wizards_have_four_and_five_steps() -> None:
    assert [s.key for s in signup_steps.LEARNER_STEPS] == ["account", "profile", "interests", "goals"]
    assert [s.key for s in signup_steps.MENTOR_STEPS] == ["account", "profile", "expertise", "defaults", "payout"]


def test_payout_account_is_masked() -> None:
    assert signup_steps.mask("123456789012") == "••••••••9012"


def test_role_routing() -> None:
    assert dashboard_for("learner") == "/dashboard/learner"
    assert dashboard_for("mentor") == "/dashboard/mentor"
    assert dashboard_for("admin") == "/dashboard/admin"
    assert landing_for("learner", "/dashboard/learner?book=3") == "/dashboard/learner?book=3"
    assert landing_for("mentor", "/dashboard/learner?book=3") == "/dashboard/mentor"
    assert landing_for("admin", "/session/abc/") == "/session/abc/"
    for evil in ("//evil.com", "https://evil.com", "/\\evil.com", None, 5):
        assert safe_next(evil) is None


def test_environment_overrides_config_with_the_defaults_type(tmp_path: Path) -> None:
    config = load_config(environ={
        "MENTORLIVE_WEB_PORT": "9001", "MENTORLIVE_MEDIA_ICE_HOSTS": "127.0.0.1, 10.0.0.5",
        "MENTORLIVE_DATABASE_ECHO": "true", "MENTORLIVE_DATABASE_URL": "postgresql+asyncpg://u@h/db",
    })
    assert config.int("web", "port") == 9001
    assert config.list("media", "ice_hosts") == ["127.0.0.1", "10.0.0.5"]
    assert config.bool("database", "echo") is True
    assert config.database_url == "postgresql+asyncpg://u@h/db"
    with pytest.raises(ConfigError):
        load_config(environ={"MENTORLIVE_WEB_PORT": "eighty"})


def test_relative_sqlite_path_is_anchored_at_the_project() -> None:
    config = load_config(environ={})
    assert config.database_url.endswith("/var/mentorlive.db")
    assert config.database_url.startswith("sqlite+aiosqlite:////")
