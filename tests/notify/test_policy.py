from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.notify.policy import (
    NoticePlan,
    PriorDecision,
    is_new_watch,
    plan_digest,
    plan_notice,
    quarter_index,
)

PLATFORM = "C0PLATFORM"


@pytest.mark.parametrize(
    ("verdict", "erosion", "previous", "platform", "expected"),
    [
        ("retire", None, None, PLATFORM, NoticePlan("retire", "owner")),
        ("retire", None, PriorDecision("2026Q3", "retire"), None, NoticePlan("retire", "owner")),
        ("keep", "2027Q4", None, PLATFORM, None),
        ("inconclusive", None, None, PLATFORM, NoticePlan("inconclusive", "platform", PLATFORM)),
        ("inconclusive", None, None, None, None),
        # watch: first appearance
        ("watch", "2027Q2", None, PLATFORM, NoticePlan("watch", "owner")),
        ("watch", "2027Q2", PriorDecision("2026Q3", "keep"), None, NoticePlan("watch", "owner")),
        ("watch", None, PriorDecision("2026Q3", "retire"), None, NoticePlan("watch", "owner")),
        # watch again, same or later erosion: quiet
        ("watch", "2027Q2", PriorDecision("2026Q3", "watch", "2027Q2"), None, None),
        ("watch", "2027Q3", PriorDecision("2026Q3", "watch", "2027Q2"), None, None),
        ("watch", None, PriorDecision("2026Q3", "watch", "2027Q2"), None, None),
        ("watch", None, PriorDecision("2026Q3", "watch", None), None, None),
        # watch again, erosion moved closer (or appeared): notice
        (
            "watch",
            "2027Q1",
            PriorDecision("2026Q3", "watch", "2027Q2"),
            None,
            NoticePlan("watch", "owner"),
        ),
        (
            "watch",
            "2027Q1",
            PriorDecision("2026Q3", "watch", None),
            None,
            NoticePlan("watch", "owner"),
        ),
    ],
)
def test_plan_notice(
    verdict: Any,
    erosion: str | None,
    previous: PriorDecision | None,
    platform: str | None,
    expected: NoticePlan | None,
) -> None:
    assert (
        plan_notice(
            verdict,
            projected_erosion_quarter=erosion,
            previous=previous,
            platform_channel=platform,
        )
        == expected
    )


def test_digest_goes_to_the_platform_channel_only_when_configured() -> None:
    assert plan_digest(PLATFORM) == NoticePlan("digest", "platform", PLATFORM)
    assert plan_digest(None) is None
    assert plan_digest("") is None


@pytest.mark.parametrize("bad", ["2026q1", "2026Q5", "26Q1", "", "2026Q0"])
def test_quarter_index_rejects_bad_quarters(bad: str) -> None:
    with pytest.raises(ValueError, match="2026Q3"):
        quarter_index(bad)


quarters = st.builds(lambda y, q: f"{y}Q{q}", st.integers(2000, 2100), st.integers(1, 4))


@given(quarters, quarters)
def test_quarter_index_orders_like_time(a: str, b: str) -> None:
    assert (quarter_index(a) < quarter_index(b)) == ((a[:4], a[5]) < (b[:4], b[5]))


@given(quarters, quarters)
def test_a_repeated_watch_notifies_only_when_erosion_moves_closer(now: str, before: str) -> None:
    new = is_new_watch(now, PriorDecision("2026Q1", "watch", before))
    assert new == (quarter_index(now) < quarter_index(before))


@given(st.sampled_from(["keep", "watch", "retire", "inconclusive"]), st.none() | quarters)
def test_owners_never_hear_about_keep_or_inconclusive(verdict: str, erosion: str | None) -> None:
    plan = plan_notice(verdict, projected_erosion_quarter=erosion, platform_channel=PLATFORM)  # type: ignore[arg-type]
    if verdict in ("keep", "inconclusive"):
        assert plan is None or plan.audience == "platform"
    else:
        assert plan is not None and plan.audience == "owner" and plan.kind == verdict
