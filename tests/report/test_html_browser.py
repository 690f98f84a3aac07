"""The HTML report in headless Chromium: it loads, its charts render, no console errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from relitigate.cli.app import app
from tests.report.cdp import CHROMIUM, Browser
from tests.report.seed import seed_registry


@pytest.fixture
def dialect() -> str:
    """The page does not depend on the database: SQLite is enough."""
    return "sqlite"


@pytest.fixture
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        reason = f"{CHROMIUM} is missing: run scripts/install-chromium.sh"
        if os.environ.get("RELITIGATE_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (CI requires the browser test)")
        pytest.skip(reason)
    return CHROMIUM


def test_html_report_in_chromium(
    chromium: str, migrated_url: str, session_factory: Any, tmp_path: Path
) -> None:
    with session_factory.begin() as session:
        seed_registry(session)
    page = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["report", "--format", "html", "--output", str(page)],
        env={"RELITIGATE_DATABASE_URL": migrated_url},
    )
    assert result.exit_code == 0, result.output

    with Browser(tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        assert browser.evaluate("document.title") == "relitigate report: latest decisions"
        images = browser.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(images) == 5
        assert all(complete and w > 300 and h > 150 for complete, w, h in images), images
        rows = "Array.from(document.querySelectorAll('table.sortable tbody tr'))"
        first = f"{rows}.map(r => r.cells[0].textContent)"
        assert browser.evaluate(first) == ["bravo", "charlie", "delta", "alpha", "echo"]
        browser.evaluate("document.querySelector('table.sortable th').click()")
        assert browser.evaluate(first) == ["alpha", "bravo", "charlie", "delta", "echo"]
        shot = browser.screenshot(tmp_path / "report.png")
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        assert browser.problems() == []


def test_the_console_check_catches_errors(chromium: str, tmp_path: Path) -> None:
    """The check above would see a broken page: an uncaught error and a console.error."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><script>console.error('boom'); missingFunction();</script></body></html>"
    )
    with Browser(tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        problems = browser.problems()
    assert any("boom" in p for p in problems), problems
    assert any("missingFunction" in p for p in problems), problems
