"""Scorers: table tests, one table per scorer."""

from __future__ import annotations

import pytest

from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.scorers import build_scorer
from tasks.evaluation.scorers.f1 import f1
from tasks.evaluation.scorers.structured import extract_number
from tasks.evaluation.types import EvalItem, Score

pytestmark = pytest.mark.anyio


def item(target: str) -> EvalItem:
    return EvalItem(key="k", input="question?", target=target)


async def check(spec: dict[str, object], output: str, target: str) -> Score:
    score = await build_scorer(spec)(output, item(target))
    assert 0.0 <= score.value <= 1.0
    assert score.passed == (score.value == 1.0) or spec["type"] in ("token_f1", "python")
    return score


@pytest.mark.parametrize(
    ("spec", "output", "target", "passed"),
    [
        ({"type": "exact"}, "billing", "billing", True),
        ({"type": "exact"}, " billing\n", "billing", True),
        ({"type": "exact", "strip": False}, " billing", "billing", False),
        ({"type": "exact"}, "Billing", "billing", False),
        ({"type": "normalized"}, "  Billing. ", "billing", True),
        ({"type": "normalized"}, "The   IT-desk!", "the itdesk", True),
        ({"type": "normalized", "case": False}, "Billing", "billing", False),
        ({"type": "normalized"}, "billing team", "billing", False),
        ({"type": "regex", "pattern": r"\bP[0-3]\b"}, "priority P2 please", "", True),
        ({"type": "regex", "pattern": r"\bP[0-3]\b"}, "priority P7", "", False),
        ({"type": "regex"}, "answer: 42", r"\d+", True),
        ({"type": "regex", "pattern": "^{target}$", "full": True}, "a.b", "a.b", True),
        ({"type": "regex", "pattern": "^{target}$", "full": True}, "axb", "a.b", False),
        ({"type": "regex", "pattern": "yes", "ignore_case": True}, "YES", "", True),
    ],
)
async def test_string_matchers(
    spec: dict[str, object], output: str, target: str, passed: bool
) -> None:
    assert (await check(spec, output, target)).passed is passed


@pytest.mark.parametrize(
    ("fields", "output", "target", "value"),
    [
        ("label", '{"label": "it", "p": 1}', '{"label": "it", "p": 2}', 1.0),
        (["label", "p"], '{"label": "it", "p": 1}', '{"label": "it", "p": 2}', 0.5),
        (
            ["a.b", "c.0"],
            '```json\n{"a": {"b": 1}, "c": [5]}\n```',
            '{"a": {"b": 1}, "c": [5]}',
            1.0,
        ),
        (["label"], "not json", '{"label": "it"}', 0.0),
        (["label"], '{"other": 1}', '{"label": "it"}', 0.0),
    ],
)
async def test_json_fields(fields: object, output: str, target: str, value: float) -> None:
    score = await check({"type": "json_fields", "fields": fields}, output, target)
    assert score.value == value and score.passed is (value == 1.0)


async def test_json_fields_normalize_strings() -> None:
    spec = {"type": "json_fields", "fields": ["label"], "normalize": True}
    assert (await check(spec, '{"label": "IT."}', '{"label": "it"}')).passed


@pytest.mark.parametrize(
    ("spec", "output", "target", "passed"),
    [
        ({"type": "numeric"}, "42", "42", True),
        ({"type": "numeric"}, "The answer is 1,234.5.", "1234.5", True),
        ({"type": "numeric", "abs_tol": 0.01}, "3.141", "3.14", True),
        ({"type": "numeric", "abs_tol": 0.0001}, "3.141", "3.14", False),
        ({"type": "numeric", "rel_tol": 0.05}, "104", "100", True),
        ({"type": "numeric"}, "no number", "5", False),
        ({"type": "numeric"}, "-2e3", "-2000", True),
    ],
)
async def test_numeric(spec: dict[str, object], output: str, target: str, passed: bool) -> None:
    assert (await check(spec, output, target)).passed is passed


@pytest.mark.parametrize(
    ("text", "number"), [("7", 7.0), ("x 1 then 2", 2.0), ("1,000", 1000.0), ("none", None)]
)
def test_extract_number(text: str, number: float | None) -> None:
    assert extract_number(text) == number


@pytest.mark.parametrize(
    ("output", "target", "value"),
    [
        ("the cat sat", "cat sat", 1.0),
        ("cat", "cat sat", 2 / 3),
        ("dog", "cat", 0.0),
        ("", "", 1.0),
        ("", "cat", 0.0),
        ("Cat, sat!", "cat sat", 1.0),
    ],
)
async def test_token_f1(output: str, target: str, value: float) -> None:
    assert f1(output, target) == pytest.approx(value)
    score = await build_scorer({"type": "token_f1", "threshold": 0.6})(output, item(target))
    assert score.value == pytest.approx(value) and score.passed is (value >= 0.6)


def length_ratio(output: str, item: EvalItem) -> float:
    """A user scorer returning a float."""
    return min(len(output), len(item.target)) / max(len(output), len(item.target), 1)


async def async_bool(output: str, item: EvalItem) -> bool:
    """A user scorer that is async and returns a bool."""
    return output == item.target


def returns_garbage(output: str, item: EvalItem) -> object:
    return "yes"


@pytest.mark.parametrize(
    ("path", "output", "target", "passed", "value"),
    [
        ("tests.evaluation.test_scorers:length_ratio", "abcd", "abcd", True, 1.0),
        ("tests.evaluation.test_scorers:length_ratio", "ab", "abcd", False, 0.5),
        ("tests.evaluation.test_scorers:async_bool", "x", "x", True, 1.0),
        ("tests.evaluation.test_scorers:async_bool", "x", "y", False, 0.0),
    ],
)
async def test_python_callable(
    path: str, output: str, target: str, passed: bool, value: float
) -> None:
    score = await build_scorer({"type": "python", "path": path})(output, item(target))
    assert (score.passed, score.value) == (passed, value)


async def test_python_callable_bad_return_is_an_error() -> None:
    scorer = build_scorer(
        {"type": "python", "path": "tests.evaluation.test_scorers:returns_garbage"}
    )
    with pytest.raises(ValueError, match="returned 'yes'"):
        await scorer("x", item("x"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "fuzzy"}, "scorer type 'fuzzy' is unknown"),
        ({}, "scorer type None is unknown"),
        ({"type": "exact", "casefold": True}, "bad settings"),
        ({"type": "regex", "pattern": "(unclosed"}, "is invalid"),
        ({"type": "python", "path": "no_colon"}, "package.module:function"),
        ({"type": "python", "path": "no_such_module_xyz:f"}, "cannot import"),
        ({"type": "python", "path": "tests.evaluation.test_scorers:nope"}, "has no 'nope'"),
    ],
)
def test_build_scorer_rejects_bad_config(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as err:
        build_scorer(spec)
    assert err.value.exit_code == 2
