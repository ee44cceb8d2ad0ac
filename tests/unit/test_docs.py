"""The documentation's examples run against the code, so README.md and docs/ cannot silently rot.

Every fenced ``python`` block of README.md and docs/*.md must compile, and is executed unless the
line before its fence is ``<!-- not-executed -->`` (kept for the few examples that need a live AWS
account, S3 objects or an upstream task). The blocks of one page run in order in one namespace, in a
temporary working directory, so a page may build on its earlier examples exactly as a reader does.
The only context a page gets from this test is what it says it assumes:

* ``gates.md`` talks about "an analysis task ``bias_audit``" and a ``deploy`` task: each of its
  blocks runs inside a fresh DAG that holds those two (empty) tasks;
* pages that read ``tests/data/golden/synthetic_credit.csv``, ``analysis.json`` or
  ``baseline/analysis.json`` find them in the working directory: the golden CSV, and smclarify's
  output for it (plus a Kernel SHAP block in the documented shape).

Besides: JSON blocks parse, relative links and their anchors resolve, README and docs/index.md link
every page, the README keeps its story order and a two-command Quickstart, and the engine CLI
example of docs/engine.md reproduces smclarify's golden numbers.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import GOLDEN_DIR, REPO_ROOT

DOCS = REPO_ROOT / "docs"
README = REPO_ROOT / "README.md"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
NOT_EXECUTED = "<!-- not-executed -->"
#: Pages whose blocks each run inside a fresh DAG holding the tasks the page refers to.
DAG_CONTEXT_PAGES = {"gates.md"}
#: The examples that may be skipped; a new one needs a reason, not just a marker.
MAX_NOT_EXECUTED = 6

_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the first code line
    lang: str
    code: str
    executed: bool

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    """Fenced blocks of a Markdown page, with the not-executed marker of the line before the fence."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        assert end < len(lines), f"{page.name}:{i + 1}: code fence is never closed"
        marked = i > 0 and lines[i - 1].strip() == NOT_EXECUTED
        blocks.append(Block(page, i + 2, match.group(1), "\n".join(lines[i + 1 : end]) + "\n", not marked))
        i = end + 1
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in code_blocks(page)]
PYTHON_BLOCKS = [block for block in ALL_BLOCKS if block.lang == "python"]
PAGES_WITH_PYTHON = sorted({block.page for block in PYTHON_BLOCKS}, key=lambda p: p.name)


def golden_case(name: str = "sex_female") -> dict:
    cases = json.loads((GOLDEN_DIR / "smclarify_golden.json").read_text())
    return next(case for case in cases if case["name"] == name)


def _analysis_document() -> dict:
    """smclarify's analysis.json for the golden CSV, plus Kernel SHAP output in the documented shape."""
    case = golden_case()
    return {
        "version": "1.0",
        "pre_training_bias_metrics": case["pre_training_bias_metrics"],
        "post_training_bias_metrics": case["post_training_bias_metrics"],
        "explanations": {
            "kernel_shap": {
                "label0": {
                    "global_shap_values": {"sex": 0.031, "age": 0.012, "credit_amount": 0.052},
                    "expected_value": 0.48,
                }
            }
        },
    }


@pytest.fixture
def docs_workdir(tmp_path, monkeypatch) -> Path:
    """A working directory holding the files the pages read."""
    golden = tmp_path / "tests" / "data" / "golden"
    golden.mkdir(parents=True)
    shutil.copy(GOLDEN_DIR / "synthetic_credit.csv", golden / "synthetic_credit.csv")
    document = json.dumps(_analysis_document())
    (tmp_path / "analysis.json").write_text(document)
    (tmp_path / "baseline").mkdir()
    (tmp_path / "baseline" / "analysis.json").write_text(document)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run_in_dag_context(block: Block, namespace: dict, index: int) -> None:
    import pendulum
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG, Param

    with DAG(
        dag_id=f"docs_{block.page.stem.replace('-', '_')}_{index}",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        params={"first_run": Param(False, type="boolean")},
    ):
        namespace["bias_audit"] = EmptyOperator(task_id="bias_audit")
        namespace["deploy"] = EmptyOperator(task_id="deploy")
        namespace["endpoint_config"] = {"Model": {}, "EndpointConfig": {}, "Endpoint": {}}
        exec(compile(block.code, block.where, "exec"), namespace)


def run_page(page: Path) -> dict:
    """Execute the page's runnable Python blocks in order in one namespace; return the namespace."""
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for index, block in enumerate(b for b in PYTHON_BLOCKS if b.page == page and b.executed):
        if page.name in DAG_CONTEXT_PAGES:
            _run_in_dag_context(block, namespace, index)
        else:
            exec(compile(block.code, block.where, "exec"), namespace)
    return namespace


# --- every block ----------------------------------------------------------------------------------


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_python_block_compiles(block):
    compile(block.code, block.where, "exec")


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "json"], ids=lambda b: b.where)
def test_json_block_parses(block):
    text = block.code.strip()
    # Fragments of a larger document ('"methods": {...}') are shown without the outer braces.
    json.loads(text if text.startswith(("{", "[")) else "{" + text + "}")


def test_not_executed_markers_sit_on_python_blocks_and_stay_few():
    skipped = [b for b in PYTHON_BLOCKS if not b.executed]
    marked = sum(page.read_text(encoding="utf-8").count(NOT_EXECUTED) for page in PAGES)
    assert marked == len(skipped), "a not-executed marker must sit on the line right before a ```python fence"
    assert len(skipped) <= MAX_NOT_EXECUTED, [b.where for b in skipped]


# --- executing the pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON, ids=lambda p: p.name)
def test_page_examples_run(page, docs_workdir):
    run_page(page)


def test_readme_examples_build_what_they_say(docs_workdir):
    ns = run_page(README)
    config = ns["config"].to_dict()
    assert list(config)[:3] == ["dataset_type", "headers", "label"]
    assert config["facet"] == [{"name_or_index": "sex", "value_or_threshold": ["female"]}]
    assert ns["local_audit"].compute == "local"
    assert ns["audit"].compute == "sagemaker"
    dag = ns["dag"]
    assert dag.task_dict["fairness_gate"].upstream_task_ids == {"pre_training_bias"}


def test_gates_library_example_finds_the_violations(docs_workdir):
    ns = run_page(DOCS / "gates.md")
    outcome = ns["outcome"]
    di = golden_case()["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]
    (di_value,) = [m["value"] for m in di if m["name"] == "DI"]
    assert not 0.8 <= di_value <= 1.25  # the golden DI breaks the four-fifths rule ...
    assert [(v.metric, v.check) for v in outcome.violations] == [("DI", "threshold")]  # ... no drift
    report = json.loads((docs_workdir / "constraint_violations.json").read_text())
    assert [v["metric_name"] for v in report["violations"]] == ["DI"]


def test_engine_cli_example_reproduces_the_golden_metrics(docs_workdir):
    run_page(DOCS / "engine.md")  # writes analysis_config.json
    (example,) = [
        b
        for b in ALL_BLOCKS
        if b.page.name == "engine.md" and b.lang == "bash" and "synthetic_credit" in b.code
    ]
    command = shlex.split(example.code.replace("\\\n", " "), comments=True)
    assert command[:3] == ["python", "-m", "airflow_provider_clarify.engine"]
    done = subprocess.run(
        [sys.executable, *command[1:]], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    written = Path(done.stdout.strip().splitlines()[-1])
    assert written == Path("out/analysis.json")
    assert (docs_workdir / "out" / "report.html").is_file()
    produced = json.loads(written.read_text())
    golden = golden_case()
    for section in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        ours = {m["name"]: m for m in produced[section]["facets"]["sex"][0]["metrics"]}
        for metric in golden[section]["facets"]["sex"][0]["metrics"]:
            got = ours[metric["name"]]
            if metric.get("value") is None:
                assert got.get("value") is None, metric["name"]
            else:
                assert math.isclose(got["value"], metric["value"], rel_tol=1e-9, abs_tol=1e-12), metric[
                    "name"
                ]


def test_engine_cli_flags_in_the_docs_exist():
    done = subprocess.run(
        [sys.executable, "-m", "airflow_provider_clarify.engine", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    documented = {
        flag
        for block in ALL_BLOCKS
        if block.lang == "bash"
        and "airflow_provider_clarify.engine" in block.code
        and _subcommand(block) is None  # subcommands are checked by the next test
        for flag in re.findall(r"(--[a-z][a-z-]+)", block.code)
    }
    assert {"--analysis-config", "--dataset", "--output"} <= documented
    for flag in documented:
        assert flag in done.stdout, f"{flag} is documented but the CLI does not have it"


SUBCOMMANDS = {
    "monitor": {"--job-definition", "--scheduled-time", "--data-capture-uri"},
    "explain-server": {"--explainer-config", "--model-url"},
}


def _subcommand(block: Block) -> str | None:
    for name in SUBCOMMANDS:
        if f"airflow_provider_clarify.engine {name}" in block.code:
            return name
    return None


@pytest.mark.parametrize("subcommand", sorted(SUBCOMMANDS))
def test_engine_subcommand_flags_in_the_docs_exist(subcommand):
    done = subprocess.run(
        [sys.executable, "-m", "airflow_provider_clarify.engine", subcommand, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    documented = {
        flag
        for block in ALL_BLOCKS
        if block.lang == "bash" and _subcommand(block) == subcommand
        for flag in re.findall(r"(--[a-z][a-z-]+)", block.code)
    }
    assert SUBCOMMANDS[subcommand] <= documented
    for flag in documented:
        assert flag in done.stdout, f"{flag} is documented but the {subcommand} subcommand does not have it"


# --- links and structure ---------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _prose(page: Path) -> str:
    """The page without fenced blocks and inline code (whose brackets are not links)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _links(page: Path) -> list[str]:
    return [m.group(1) for m in re.finditer(r"\[[^\]]*\]\(([^)\s]+)\)", _prose(page))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(page):
    for link in _links(page):
        if re.match(r"^[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: broken link {link}"
        if anchor:
            headings = re.findall(r"^#+\s+(.*)$", _prose_keep_code_spans(target), flags=re.M)
            assert anchor in {_slug(h) for h in headings}, f"{page.name}: no heading for #{anchor} in {path}"


def _prose_keep_code_spans(page: Path) -> str:
    return re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_readme_and_index_link_every_docs_page():
    pages = {p.name for p in DOCS.glob("*.md")}
    readme_links = {Path(link).name for link in _links(README) if link.startswith("docs/")}
    assert pages <= readme_links, f"README does not link {sorted(pages - readme_links)}"
    index_links = {Path(link).name for link in _links(DOCS / "index.md") if link.endswith(".md")}
    assert pages - {"index.md"} <= index_links, (
        f"docs/index.md misses {sorted(pages - index_links - {'index.md'})}"
    )


def test_readme_story_order_and_two_command_quickstart():
    headings = re.findall(r"^## (.*)$", _prose_keep_code_spans(README), flags=re.M)
    expected = [
        "Quickstart",
        "What `make demo` shows",
        "Install",
        "The config classes",
        "The operators: on SageMaker or local",
        "Fairness gates",
        "The open engine on its own",
        "Development",
    ]
    assert [h for h in headings if h in expected] == expected
    assert headings[: len(expected)] == expected
    quickstart = next(b for b in code_blocks(README) if b.lang == "bash")
    commands = [line.split("#")[0].strip() for line in quickstart.code.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M)
    assert re.search(r"^test:", makefile, re.M)
