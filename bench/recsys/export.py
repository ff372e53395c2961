"""Export a real database's recommendation data in the fixture's format, for `python -m bench.recsys --data`.

    .venv/bin/python -m bench.recsys.export out.json.gz                # [database] url of config.toml / env
    .venv/bin/python -m bench.recsys.export out.json.gz --url sqlite+aiosqlite:///var/mentorlive.db

Mentors (expertise, profile and session texts, join time, rating), learners (interests, goals) and events:
bookings, cancellations, attendance and ratings from their own tables, opens and views from the event log.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bench.recsys.fixture import dump
from models.db import Database
from web.config import load_config
from web.recommend.queries import load_dataset
from web.recommend.ranking.data import DAY


async def export(url: str, out: Path) -> None:
    db = Database(url)
    try:
        async with db.session() as s:
            data = await load_dataset(s, datetime.now(UTC))
    finally:
        await db.dispose()
    first = min((e.at for e in data.events), default=0.0)
    # The evaluation's weeks count from midnight (UTC) of the first event's day.
    dump(data, out, {"source": "export", "start": first - first % DAY})
    print(f"{out}: {len(data.mentors)} mentors, {len(data.learners)} learners, {len(data.events)} events")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--url", help="database URL (default: [database] url)")
    args = parser.parse_args()
    asyncio.run(export(args.url or load_config().database_url, args.out))


if __name__ == "__main__":
    main()
