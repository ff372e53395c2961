"""The `mentorlive` command: serve, migrate, demo-data, create-admin, worker, recommend train, media-node, nodes."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from media_server.event_loop import loop_kind, new_event_loop
from models.clock import SystemClock
from models.db import Database
from models.migrate import upgrade
from web.accounts.passwords import Passwords
from web.accounts.service import create_account, email_taken
from web.cli.demo_data import DEMO_PASSWORD, load_demo_data
from web.cli.media_node import add_commands as add_media_commands
from web.cli.media_node import media_node, nodes
from web.config import Config, load_config
from web.errors import ApiError
from web.http.fields import email as check_email
from web.http.fields import password as check_password


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mentorlive", description="MentorLive live-mentoring platform")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run web, media node and task runner in one process")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--demo", action="store_true", help="load demo data first (idempotent)")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser("worker", help="run a Celery worker for due jobs (needs [redis] url)")
    sub.add_parser("demo-data", help="load demo mentors, a learner and sessions")
    recommend = sub.add_parser("recommend", help="the Recommended tab's model")
    recommend_sub = recommend.add_subparsers(dest="recommend_command", required=True)
    recommend_sub.add_parser("train", help="train on the database's interactions and store a new model version")
    add_media_commands(sub)
    admin = sub.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    admin.add_argument("--password", help="read from MENTORLIVE_ADMIN_PASSWORD or a prompt when omitted")
    return parser


async def _migrate(config: Config) -> None:
    await upgrade(config.database_url)


async def _demo(config: Config) -> None:
    db = Database(config.database_url)
    try:
        created = await load_demo_data(db, SystemClock(), Passwords())
    finally:
        await db.dispose()
    if created:
        print(f"Demo data loaded. Sign in as riya@demo.mentorlive.test / {DEMO_PASSWORD} (learner)")
        print(f"or asha@demo.mentorlive.test / {DEMO_PASSWORD} (mentor).")
    else:
        print("Demo data already present.")


async def _create_admin(config: Config, email: str, name: str, password: str) -> int:
    try:
        email = check_email({"email": email})
        check_password({"password": password}, email_value=email)
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    db = Database(config.database_url)
    try:
        if await email_taken(db, email):
            print(f"error: {email} already has an account", file=sys.stderr)
            return 1
        await create_account(db, SystemClock(), Passwords(), "admin", {"email": email, "name": name,
                                                                        "password": password})
    finally:
        await db.dispose()
    print(f"Admin {email} created.")
    return 0


async def _recommend_train(config: Config) -> int:
    from web.recommend.service import train_and_store

    db = Database(config.database_url)
    try:
        model = await train_and_store(config, db, SystemClock().now())
    finally:
        await db.dispose()
    stats = model.stats
    print(f"Model {model.version}: {int(stats['interactions'])} interactions, {int(stats['learners'])} learners, "
          f"{int(stats['mentors'])} mentors, trained in {stats['seconds']:.2f} s.")
    return 0


def _worker(config: Config) -> int:
    from web.cli.worker_runtime import WorkerRuntime
    from workers.celery_app import make_celery

    broker = config.str("redis", "url")
    if not broker:
        print("error: `mentorlive worker` needs a broker: set MENTORLIVE_REDIS_URL", file=sys.stderr)
        return 2
    runtime = WorkerRuntime(config)
    runtime.start()
    celery = make_celery(broker)
    celery.executor = runtime
    try:
        celery.worker_main(["worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle"])
    finally:
        runtime.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config()
    if args.command == "migrate":
        asyncio.run(_migrate(config))
        print("Database is up to date.")
        return 0
    if args.command == "demo-data":
        asyncio.run(_demo(config))
        return 0
    if args.command == "create-admin":
        import os

        password = args.password or os.environ.get("MENTORLIVE_ADMIN_PASSWORD") or getpass.getpass("Password: ")
        return asyncio.run(_create_admin(config, args.email, args.name, password))
    if args.command == "worker":
        return _worker(config)
    if args.command == "media-node":
        return media_node(config, args)
    if args.command == "nodes":
        return nodes(config, args.json)
    if args.command == "recommend":
        return asyncio.run(_recommend_train(config))
    if args.command == "serve":
        asyncio.run(_migrate(config))
        if args.demo:
            asyncio.run(_demo(config))
        from web.app import create_app

        host = args.host or config.str("web", "host")
        port = args.port or config.int("web", "port")
        if not config.str("web", "public_url"):
            # Links and the sandbox's webhooks need this process's own address.
            config = config.with_overrides({"web": {"public_url": f"http://{host}:{port}"}})
        from web.recommend.tasks import ensure_nightly

        print(f"MentorLive on http://{host}:{port}/")
        app = create_app(config)
        # The nightly training and pruning keep themselves going; the first night's are planted here.
        app.on_startup.append(ensure_nightly)
        loop = new_event_loop(config.str("media", "event_loop"))
        logging.getLogger(__name__).info("event loop: %s", loop_kind(loop))
        web.run_app(app, host=host, port=port, print=None, loop=loop)
        return 0
    return 2

