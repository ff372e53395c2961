"""The pure recommender: what it learns from interactions, what cold learners get, and why it says so."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

from bench.recsys.fixture import load
from web.recommend.ranking.data import BOOK, DAY, Dataset, Event, LearnerDoc, MentorDoc, norm_tag
from web.recommend.ranking.model import Model
from web.recommend.ranking.rank import rank_items
from web.recommend.ranking.train import train

FIXTURE = Path(__file__).resolve().parents[3] / "bench" / "recsys" / "fixture.json.gz"
NOW = 1_900_000_000.0


@cache
def fixture() -> Dataset:
    return load(FIXTURE)[0]


def top(model: Model, learner: LearnerDoc, mentors: list[MentorDoc], at: float, k: int = 10) -> list[int]:
    return [p.item.id for p in rank_items(model, learner, mentors, mentors, lambda m: m.id, at, k)]


def test_a_co_booked_mentor_ranks_above_an_unrelated_one_the_learners_tags_do_not_mention() -> None:
    data = fixture()
    at = max(e.at for e in data.events) + 1
    topic = {m.id: m.expertise for m in data.mentors}
    # The most-booked python mentor, and the non-python mentor their learners book most besides.
    bookings = [e for e in data.events if e.kind == BOOK]
    python = Counter(e.mentor_id for e in bookings if "python" in topic[e.mentor_id])
    anchor = python.most_common(1)[0][0]
    bookers = {e.learner_id for e in bookings if e.mentor_id == anchor}
    beside = Counter(e.mentor_id for e in bookings
                     if e.learner_id in bookers and "python" not in topic[e.mentor_id])
    co_booked = beside.most_common(1)[0][0]
    # Unrelated: as popular overall as it gets, yet never booked by the anchor's learners, in another topic.
    overall = Counter(e.mentor_id for e in bookings)
    unrelated = next(m for m, _ in overall.most_common()
                     if m not in beside and m != anchor and not set(topic[m]) & set(topic[co_booked])
                     and "python" not in topic[m])
    newcomer = LearnerDoc(999_999, ("python",), "")
    data = Dataset(data.mentors, [*data.learners, newcomer],
                   [*data.events, Event(newcomer.id, anchor, BOOK, at - DAY),
                    Event(newcomer.id, anchor, "attend", at - 1)])
    assert not set(topic[co_booked]) & set(newcomer.interests), "the learner's tags must not mention it"

    model = train(data, at)
    scores = {s.mentor_id: s.score for s in model.score(newcomer, data.mentors, at)}
    assert scores[co_booked] > scores[unrelated]


def test_cold_learners_get_a_non_empty_list_within_their_stated_domains() -> None:
    data = fixture()
    at = max(e.at for e in data.events) + 1
    model = train(data, at)
    security = [m for m in data.mentors if "security" in m.expertise]
    assert len(security) >= 5
    picks = top(model, LearnerDoc(777_777, ("security",)), data.mentors, at, 5)
    expertise = {m.id: m.expertise for m in data.mentors}
    assert len(picks) == 5 and all("security" in expertise[m] for m in picks[:3])
    assert sum("security" in expertise[m] for m in picks) >= 4
    # No history and no interests at all: still a list, the most popular mentors.
    assert len(top(model, LearnerDoc(777_778), data.mentors, at, 5)) == 5


def small_world() -> tuple[Dataset, LearnerDoc]:
    """Lena states system design and python and booked Gus (go). Learners who book Gus also book Carla
    (cooking); two other groups co-book their own pairs of mentors."""
    old = NOW - 200 * DAY
    mentors = [
        MentorDoc(1, ("system design",), "system design scalability caching sharding queues", old),
        MentorDoc(2, ("cooking",), "cooking recipes kitchen baking", old),
        MentorDoc(3, ("python",), "asyncio typing packaging", NOW - 3 * DAY),
        MentorDoc(4, ("go",), "go concurrency goroutines channels", old),
        MentorDoc(5, ("painting",), "painting colour canvas", old),
        MentorDoc(6, ("music",), "music harmony rhythm", old),
        MentorDoc(7, ("rust",), "rust ownership lifetimes", old),
        MentorDoc(8, ("chess",), "chess openings endgames", old),
    ]
    lena = LearnerDoc(100, ("system design", "python"), "")
    learners = [lena]
    events = [Event(lena.id, 4, BOOK, NOW - 10 * DAY)]
    for group, (first, then) in enumerate([(4, 2), (6, 8), (7, 8)]):
        for i in range(10):
            learner = 200 + 20 * group + i
            learners.append(LearnerDoc(learner, ()))
            events += [Event(learner, first, BOOK, NOW - 20 * DAY + i),
                       Event(learner, then, BOOK, NOW - 15 * DAY + i),
                       Event(learner, then, "attend", NOW - 14 * DAY + i)]
    return Dataset(mentors, learners, events), lena


def test_each_explanation_names_the_part_of_the_score_that_chose_the_item() -> None:
    data, lena = small_world()
    model = train(data, NOW)
    reasons = {s.mentor_id: s.reason.text() for s in model.score(lena, data.mentors, NOW)}
    assert reasons[1] == "Because you're into system design"  # her stated interest, in the mentor's words
    assert reasons[2] == "Popular with learners like you"  # nothing in her tags: learners like her book it
    assert reasons[3] == "New mentor in Python"  # joined three days ago, in a domain she states
    assert reasons[5] == "Something different to explore"  # nobody books painting, nothing she states
    listed = [p.item.id for p in rank_items(model, lena, data.mentors, data.mentors, lambda m: m.id, NOW, 8)]
    assert listed[-1] == 5 and listed[0] == 4


def test_one_mentor_does_not_fill_the_list() -> None:
    data, lena = small_world()
    model = train(data, NOW)
    sessions = [(1, n) for n in range(8)] + [(2, 0), (3, 0), (4, 0)]
    ranked = rank_items(model, lena, data.mentors, sessions, lambda s: s[0], NOW, 5)
    mentors = [p.item[0] for p in ranked]
    assert len(set(mentors)) >= 4, mentors
    assert all(norm_tag(p.reason.text()) for p in ranked)
