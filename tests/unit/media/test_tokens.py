from datetime import UTC, datetime, timedelta

import pytest

from media_server import TokenError, TokenExpired, sign_join_token, verify_join_token

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def make(**kw: object) -> str:
    args: dict[str, object] = dict(user_id=7, name="Asha", role="mentor", room="abc", node="local",
                                   record=True, ttl_seconds=300, now=NOW)
    args.update(kw)
    return sign_join_token("secret", **args)  # type: ignore[arg-type]


def test_round_trip_keeps_every_claim() -> None:
    claims = verify_join_token("secret", make(), NOW + timedelta(seconds=10))
    assert (claims.user_id, claims.name, claims.role, claims.room, claims.node, claims.record) == (
        "7", "Asha", "mentor", "abc", "local", True)
    assert claims.expires_at == NOW + timedelta(seconds=300)
    assert claims.is_host


def test_expired_token_is_refused_unless_allowed() -> None:
    token = make()
    with pytest.raises(TokenExpired):
        verify_join_token("secret", token, NOW + timedelta(seconds=300))
    assert verify_join_token("secret", token, NOW + timedelta(days=1), allow_expired=True).room == "abc"


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace(".", ".x", 1),
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "e30." + t.split(".")[1],
    lambda t: "not-a-token",
    lambda t: "",
])
def test_tampered_tokens_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TokenError):
        verify_join_token("secret", mangle(make()), NOW)


def test_other_secret_is_refused() -> None:
    with pytest.raises(TokenError):
        verify_join_token("other", make(), NOW)


def test_unknown_role_cannot_be_signed() -> None:
    with pytest.raises(ValueError):
        make(role="root")
