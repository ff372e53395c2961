"""A seeded synthetic mentoring marketplace, the shape of the real one but with known structure.

- Topics with their own words; mentors teach one or two, write bios in their words, and are Zipf-popular.
- New mentors keep arriving over the weeks (the model must not starve them).
- Learners state one or two interests (some state none) but also book in a *partner* topic their tags do not
  mention (people learning Python also book data engineering…), and each learner group has favourite mentors:
  only the interactions reveal either.
- Each booking is preceded by views, followed (mostly) by attendance and sometimes a rating; a few cancel.
- Learners keep arriving too, so every week has cold learners.

`python -m bench.recsys.world` rewrites the committed fixture from the seed.
"""

from __future__ import annotations

import random
from pathlib import Path

from bench.recsys.fixture import dump
from web.recommend.ranking.data import DAY, Dataset, Event, LearnerDoc, MentorDoc

FIXTURE = Path(__file__).with_name("fixture.json.gz")
START = 1_893_456_000.0  # 2030-01-01T00:00Z
WEEK = 7 * DAY

TOPICS: dict[str, list[str]] = {
    "python": "python asyncio typing packaging django flask pytest decorators generators pandas".split(),
    "system design": "scalability caching sharding queues consistency latency replication load balancing".split(),
    "machine learning": "models training features regression classification pytorch neural embeddings".split(),
    "frontend": "react css javascript browser components accessibility typescript rendering".split(),
    "devops": "kubernetes docker terraform pipelines deployment monitoring observability linux".split(),
    "data engineering": "spark warehouse etl airflow sql streaming kafka lakehouse".split(),
    "product management": "roadmap discovery stakeholders prioritisation metrics launches strategy users".split(),
    "ux design": "figma prototyping research usability wireframes interaction visual personas".split(),
    "career": "interviews resume negotiation promotion networking growth offers mentorship".split(),
    "security": "threat owasp cryptography pentesting authentication vulnerabilities compliance".split(),
    "mobile": "android ios swift kotlin flutter app store mobile offline".split(),
    "leadership": "management teams hiring feedback one-on-ones culture delegation coaching".split(),
}
GENERIC = "experience help learn practical real world projects years industry hands guidance clear".split()


def generate(seed: int = 15, mentors: int = 180, learners: int = 1400, weeks: int = 10,
             bookings_per_week: float = 0.45) -> Dataset:
    rng = random.Random(seed)
    topics = list(TOPICS)
    partner = _derangement(topics, rng)

    mentor_docs: list[MentorDoc] = []
    mentor_topics: dict[int, list[str]] = {}
    appeal: dict[int, float] = {}
    ranks = list(range(1, mentors + 1))
    rng.shuffle(ranks)
    for i in range(mentors):
        mentor_id = 1000 + i
        own = [rng.choice(topics)]
        if rng.random() < 0.3:
            own.append(rng.choice([t for t in topics if t != own[0]]))
        # Most mentors were there at the start; the rest arrive evenly over the weeks.
        joined = START - 30 * DAY if rng.random() < 0.75 else START + rng.uniform(0, weeks * WEEK)
        words = [rng.choice(TOPICS[own[0]]) for _ in range(14)] + [rng.choice(TOPICS[own[-1]]) for _ in range(5)]
        words += [rng.choice(GENERIC) for _ in range(6)]
        rng.shuffle(words)
        appeal[mentor_id] = 1.0 / ranks[i] ** 1.0  # Zipf: a few mentors draw most learners
        mentor_topics[mentor_id] = own
        rating = round(min(5.0, max(1.0, rng.gauss(4.3, 0.4))), 2) if rng.random() < 0.8 else None
        mentor_docs.append(MentorDoc(mentor_id, tuple(own), " ".join(words), joined, rating))

    # Learner groups: the same stated topic splits into groups that favour different mentors.
    favourites: dict[tuple[str, int], set[int]] = {}
    for topic in topics:
        for group in range(3):
            pool = [m for m, t in mentor_topics.items() if topic in t or partner[topic] in t]
            favourites[(topic, group)] = set(rng.sample(pool, min(len(pool), 4)))

    learner_docs: list[LearnerDoc] = []
    events: list[Event] = []
    for j in range(learners):
        learner_id = 1 + j
        stated = [rng.choice(topics)]
        if rng.random() < 0.35:
            stated.append(rng.choice([t for t in topics if t != stated[0]]))
        group = rng.randrange(3)
        says = tuple(stated) if rng.random() < 0.85 else ()
        goals = " ".join(rng.choice(TOPICS[stated[0]]) for _ in range(4)) if says and rng.random() < 0.6 else ""
        learner_docs.append(LearnerDoc(learner_id, says, goals))
        arrives = START + (0.0 if rng.random() < 0.55 else rng.uniform(0, weeks * WEEK))
        rate = bookings_per_week * rng.lognormvariate(0, 0.6)
        liked: set[int] = set()
        t = arrives + rng.expovariate(rate / WEEK)
        while t < START + weeks * WEEK:
            roll = rng.random()
            topic = rng.choice(stated) if roll < 0.5 else partner[stated[0]] if roll < 0.85 else rng.choice(topics)
            available = [m for m in mentor_docs if m.joined_at <= t]
            pool = [m.id for m in available if topic in mentor_topics[m.id]] or [m.id for m in available]
            fav = favourites[(stated[0], group)]

            def weight(m: int, fav: set[int] = fav, liked: set[int] = liked) -> float:
                w = appeal[m] + 0.01
                w *= 4.0 if m in fav else 1.0
                w *= 6.0 if m in liked else 1.0
                return w

            weights = [weight(m) for m in pool]
            booked = rng.choices(pool, weights)[0]
            for seen in {*rng.choices(pool, weights, k=2), booked}:
                events.append(Event(learner_id, seen, "view", t - rng.uniform(600, 3 * DAY)))
            events.append(Event(learner_id, booked, "book", t))
            if rng.random() < 0.08:
                events.append(Event(learner_id, booked, "cancel", t + rng.uniform(3600, DAY)))
            elif rng.random() < 0.85:
                events.append(Event(learner_id, booked, "attend", t + rng.uniform(DAY, 4 * DAY)))
                if rng.random() < 0.5:
                    happy = booked in fav or booked in liked
                    stars = rng.choice([5, 5, 4, 4, 3]) if happy else rng.choice([5, 4, 3, 2])
                    events.append(Event(learner_id, booked, "rate", t + rng.uniform(2 * DAY, 5 * DAY), stars))
                    if stars >= 4:
                        liked.add(booked)
            t += rng.expovariate(rate / WEEK)
    events = [e for e in events if e.at < START + weeks * WEEK]
    events.sort(key=lambda e: (e.at, e.learner_id, e.mentor_id, e.kind))
    return Dataset(mentor_docs, learner_docs, events)


def _derangement(items: list[str], rng: random.Random) -> dict[str, str]:
    while True:
        shuffled = items[:]
        rng.shuffle(shuffled)
        if all(a != b for a, b in zip(items, shuffled, strict=True)):
            return dict(zip(items, shuffled, strict=True))


if __name__ == "__main__":
    world = generate()
    dump(world, FIXTURE, {"seed": 15, "generator": "bench.recsys.world.generate", "start": START})
    print(f"{FIXTURE}: {len(world.mentors)} mentors, {len(world.learners)} learners, {len(world.events)} events, "
          f"{FIXTURE.stat().st_size} bytes")
