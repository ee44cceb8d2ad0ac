"""Where test data lives, independent of where the checkout is."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPO_ROOT / "tests" / "data"
# smclarify's output on a seeded synthetic credit dataset (copied from the team's shared/data/golden).
GOLDEN_DIR = TEST_DATA / "golden"
# What the SageMaker SDK builds and accepts (tests/data/sdk/make_fixtures.py).
SDK_FIXTURES = TEST_DATA / "sdk" / "sdk_fixtures.json"
DAGS_DIR = REPO_ROOT / "dags"
