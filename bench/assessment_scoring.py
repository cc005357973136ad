"""Scoring throughput: assessments scored per second on random valid answer sets, per track.

Run from the project root: .venv/bin/python bench/assessment_scoring.py [--count N] [--seed S]
Prints figures only; it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.services.frameworks import Framework, Question, current_framework
from app.services.scoring import score


def random_answer(question: Question, rnd: random.Random):
    """A valid answer; about one question in twenty left blank, as in a draft."""
    if rnd.random() < 0.05:
        return None
    if question.type == "scale":
        return rnd.randint(0, 5)
    if question.type == "single":
        return rnd.choice(question.options).id
    boxes = [o.id for o in question.options if not o.exclusive]
    if rnd.random() < 0.2:
        return [o.id for o in question.options if o.exclusive]
    return rnd.sample(boxes, rnd.randint(1, len(boxes)))


def bench_track(framework: Framework, track: str, count: int, rnd: random.Random) -> tuple[float, float]:
    """(assessments per second, mean overall score) over ``count`` random answer sets."""
    questions = framework.questions_for(track)
    answer_sets = [{q.id: random_answer(q, rnd) for q in questions} for _ in range(count)]
    start = time.perf_counter()
    results = [score(framework, track, answers) for answers in answer_sets]
    elapsed = time.perf_counter() - start
    return count / elapsed, sum(r.overall for r in results) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="answer sets per track")
    parser.add_argument("--seed", type=int, default=1970)
    args = parser.parse_args()
    rnd = random.Random(args.seed)  # noqa: S311 (benchmark data, not secrets)
    framework = current_framework()
    print(f"framework {framework.ref}, {args.count} random answer sets per track")
    for track in framework.tracks:
        rate, mean = bench_track(framework, track.code, args.count, rnd)
        size = len(framework.questions_for(track.code))
        print(f"  {track.code:<6} {size:>2} questions: {rate:>9,.0f} assessments/s  (mean overall {mean:.1f})")


if __name__ == "__main__":
    main()
