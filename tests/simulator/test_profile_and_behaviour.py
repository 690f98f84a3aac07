"""Profile validation, item recognition and deterministic answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from relitigate.simulator import Profile, load_profile
from relitigate.simulator.behaviour import answer, judge, wrong_answer
from relitigate.simulator.evalsets import ItemIndex, SimItem, load_evalsets


def test_profile_loads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "seed: 4\nmodels:\n  - name: a\n    latency: {median_ms: 100, p95_ms: 300}\n"
        "    rpm: 60\n    version: a-1\n"
    )
    profile = load_profile(path)
    assert profile.models[0].reported_model == "a-1"
    assert profile.models[0].latency.sigma() > 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"models": [{"name": "a", "acuracy": 0.5}]}, "acuracy"),
        ({"models": [{"name": "a", "accuracy": 1.5}]}, "accuracy"),
        ({"models": [{"name": "a"}, {"name": "a"}]}, "repeated: a"),
        ({"models": [{"name": "a", "latency": {}}]}, "latency needs"),
        ({"models": [{"name": "a", "latency": {"median_ms": 200, "p95_ms": 100}}]}, "below"),
        ({"models": []}, "at least 1"),
        ({"models": [{"name": "a", "error_rate": 0.6, "disconnect_rate": 0.5}]}, "at most 1"),
    ],
)
def test_profile_rejects(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Profile.model_validate(data)


def test_evalsets_match_exactly_then_by_containment(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    rows = [
        {"id": "1", "input": "printer jam", "target": "facilities"},
        {
            "id": "2",
            "input": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "vpn is down"},
            ],
            "target": "it",
        },
        {"id": "3", "input": "printer jam on floor 2", "target": "facilities-2"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    index = load_evalsets([path])
    assert len(index) == 3
    assert index.find("printer jam") == SimItem("1", "facilities")
    assert index.find("vpn is down") == SimItem("2", "it")
    # a template around the input: the longest contained input wins
    assert index.find("Ticket: printer jam on floor 2. Route it.") == SimItem("3", "facilities-2")
    assert index.find("Ticket: printer jam!") == SimItem("1", "facilities")
    assert index.find("something else") is None


def test_evalset_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "input": "x", "target": "y"}\n{"id": 2}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        load_evalsets([path])


def test_answers_are_deterministic_and_match_accuracy() -> None:
    targets = ["a", "b", "c"]
    items = [SimItem(str(i), targets[i % 3]) for i in range(3000)]
    first = [answer("m", 0.7, it, "", targets) for it in items]
    assert first == [answer("m", 0.7, it, "", targets) for it in items]
    right = sum(a == it.target for a, it in zip(first, items, strict=True))
    assert 0.67 < right / len(items) < 0.73
    other = [answer("m2", 0.7, it, "", targets) for it in items]
    assert other != first  # seeded by model as well as item
    assert all(answer("m", 1.0, it, "", targets) == it.target for it in items[:50])
    assert all(answer("m", 0.0, it, "", targets) != it.target for it in items[:50])


@pytest.mark.parametrize(
    ("target", "targets"), [("42", []), ("3.5", []), ("yes", ["yes"]), ("a", ["a", "b"])]
)
def test_wrong_answer_differs(target: str, targets: list[str]) -> None:
    assert wrong_answer("m", SimItem("1", target), targets) != target


def test_judge_model_grades_answer_against_reference() -> None:
    ok = json.loads(judge("j", 1.0, "<answer>Billing.</answer><reference>billing</reference>"))
    bad = json.loads(judge("j", 1.0, "<answer>hr</answer><reference>billing</reference>"))
    assert (ok["score"], bad["score"]) == (1, 0)
    assert json.loads(judge("j", 0.0, "<answer>hr</answer><reference>hr</reference>"))["score"] == 0
    assert json.loads(judge("j", 1.0, "no tags"))["score"] == 0


def test_index_counts_targets() -> None:
    index = ItemIndex([("x", SimItem("1", "t"))])
    assert index.targets == ["t"] and index.find("") is None
