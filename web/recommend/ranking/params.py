"""The recommender's knobs, kept in one place so training, the bench and the web process agree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    # Implicit ALS on the learner x mentor matrix of weighted interactions.
    factors: int = 48
    iterations: int = 15
    regularization: float = 2.0
    confidence: float = 2.0  # Cui = 1 + confidence · weight (implicit's convention adds the 1)
    seed: int = 7
    # Popularity: interaction weights decayed with this half-life.
    popularity_half_life_days: float = 14.0
    # Blend: score = content·c + popularity·p + history_share·collaborative·a + new-mentor boost.
    content: float = 0.5
    popularity: float = 0.35
    collaborative: float = 1.0
    # A learner's collaborative share is n / (n + history_half) for n past bookings and attendances.
    history_half: float = 1.0
    # Past sessions count toward the learner's content profile with this weight (interests count 1).
    history_text: float = 0.5
    # Popularity among learners who state the same interests, weighed by (1 - history share).
    segment: float = 0.8
    segment_min_learners: int = 5
    # Cold learners: mentors in a stated domain first, ordered mostly by popularity.
    domain_match: float = 0.3
    # New mentors (joined within new_mentor_days, few interactions) get this much on top in a relevant domain.
    new_mentor_boost: float = 0.3
    new_mentor_days: float = 28.0
    new_mentor_max_weight: float = 30.0
    # MMR: relevance share against similarity to what is already listed (same mentor counts fully).
    mmr_lambda: float = 0.85
    mmr_topic: float = 0.3
