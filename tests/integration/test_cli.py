"""The `mentorlive` commands a new user and an operator run, as real processes."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlmodel import select

from models.db import Database
from models.tables import MentorSession, User


async def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", *args, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, output.decode(errors="replace")


async def test_migrate_demo_data_and_create_admin(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli' / 'ml.db'}"
    env = {**os.environ, "MENTORLIVE_DATABASE_URL": url}
    code, out = await run("migrate", env=env)
    assert code == 0, out
    code, out = await run("demo-data", env=env)
    assert code == 0 and "Demo data loaded" in out, out
    code, out = await run("demo-data", env=env)
    assert code == 0 and "already present" in out, out
    code, out = await run("create-admin", "--email", "Boss@Example.com", "--password", "weak", env=env)
    assert code == 2 and "Password must be at least 8 characters" in out, out
    code, out = await run("create-admin", "--email", "Boss@Example.com", "--password", "admin12345", env=env)
    assert code == 0, out
    code, out = await run("create-admin", "--email", "boss@example.com", "--password", "admin12345", env=env)
    assert code == 1 and "already has an account" in out, out

    db = Database(url)
    try:
        async with db.session() as s:
            roles = sorted((u.email, u.role) for u in (await s.exec(select(User))).all())
            sessions = (await s.exec(select(MentorSession))).all()
    finally:
        await db.dispose()
    assert ("boss@example.com", "admin") in roles
    assert sum(1 for _, role in roles if role == "mentor") == 2
    assert len(sessions) == 4 and all(s.status == "scheduled" for s in sessions)
