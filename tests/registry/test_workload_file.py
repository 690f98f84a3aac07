"""The workloads file: schema, defaults, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.errors import WorkloadFileError
from registry.workload_file import load_workload_file
from registry.yaml_lines import YamlLimits, load_yaml, read_yaml_file
from vocabulary import Thresholds

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
version: 1
workloads:
  - name: w
    owner: {email: a@example.com}
    case: cost_distillation
    volume_per_day: 100
    eval_set: {path: set.jsonl}
    fine_tune: {name: ft, route: openai/ft}
    buy:
      - name: b
        route: openai/b
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "relitigate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_loads() -> None:
    loaded = load_workload_file(ROOT / "examples" / "relitigate.yaml")
    names = [w.name for w in loaded.workloads]
    assert names == ["ticket-triage", "contract-clauses"]
    cases = {w.case for w in loaded.workloads}
    assert cases == {"cost_distillation", "domain_expertise"}


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    loaded = load_workload_file(_write(tmp_path, MINIMAL))
    workload = loaded.workloads[0]
    assert workload.eval_set.scorer.kind == "exact"
    assert workload.fine_tune.runner == "api"
    assert workload.fine_tune.prompt.template == "{input}"
    assert workload.threshold_overrides() == {}
    assert workload.thresholds == Thresholds()
    assert Thresholds().quality_ratio_min == 0.95
    assert Thresholds().min_volume_per_day == 10_000_000


def test_only_given_thresholds_are_overrides(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    volume_per_day: 100\n", "    volume_per_day: 100\n    thresholds: {min_items: 50}\n"
    )
    loaded = load_workload_file(_write(tmp_path, text))
    assert loaded.workloads[0].threshold_overrides() == {"min_items": 50}


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        (
            "    volume_per_day: 100\n",
            "    volume_per_dya: 100\n",
            6,
            "workloads[0].volume_per_dya",
            "unknown field",
        ),
        ("case: cost_distillation", "case: cost", 5, "workloads[0].case", "cost_distillation"),
        ("route: openai/b", "route: ''", 11, "workloads[0].buy[0].route", "at least 1"),
        (
            "{name: ft, route: openai/ft}",
            "{name: ft}",
            8,
            "workloads[0].fine_tune.route",
            "required",
        ),
        (
            "{path: set.jsonl}",
            "{path: set.jsonl, scorer: {kind: regex, pattern: '('}}",
            7,
            "workloads[0].eval_set.scorer.pattern",
            "regular expression",
        ),
        (
            "{name: ft, route: openai/ft}",
            "{name: ft, route: x, prompt: {template: 'hi'}}",
            8,
            "workloads[0].fine_tune.prompt.template",
            "{input}",
        ),
        (
            "{name: ft, route: openai/ft}",
            "{name: ft, route: x, api_key_env: sk-live-1234}",
            8,
            "workloads[0].fine_tune.api_key_env",
            "never the key itself",
        ),
        (
            "  - name: w\n",
            "  - name: w\n    adopted: 2025Q7\n",
            4,
            "workloads[0].adopted",
            "pattern",
        ),
    ],
)
def test_errors_name_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, message: str
) -> None:
    assert old in MINIMAL
    path = _write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(WorkloadFileError) as caught:
        load_workload_file(path)
    error = caught.value
    assert (error.line, error.field) == (line, field), str(error)
    assert message in str(error)
    assert str(error).startswith(f"{path}:{line}: field '{field}'")


def test_duplicate_keys_are_rejected() -> None:
    with pytest.raises(WorkloadFileError, match="duplicate key 'a'") as caught:
        load_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert caught.value.line == 3


def test_line_map_points_at_keys() -> None:
    _, lines = load_yaml("top:\n  items:\n    - x: 1\n      y: 2\n    - x: 3\n", "f.yaml")
    assert lines.line_for(("top", "items", 0, "y")) == 4
    assert lines.line_for(("top", "items", 1, "x")) == 5
    assert lines.line_for(("top", "items", 1, "missing")) == 5


# -- limits: refused while composing, with the line where the limit was crossed -------------

SMALL = YamlLimits(max_bytes=200, max_alias_nodes=20, max_depth=5, max_number_chars=10)


def test_aliases_within_the_budget_load() -> None:
    text = "base: &b {temperature: 0, max_tokens: 8}\nft: {<<: *b, top_p: 1}\nbuy: *b\n"
    data, _ = load_yaml(text, "f.yaml", limits=SMALL)
    assert data["ft"] == {"temperature": 0, "max_tokens": 8, "top_p": 1}
    assert data["buy"] == {"temperature": 0, "max_tokens": 8}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (  # each alias of a nine-node list repeats it: the third one crosses 20 nodes
            "a: &a [1, 2, 3, 4, 5, 6, 7, 8]\nb: [*a, *a]\nc: *a\n",
            3,
            "aliases repeat more than 20 nodes (the limit",
        ),
        ("ok: 1\ndeep: [[[[[[1]]]]]]\n", 2, "nested deeper than 5 levels"),
        ("ok: 1\nn: 123456789012\n", 2, "a number of 12 characters (the limit is 10)"),
        ("ok: 1\nn: 1:2:3:4:5:6:7\n", 2, "a number of 13 characters"),
    ],
)
def test_limits_are_refused_with_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(WorkloadFileError) as caught:
        load_yaml(text, "f.yaml", limits=SMALL)
    assert caught.value.line == line, str(caught.value)
    assert message in str(caught.value)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 41, encoding="utf-8")  # 205 bytes
    with pytest.raises(WorkloadFileError, match=r"larger than 200 bytes \(the limit\)"):
        read_yaml_file(path, limits=SMALL)
    path.write_text("a: 1\n" * 40, encoding="utf-8")
    with pytest.raises(WorkloadFileError, match="duplicate key"):  # 200 bytes: read and parsed
        read_yaml_file(path, limits=SMALL)


def test_default_limits_hold_the_example_file() -> None:
    data, _ = read_yaml_file(ROOT / "examples" / "relitigate.yaml")
    assert len(data["workloads"]) == 2
