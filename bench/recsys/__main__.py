"""The Recommended tab's offline benchmark: one table, and training and scoring costs.

    .venv/bin/python -m bench.recsys                      # the committed synthetic fixture
    .venv/bin/python -m bench.recsys --data export.json.gz  # a real database's export (bench.recsys.export)
    .venv/bin/python -m bench.recsys --quick              # two test weeks, no 100k training run

Sliding weekly splits over the last four weeks: train on what happened before the week, rank mentors for every
learner who booked during it; warm learners (booked before) and cold ones apart. Then the model is trained on a
generated world of about 100k interactions (one core) and a learner's tab of 500 sessions is scored.
Writes docs/bench/recsys.md and recsys.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench.recsys.evaluate import WEEK, evaluate
from bench.recsys.fixture import load
from bench.recsys.world import FIXTURE, generate
from web.recommend.ranking.data import Dataset
from web.recommend.ranking.rank import rank_items
from web.recommend.ranking.train import train

DOCS = Path(__file__).resolve().parents[2] / "docs" / "bench"
COLUMNS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10", "hit@10", "coverage", "new exposure")


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = ["| learners | ranking | users | " + " | ".join(COLUMNS) + " |",
             "| --- | --- | ---: | " + " | ".join("---:" for _ in COLUMNS) + " |"]
    for group in ("warm", "cold"):
        for name, rows in results.items():
            row = rows[group]
            cells = " | ".join(f"{row[c]:.3f}" for c in COLUMNS)
            lines.append(f"| {group} | {name} | {int(row['users'])} | {cells} |")
    return "\n".join(lines)


def training_cost() -> dict[str, float]:
    world = generate(seed=100, mentors=600, learners=5000)
    end = max(e.at for e in world.events) + 1
    model = train(world, end)
    return {"interactions": model.stats["interactions"], "learners": model.stats["learners"],
            "mentors": model.stats["mentors"], "seconds": model.stats["seconds"]}


def scoring_cost(data: Dataset, at: float, sessions_per_mentor: int = 3, tab: int = 500) -> dict[str, float]:
    model = train(data.before(at), at)
    mentors = [m for m in data.mentors if m.joined_at < at]
    rng = random.Random(3)
    sessions = [(m.id, i) for m in mentors for i in range(sessions_per_mentor)][:tab]
    docs = {m.id: m for m in mentors}
    learners = rng.sample(data.learners, 200)
    times = []
    for learner in learners:
        began = time.perf_counter()
        wanted = [docs[mentor_id] for mentor_id in dict.fromkeys(m for m, _ in sessions)]
        rank_items(model, learner, wanted, sessions, lambda s: s[0], at, 20)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {"sessions": float(len(sessions)), "p50_ms": statistics.median(times),
            "p95_ms": times[int(len(times) * 0.95)], "max_ms": times[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=FIXTURE)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    data, meta = load(args.data)
    if not data.events:
        sys.exit(f"{args.data}: no interactions to evaluate on")
    start = float(meta.get("start", min(e.at for e in data.events)))
    weeks = int((max(e.at for e in data.events) - start) // WEEK) + 1
    test_weeks = list(range(max(weeks - (2 if args.quick else 4), 1), weeks))
    results = evaluate(data, start, test_weeks)
    cost = {} if args.quick else training_cost()
    latency = scoring_cost(data, start + test_weeks[-1] * WEEK)
    warm, cold = ({n: results[n][g]["ndcg@10"] for n in results} for g in ("warm", "cold"))
    ratios = {
        "warm ndcg@10 vs tag overlap": warm["model"] / max(warm["tag overlap"], 1e-9),
        "warm ndcg@10 vs popularity": warm["model"] / max(warm["popularity"], 1e-9),
        "cold ndcg@10 vs popularity": cold["model"] / max(cold["popularity"], 1e-9),
    }
    head = (f"`.venv/bin/python -m bench.recsys{' --quick' if args.quick else ''}` on {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}.\n\n"
            f"Data: `{args.data.name}` ({len(data.mentors)} mentors, {len(data.learners)} learners, "
            f"{len(data.events)} events); test weeks {test_weeks} of {weeks}, each trained on the weeks before it. "
            "Items are mentors (a mentor's sessions inherit the score); truth is the mentors a learner booked that "
            "week; coverage is the share of the catalogue shown in anyone's top 10; new exposure is the share of "
            "top-10 slots given to mentors who joined in the last 28 days.")
    body = [table(results), " · ".join(f"{k}: {v:.2f}x" for k, v in ratios.items())]
    if cost:
        body.append(f"Training on {int(cost['interactions'])} interactions ({int(cost['learners'])} learners, "
                    f"{int(cost['mentors'])} mentors), one core: {cost['seconds']:.1f} s.")
    body.append(f"Scoring one learner's tab of {int(latency['sessions'])} sessions (score, inherit, MMR to 20): "
                f"p50 {latency['p50_ms']:.1f} ms, p95 {latency['p95_ms']:.1f} ms, max {latency['max_ms']:.1f} ms.")
    text = "\n\n".join(body)
    print(text)
    if not args.no_write:
        DOCS.mkdir(parents=True, exist_ok=True)
        (DOCS / "recsys.md").write_text(f"# Recommended tab: offline evaluation\n\n{head}\n\n{text}\n")
        (DOCS / "recsys.json").write_text(json.dumps(
            {"results": results, "ratios": ratios, "training": cost, "scoring": latency,
             "test_weeks": test_weeks}, indent=2) + "\n")


if __name__ == "__main__":
    main()
