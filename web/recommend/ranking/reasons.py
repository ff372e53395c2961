"""Why an item was recommended, as a value the card renders (and tests compare)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    kind: str  # interest, history, similar_learners, new_mentor, popular, explore
    topic: str | None = None

    def text(self) -> str:
        if self.kind == "interest" and self.topic:
            return f"Because you're into {self.topic}"
        if self.kind == "explore":
            return "Something different to explore"
        if self.kind == "history":
            return "Like sessions you booked"
        if self.kind == "similar_learners":
            return "Popular with learners like you"
        if self.kind == "new_mentor":
            return f"New mentor in {_display(self.topic)}" if self.topic else "New mentor"
        if self.topic:
            return f"Popular in {_display(self.topic)}"
        return "Popular right now"


def _display(topic: str) -> str:
    # Tags are stored lower-case; "python" reads better as "Python" in a sentence's object position.
    return topic[:1].upper() + topic[1:]
