"""The Recommended tab: bookable candidates, ranked by the newest model, explained and logged.

Registered under sessions' `RECOMMENDER` by `setup_recommend()`; sessions lists the candidates (future,
scheduled, seats left, not held by the learner) and this module narrows them to the learner's hours, ranks
them and records what was shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import as_utc
from models.db import Database
from models.tables import LearnerProfile, RecEvent, User
from web.config import Config
from web.http.identity import Identity
from web.keys import CONFIG, DB
from web.recommend.artifacts import ModelCache, ModelStore
from web.recommend.queries import learner_doc, load_dataset, mentor_docs_of
from web.recommend.ranking.baselines import interest_overlap
from web.recommend.ranking.data import IMPRESSION, LearnerDoc, norm_tag
from web.recommend.ranking.model import Model
from web.recommend.ranking.rank import rank_items
from web.recommend.ranking.reasons import Reason
from web.recommend.ranking.train import train
from web.recommend.signals import SignalLog
from web.sessions.recommend import RECOMMENDER, Pick
from web.sessions.schemas import SessionView

log = logging.getLogger(__name__)

MODELS: web.AppKey[ModelCache] = web.AppKey("recommend_models")
SIGNALS: web.AppKey[SignalLog] = web.AppKey("recommend_signals")
# What the tab shows before any model was trained: today's tag overlap, one mentor at a time.
NO_MODEL = "tags-v0"
RECOMMENDED_TAB = "recommended"


def model_store(config: Config) -> ModelStore:
    return ModelStore(config.data_path("recommend", "dir"))


def setup_recommend(app: web.Application) -> None:
    config = app[CONFIG]
    app[MODELS] = ModelCache(model_store(config), check_seconds=config.float("recommend", "check_seconds"))
    signals = SignalLog(app[DB], max_pending=config.int("recommend", "pending_max"))
    app[SIGNALS] = signals

    async def recommend(s: AsyncSession, learner: Identity, candidates: Sequence[SessionView], now: datetime,
                        surface: str) -> list[Pick]:
        return await recommended(app, s, learner, candidates, now, surface)

    app[RECOMMENDER] = recommend

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        signals.start(config.float("recommend", "flush_seconds"))
        yield
        await signals.stop()

    app.cleanup_ctx.append(lifecycle)


async def recommended(app: web.Application, s: AsyncSession, learner: Identity, candidates: Sequence[SessionView],
                      now: datetime, surface: str) -> list[Pick]:
    config = app[CONFIG]
    profile = await s.get(LearnerProfile, learner.user_id)
    user = await s.get(User, learner.user_id)
    hours = config.str("recommend", "learner_hours")
    views = [v for v in candidates if bookable(v, now) and within_hours(v, user.timezone if user else "UTC", hours)]
    doc = learner_doc(learner.user_id, profile)
    size = config.int("recommend", "list_size")
    model = await app[MODELS].current()
    if model is None:
        picks = tag_overlap_picks(doc, views, size)
    else:
        picks = model_picks(model, doc, views, now, size)
    app[SIGNALS].record(
        RecEvent(kind=IMPRESSION, learner_id=learner.user_id, mentor_id=p.view.session.mentor_id,
                 session_id=p.view.session.id, surface=surface, tab=RECOMMENDED_TAB, position=p.position,
                 model_version=p.model_version, at=now)
        for p in picks
    )
    return picks


def bookable(view: SessionView, now: datetime) -> bool:
    s = view.session
    return s.status == "scheduled" and as_utc(s.start_at) > now and s.seats_taken < s.capacity


def within_hours(view: SessionView, timezone: str, hours: str) -> bool:
    """Whether any part of the session falls in the learner's waking hours ("07:00-23:00"), in their zone."""
    if not hours:
        return True
    try:
        zone = ZoneInfo(timezone)
        low, high = (_minutes(x) for x in hours.split("-", 1))
    except (ValueError, KeyError):
        return True
    start = as_utc(view.session.start_at).astimezone(zone)
    step = timedelta(minutes=15)
    at = start
    while at <= start + timedelta(minutes=view.session.duration_minutes):
        minute = at.hour * 60 + at.minute
        if (low <= minute < high) if low <= high else (minute >= low or minute < high):
            return True
        at += step
    return False


def _minutes(text: str) -> int:
    hour, minute = text.strip().split(":")
    return int(hour) * 60 + int(minute)


def model_picks(model: Model, learner: LearnerDoc, views: Sequence[SessionView], now: datetime,
                size: int) -> list[Pick]:
    interests = learner.interests

    def session_bonus(view: SessionView) -> float:
        # Within one mentor, the session whose own tags match the learner's interests comes first.
        return 0.01 * interest_overlap(interests, view.session.domain_tags)

    ranked = rank_items(model, learner, mentor_docs_of(views), views, lambda v: v.session.mentor_id,
                        now.timestamp(), size, bonus=session_bonus)
    return [Pick(p.item, _on_this_session(p.reason, p.item, interests).text(), i, model.version)
            for i, p in enumerate(ranked)]


def _on_this_session(reason: Reason, view: SessionView, interests: Sequence[str]) -> Reason:
    # The model explains the mentor; when this session's own tags name one of the learner's interests,
    # that one is the truer "because" for this card.
    if reason.kind not in ("interest", "new_mentor"):
        return reason
    tags = {norm_tag(t) for t in view.session.domain_tags}
    topic = next((x for x in (norm_tag(i) for i in interests) if x in tags), None)
    return Reason(reason.kind, topic) if topic else reason


def tag_overlap_picks(learner: LearnerDoc, views: Sequence[SessionView], size: int) -> list[Pick]:
    """Before the first training: shared tags, then a mentor's later sessions after other mentors' first,
    then the mentor's rating, then the earliest start."""
    def rating(view: SessionView) -> float:
        p = view.mentor_profile
        # Unrated mentors sort after every rated one: a rating is evidence, its absence is not.
        return p.rating_sum / p.rating_count if p is not None and p.rating_count else -1.0

    order = sorted(views, key=lambda v: (-interest_overlap(learner.interests, v.session.domain_tags),
                                         -rating(v), as_utc(v.session.start_at).timestamp(), v.session.id or 0))
    turn: dict[int, int] = {}
    nth = {}
    for view in order:
        nth[id(view)] = turn.get(view.session.mentor_id, 0)
        turn[view.session.mentor_id] = nth[id(view)] + 1
    order.sort(key=lambda v: (-interest_overlap(learner.interests, v.session.domain_tags), nth[id(v)]))
    wanted = [norm_tag(x) for x in learner.interests]
    picks = []
    for i, view in enumerate(order[:size]):
        tags = {norm_tag(t) for t in view.session.domain_tags}
        topic = next((x for x in wanted if x in tags), None)
        reason = f"Because you're into {topic}" if topic else "Coming up soon"
        picks.append(Pick(view, reason, i, NO_MODEL))
    return picks


async def train_and_store(config: Config, db: Database, now: datetime) -> Model:
    """What `mentorlive recommend train` and the nightly job run: read, train on one core, store."""
    began = time.perf_counter()
    async with db.session() as s:
        data = await load_dataset(s, now)
    read = time.perf_counter() - began
    version = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    model = await asyncio.to_thread(train, data, now.timestamp(), None, version)
    path = await asyncio.to_thread(model_store(config).save, model)
    log.info("recommendation model %s: %d interactions, %d learners, %d mentors; read %.2f s, trained %.2f s; %s",
             model.version, len(data.events), int(model.stats["learners"]), len(data.mentors), read,
             model.stats["seconds"], path)
    return model
