"""Progress of long work: cadence from an injected clock (never the wall clock), lines, bar, hooks."""

from __future__ import annotations

import json
import logging
import os
import pty
import subprocess
import sys

import pytest

from airflow_provider_clarify.engine import progress
from airflow_provider_clarify.engine.runner import run_analysis
from tests.support.paths import REPO_ROOT
from tests.unit.engine.golden import GOLDEN_CSV, golden_case

LOGGER = "airflow_provider_clarify.engine.progress"


class FakeClock:
    """A monotonic clock that moves only when told to (or by ``step`` on every reading)."""

    def __init__(self, step: float = 0.0) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_lines_come_at_the_interval_not_per_call(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = FakeClock()
    reporter = progress.Reporter(interval=30, clock=clock)
    reporter.expect("Kernel SHAP", 1000, "records")
    for t in (5, 10, 20, 29):
        clock.now = t
        reporter.advance("Kernel SHAP", 50)
    assert lines(caplog) == []
    clock.now = 40
    reporter.advance("Kernel SHAP", 200)  # 400 done in 40 s: 10/s, 600 left: 60 s
    assert lines(caplog) == ["Kernel SHAP: 400 of 1,000 records (40%), 10 records/s, about 1m 00s left"]
    clock.now = 60
    reporter.advance("Kernel SHAP", 100)  # 20 s after the last line: not yet
    assert len(lines(caplog)) == 1
    clock.now = 100
    reporter.advance("Kernel SHAP", 500)  # reaches the total: a line, then the closing line
    assert lines(caplog)[1:] == [
        "Kernel SHAP: 1,000 of 1,000 records (100%), 10 records/s",
        "Kernel SHAP: 1,000 records done in 1m 40s (10 records/s)",
    ]


def test_a_short_stage_logs_nothing(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = FakeClock(step=1)
    reporter = progress.Reporter(interval=30, clock=clock)
    for _ in reporter.track("Bias metrics", [[1, 2], [3]], "rows"):
        pass
    assert lines(caplog) == []


def test_the_next_pass_over_a_source_knows_its_total(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    reporter = progress.Reporter(interval=30, clock=FakeClock(step=20))

    def source():
        return iter([[0] * 100, [0] * 100, [0] * 50])

    assert sum(map(len, reporter.track("Bias metrics", source(), "rows", source=source))) == 250
    assert sum(map(len, reporter.track("Bias metrics", source(), "rows", source=source))) == 250
    logged = [m for m in lines(caplog) if "done" not in m]
    second = [m for m in logged if "pass 2" in m]
    assert second
    assert all(" of 250 rows (" in m for m in second)
    assert any("left" in m for m in second)
    assert all(" of " not in m for m in logged if "pass 2" not in m)  # the first pass has no total


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59.4, "59s"), (61, "1m 01s"), (7260, "2h 01m")])
def test_durations(seconds, text):
    assert progress.format_duration(seconds) == text


def test_a_bias_run_logs_rows_and_rate(tmp_path, caplog):
    """The bias streaming loop reports each pass over the dataset (a clock that jumps 60 s per reading)."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    case = golden_case("amount_threshold_label")
    with progress.using(progress.Reporter(interval=30, clock=FakeClock(step=60))):
        run_analysis(case["analysis_config"], str(GOLDEN_CSV), str(tmp_path))
    rows = len(GOLDEN_CSV.read_text().splitlines()) - 1
    logged = lines(caplog)
    assert any(m.startswith(f"Bias metrics: {rows:,} rows, ") and m.endswith(" rows/s") for m in logged)
    assert any(m.startswith(f"Bias metrics, pass 2: {rows:,} of {rows:,} rows (100%)") for m in logged)
    assert any(m.startswith(f"Bias metrics: {rows:,} rows done in ") for m in logged)


def test_shap_and_pdp_runs_log_records_explained(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    config = {
        "dataset_type": "text/csv",
        "label": "approved",
        "excluded_columns": ["sex", "job", "housing", "score", "predicted"],
        "methods": {
            "shap": {"baseline": [[30, 2000, 12]], "num_samples": 8, "seed": 0},
            "pdp": {"grid_resolution": 4, "features": ["age"]},
        },
    }
    with progress.using(progress.Reporter(interval=30, clock=FakeClock(step=60))):
        run_analysis(config, str(GOLDEN_CSV), str(tmp_path), model=lambda x: x[:, 0] / 100)
    logged = lines(caplog)
    assert any(m.startswith("Kernel SHAP: 2,000 of 2,000 records (100%), ") for m in logged)
    assert any(m.startswith("Kernel SHAP: 2,000 records done in ") for m in logged)
    assert any(m.startswith("PDP: 8,000 of 8,000 predictions (100%)") for m in logged)


def _cli_args(tmp_path) -> list[str]:
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(golden_case("amount_threshold_label")["analysis_config"]))
    return ["-m", "airflow_provider_clarify.engine", "--analysis-config", str(path),
            "--dataset", str(GOLDEN_CSV), "--output", str(tmp_path / "out")]  # fmt: skip


def _on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal; what the terminal received."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, *args], stdout=follower, stderr=follower, stdin=follower,
                               cwd=REPO_ROOT, env=env)  # fmt: skip
    os.close(follower)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        received += chunk
    os.close(leader)
    return process.wait(timeout=120), received.decode("utf-8", "replace")


def test_cli_draws_a_bar_on_a_terminal(tmp_path):
    code, screen = _on_a_terminal(_cli_args(tmp_path))
    assert code == 0, screen
    assert "Bias metrics" in screen
    assert "━" in screen  # rich's bar
    assert "2000/2000" in screen  # the second pass knows its total


def test_cli_no_progress_option_turns_the_bar_off_on_a_terminal(tmp_path):
    code, screen = _on_a_terminal([*_cli_args(tmp_path), "--no-progress"])
    assert code == 0, screen
    assert "━" not in screen


def test_cli_draws_no_bar_when_not_on_a_terminal(tmp_path):
    done = subprocess.run([sys.executable, *_cli_args(tmp_path)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "━" not in done.stderr
    assert "\x1b[" not in done.stderr
