"""Demo accounts and sessions so a fresh install has something to browse."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import select

from models.clock import Clock
from models.db import Database
from models.tables import MentorSession, User
from web.accounts.passwords import Passwords
from web.accounts.service import create_account

DEMO_PASSWORD = "mentorlive123"
MENTORS = (
    ("Asha Rao", "asha@demo.mentorlive.test", "Staff engineer, distributed systems",
     ["system design", "python"]),
    ("Vikram Shah", "vikram@demo.mentorlive.test", "Data scientist turned ML lead",
     ["machine learning", "data science"]),
)
LEARNER = ("Riya Learner", "riya@demo.mentorlive.test", ["python", "system design"])
SESSIONS = (
    # (mentor index, title, tags, hours from now, price in paise, capacity)
    (0, "Designing a URL shortener that scales", ["system design"], 2, 0, 10),
    (0, "Python async from first principles", ["python"], 26, 49900, 5),
    (1, "Your first ML project, end to end", ["machine learning", "data science"], 50, 0, 20),
    (1, "Mock interview: data science", ["interview prep", "data science"], 74, 99900, 1),
)


async def load_demo_data(db: Database, clock: Clock, passwords: Passwords) -> bool:
    """Idempotent: returns False when the demo accounts already exist."""
    async with db.session() as s:
        if (await s.exec(select(User).where(User.email == MENTORS[0][1]))).first():
            return False
    mentor_ids = []
    for name, email, headline, expertise in MENTORS:
        user = await create_account(db, clock, passwords, "mentor", {
            "name": name, "email": email, "password": DEMO_PASSWORD, "headline": headline,
            "bio": f"{headline}. I mentor engineers who want to grow.", "expertise": expertise,
            "years_experience": 10, "payout_method": "upi", "payout_account_masked": "••••bank",
        })
        mentor_ids.append(user.id)
    name, email, interests = LEARNER
    await create_account(db, clock, passwords, "learner", {
        "name": name, "email": email, "password": DEMO_PASSWORD, "interests": interests,
    })
    now = clock.now().replace(second=0, microsecond=0)
    async with db.session() as s:
        for mentor, title, tags, hours, price, capacity in SESSIONS:
            mentor_id = mentor_ids[mentor]
            assert mentor_id is not None
            s.add(MentorSession(
                mentor_id=mentor_id, title=title, domain_tags=tags,
                description=f"A live session on {title.lower()}.", start_at=now + timedelta(hours=hours),
                duration_minutes=60, price_paise=price, capacity=capacity, status="scheduled",
                room_code=secrets.token_urlsafe(12), created_at=now, updated_at=now,
            ))
        await s.commit()
    return True
