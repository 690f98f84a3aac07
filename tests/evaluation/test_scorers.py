"""Scorers: table tests, one table per scorer."""

from __future__ import annotations

import pytest

from tasks.evaluation.errors import ConfigurationError
from tasks.evaluation.scorers import (
    build_scorer,
    check_scorer,
    exact,
    json_field,
    normalized,
    regex,
)
from tasks.evaluation.scorers.f1 import f1
from tasks.evaluation.scorers.structured import extract_number
from tasks.evaluation.types import EvalItem, Score, Scorer

pytestmark = pytest.mark.anyio


def item(target: str) -> EvalItem:
    return EvalItem(key="k", input="question?", target=target)


async def check(spec: Scorer | dict[str, object], output: str, target: str) -> Score:
    scorer = build_scorer(spec) if isinstance(spec, dict) else spec
    score = await scorer(output, item(target))
    assert 0.0 <= score.value <= 1.0
    assert score.passed == (score.value == 1.0)
    return score


@pytest.mark.parametrize(
    ("spec", "output", "target", "passed"),
    [
        ({"kind": "exact"}, "billing", "billing", True),
        ({"kind": "exact"}, " billing\n", "billing", True),
        (exact(strip=False), " billing", "billing", False),
        ({"kind": "exact"}, "Billing", "billing", False),
        ({"kind": "normalized"}, "  Billing. ", "billing", True),
        ({"kind": "normalized"}, "The   IT-desk!", "the itdesk", True),
        (normalized(case=False), "Billing", "billing", False),
        ({"kind": "normalized"}, "billing team", "billing", False),
        ({"kind": "regex", "pattern": r"\bP[0-3]\b"}, "priority P2 please", "", True),
        ({"kind": "regex", "pattern": r"\bP[0-3]\b"}, "priority P7", "", False),
        (regex(), "answer: 42", r"\d+", True),
        (regex("^{target}$", full=True), "a.b", "a.b", True),
        (regex("^{target}$", full=True), "axb", "a.b", False),
        ({"kind": "regex", "pattern": "yes", "ignore_case": True}, "YES", "", True),
    ],
)
async def test_string_matchers(
    spec: Scorer | dict[str, object], output: str, target: str, passed: bool
) -> None:
    assert (await check(spec, output, target)).passed is passed


@pytest.mark.parametrize(
    ("fields", "output", "target", "value"),
    [
        (["label"], '{"label": "it", "p": 1}', '{"label": "it", "p": 2}', 1.0),
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
async def test_json_field(fields: object, output: str, target: str, value: float) -> None:
    score = await check({"kind": "json_field", "fields": fields}, output, target)
    assert score.value == value and score.passed is (value == 1.0)


async def test_json_field_normalize_strings() -> None:
    scorer = json_field("label", normalize=True)
    assert (await check(scorer, '{"label": "IT."}', '{"label": "it"}')).passed


@pytest.mark.parametrize(
    ("spec", "output", "target", "passed"),
    [
        ({"kind": "numeric"}, "42", "42", True),
        ({"kind": "numeric"}, "The answer is 1,234.5.", "1234.5", True),
        ({"kind": "numeric", "tolerance": 0.01}, "3.141", "3.14", True),
        ({"kind": "numeric", "tolerance": 0.0001}, "3.141", "3.14", False),
        ({"kind": "numeric", "tolerance": 0.05, "relative": True}, "104", "100", True),
        ({"kind": "numeric", "tolerance": 0.03, "relative": True}, "104", "100", False),
        ({"kind": "numeric", "tolerance": 5.0}, "104", "100", True),
        ({"kind": "numeric"}, "no number", "5", False),
        ({"kind": "numeric"}, "-2e3", "-2000", True),
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
    score = await build_scorer({"kind": "token_f1", "threshold": 0.6})(output, item(target))
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
    score = await build_scorer({"kind": "python", "callable": path})(output, item(target))
    assert (score.passed, score.value) == (passed, value)


async def test_python_callable_bad_return_is_an_error() -> None:
    scorer = build_scorer(
        {"kind": "python", "callable": "tests.evaluation.test_scorers:returns_garbage"}
    )
    with pytest.raises(ValueError, match="returned 'yes'"):
        await scorer("x", item("x"))


async def test_python_threshold_is_the_declared_option() -> None:
    declared = {"kind": "python", "callable": "tests.evaluation.test_scorers:length_ratio"}
    lenient = build_scorer({**declared, "options": {"threshold": 0.5}})
    assert (await lenient("ab", item("abcd"))).passed
    assert not (await build_scorer(declared)("ab", item("abcd"))).passed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "fuzzy"}, "kind"),
        ({"type": "exact"}, "type: Extra inputs are not permitted"),
        ({"kind": "exact", "casefold": True}, "casefold"),
        ({"kind": "regex", "pattern": "(unclosed"}, "invalid regular expression"),
        ({"kind": "numeric", "tolerance": -1}, "tolerance"),
        ({"kind": "token_f1", "threshold": 1.5}, "threshold"),
        ({"kind": "python", "callable": "no_colon"}, "callable"),
        ({"kind": "python", "callable": "m:f", "options": {"mode": 1}}, "only 'threshold'"),
        ({"kind": "python", "callable": "no_such_module_xyz:f"}, "cannot import"),
        ({"kind": "python", "callable": "tests.evaluation.test_scorers:nope"}, "has no 'nope'"),
    ],
)
def test_build_scorer_rejects_bad_config(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as err:
        build_scorer(spec)
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "llm_judge", "route": "openai/judge", "rubric": "r", "api_key_env": "UNSET_KEY"},
        {"kind": "python", "callable": "not_installed.module:score"},
    ],
)
def test_check_scorer_needs_no_key_or_module(spec: dict[str, object]) -> None:
    check_scorer(spec)  # the run's environment is not consulted
    with pytest.raises(ConfigurationError):
        build_scorer(spec, env={})
