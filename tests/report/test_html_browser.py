"""report.html in a real headless Chromium: it renders offline, its charts are drawn, its script runs cleanly.

The page's own script writes `#render-status[data-ok="true"]` only after it ran to the end and found an SVG with
drawn elements in every chart figure; Chromium's console log (stderr) must hold no uncaught error. A copy of the
page with a broken script proves the check can fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.support.rows import Plant, Scenario, write_run

from guardrail.app.report import build_reports
from guardrail.project import Project

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHARTS = ("chart-accuracy", "chart-paired", "chart-pareto", "chart-slices", "chart-bias")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)"),
]


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Uncaught" in line or re.search(r"CONSOLE.*[Ee]rror", line)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    (root / "policies" / "gate").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "gate" / "eval.rego", root / "policies" / "gate" / "eval.rego")
    plants = [
        Plant("sim/frontier", 0.96, cost=0.0019, latency=2.0),
        Plant("sim/balanced", 0.95, cost=0.0008),
        Plant("sim/budget", 0.82, hard_accuracy=0.55, cost=0.0002, latency=0.5),
        Plant("sim/reckless", 0.93, violation_rate=0.05, cost=0.0004),
        Plant("sim/skewed", 0.93, flip_rate=0.2, cost=0.0005),
    ]
    run_dir = write_run(
        root / "reports", Scenario(plants, tasks=150, groups=40, seed=2, coupling=0.95), proposed="sim/balanced"
    )
    outcome = build_reports(run_dir, track=False, tracking_uri=None, project=Project(root))
    return outcome.files["html"]


def test_report_renders_with_every_chart_and_no_console_error(report: Path, tmp_path: Path) -> None:
    done = _chromium(report, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    status = re.search(r'<p id="render-status"[^>]*>', dom)
    assert status is not None, dom[-2000:]
    assert 'data-ok="true"' in status.group(0) and f'data-charts="{len(CHARTS)}"' in status.group(0)
    for chart in CHARTS:
        figure = re.search(rf'<figure class="chart" id="{chart}">(.*?)</figure>', dom, re.S)
        assert figure is not None and "<svg" in figure.group(1), chart
    assert dom.count("<circle") >= 5 * 3  # accuracy, paired and Pareto points
    assert '<polyline class="frontier"' in dom  # frontier and balanced both pass: the front joins them
    assert "simulated" in dom
    assert _errors(done.stderr) == []


def test_report_screenshot_is_drawn(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = _chromium(report, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,3600")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000  # not a blank page
    assert _errors(done.stderr) == []


def test_a_broken_script_is_caught(report: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(report.read_text().replace('"use strict";', '"use strict"; undefinedFunction();', 1))
    done = _chromium(broken, tmp_path / "profile", "--dump-dom")
    assert 'data-ok="true"' not in done.stdout
    assert _errors(done.stderr), done.stderr[-2000:]
