"""The Recommended tab's seam: sessions lists the candidates, the recommend domain ranks them.

Sessions never imports `web.recommend` (it sits above sessions); `web.recommend.service.setup_recommend()`
registers its ranking under `RECOMMENDER` when the app is created, the way bookings fills CANCEL_BOOKINGS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from web.http.identity import Identity
from web.sessions.schemas import SessionView


@dataclass(frozen=True)
class Pick:
    """One recommended session, why it was chosen (the card says so) and where it was shown."""

    view: SessionView
    reason: str
    position: int
    model_version: str


class Recommender(Protocol):
    async def __call__(self, s: AsyncSession, learner: Identity, candidates: Sequence[SessionView],
                       now: datetime, surface: str) -> list[Pick]: ...


RECOMMENDER: web.AppKey[Recommender] = web.AppKey("recommender")
