from datetime import date

import pytest

from tasks.decision import DecisionError, InvalidQuarterError, Quarter, next_review_date


@pytest.mark.parametrize(
    ("text", "year", "number"), [("2026Q4", 2026, 4), ("1999Q1", 1999, 1), (" 2027Q2 ", 2027, 2)]
)
def test_parse_and_print_round_trip(text: str, year: int, number: int) -> None:
    q = Quarter.parse(text)
    assert (q.year, q.number) == (year, number)
    assert str(q) == text.strip()


@pytest.mark.parametrize("bad", ["2026Q5", "2026Q0", "2026-Q1", "26Q1", "2026q1", "", "Q1"])
def test_bad_quarter_is_a_user_error_naming_the_value(bad: str) -> None:
    with pytest.raises(InvalidQuarterError) as info:
        Quarter.parse(bad)
    assert isinstance(info.value, DecisionError)
    assert info.value.exit_code == 2
    assert repr(bad) in str(info.value)


def test_arithmetic_crosses_year_boundaries() -> None:
    q = Quarter.parse("2026Q4")
    assert str(q + 1) == "2027Q1"
    assert str(q - 4) == "2025Q4"
    assert q - Quarter.parse("2025Q1") == 7
    assert str(q.next()) == "2027Q1"
    assert Quarter.parse("2025Q1") < q


@pytest.mark.parametrize(
    ("text", "first"),
    [("2026Q1", date(2026, 1, 1)), ("2026Q2", date(2026, 4, 1)), ("2026Q4", date(2026, 10, 1))],
)
def test_first_day(text: str, first: date) -> None:
    assert Quarter.parse(text).first_day() == first


def test_from_date() -> None:
    assert str(Quarter.from_date(date(2026, 11, 25))) == "2026Q4"
    assert str(Quarter.from_date(date(2026, 3, 31))) == "2026Q1"


def test_next_review_is_first_day_of_next_quarter() -> None:
    q = Quarter.parse("2026Q4")
    assert next_review_date(q, date(2026, 11, 25)) == date(2027, 1, 1)
    # a late re-run of an old quarter is reviewed after today's quarter, not in the past
    assert next_review_date(Quarter.parse("2025Q1"), date(2026, 5, 2)) == date(2026, 7, 1)
