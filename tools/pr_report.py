"""Build the pull-request report: what the PR changes in metrics, params and plots vs its base.

Called by ``.github/workflows/pr-report.yml`` (a thin caller) and testable anywhere::

    python tools/pr_report.py --base origin/main --out pr-report \\
        --repo owner/name --head-repo owner/name

It

1. reproduces the pipeline only when ``dvc status`` shows a changed input (code,
   params, command). Outputs that are merely missing from the DVC cache, as on a
   fresh CI checkout, do not count: the committed metrics and plots already match
   ``dvc.lock``, and retraining on different runner hardware would only add
   spurious metric changes;
2. writes ``<out>/report.md``, short enough for a PR comment: the headline metric
   diff (``--headline`` file, at most ``--max-rows`` rows) and the changed params;
3. writes the full diffs to ``<out>/`` (``metrics_diff.md``/``.json``,
   ``params_diff.md``, ``plots_diff/index.html``) and renders every Vega plot of
   ``dvc plots diff`` to ``<out>/plots/*.svg`` and ``*.png`` with vl-convert, so no
   image goes to a third-party host;
4. appends the report to ``$GITHUB_STEP_SUMMARY`` when set, and posts it as a CML
   comment only when the PR comes from this repository (a fork's token is
   read-only, so the comment would fail).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import vl_convert as vlc

# vl-convert's oldest bundled Vega-Lite 5; DVC writes v5 specs (its page loads 5.2.0).
VL_VERSION = "5.8"
IGNORED_STATUS = {"deleted", "not in cache"}  # missing from the cache, not changed


def run(args: list[str], cwd: Path) -> str:
    """Run a command in ``cwd``, fail loudly with its stderr, return its stdout."""
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def dvc(*args: str, cwd: Path) -> str:
    """``dvc <args>`` with the running interpreter's DVC."""
    return run([sys.executable, "-m", "dvc", *args], cwd)


def changed_inputs(status: dict) -> list[str]:
    """What ``dvc status --json`` reports as changed inputs, as ``stage: item`` strings.

    Deps and outs that are only absent (``deleted``, ``not in cache``) are skipped:
    they mean "no DVC cache here", not "the PR changed something".

    >>> changed_inputs({"train": [{"changed deps": {"src/a.py": "modified",
    ...     "data/x": "deleted"}}, {"changed outs": {"checkpoint": "not in cache"}}]})
    ['train: src/a.py modified']
    >>> changed_inputs({"train": ["changed command"]})
    ['train: changed command']
    """
    changes = []
    for stage, entries in status.items():
        for entry in entries:
            if isinstance(entry, str):
                changes.append(f"{stage}: {entry}")
                continue
            for path, state in entry.get("changed deps", {}).items():
                if isinstance(state, dict):  # a params file: {"train": "modified"}
                    changes += [f"{stage}: {path}:{key} {v}" for key, v in state.items()]
                elif state not in IGNORED_STATUS:
                    changes.append(f"{stage}: {path} {state}")
    return changes


def reproduce_if_needed(repo: Path) -> str:
    """Run ``dvc repro`` only if an input changed; return one line saying what happened."""
    changes = changed_inputs(json.loads(dvc("status", "--json", cwd=repo) or "{}"))
    if not changes:
        return "Pipeline not rerun: `dvc status` shows no changed input."
    dvc("repro", cwd=repo)
    shown = "; ".join(changes[:5]) + (f"; and {len(changes) - 5} more" if len(changes) > 5 else "")
    return f"Pipeline reproduced (`dvc repro`) because of: {shown}."


def first_rows(table: str, max_rows: int) -> tuple[str, int]:
    """The header and first ``max_rows`` rows of a markdown table, and its row count."""
    lines = [line for line in table.strip().splitlines() if line.startswith("|")]
    rows = lines[2:]
    return "\n".join(lines[:2] + rows[:max_rows]), len(rows)


def table_section(title: str, table: str, max_rows: int, artifact: str) -> str:
    """A report section holding at most ``max_rows`` rows of a ``--md`` diff."""
    head, count = first_rows(table, max_rows)
    if count == 0:
        return f"### {title}\n\nNo changes.\n"
    more = f"\n\n{count - max_rows} more rows in `{artifact}`." if count > max_rows else ""
    return f"### {title}\n\n{head}{more}\n"


def write_full_diffs(repo: Path, base: str, out: Path) -> str:
    """Write the full metrics, params and plots diffs to ``out``; return the params diff md.

    The plots page uses the repository's ``plots.html_template``, so with the
    offline template it opens from the downloaded artifact without network.
    """
    params_md = dvc("params", "diff", base, "--md", cwd=repo)
    (out / "metrics_diff.md").write_text(dvc("metrics", "diff", base, "--md", cwd=repo))
    (out / "metrics_diff.json").write_text(dvc("metrics", "diff", base, "--json", cwd=repo))
    (out / "params_diff.md").write_text(params_md)
    dvc("plots", "diff", base, "-o", str(out / "plots_diff"), cwd=repo)
    return params_md


def render_plots(repo: Path, base: str, out: Path) -> list[str]:
    """Render each Vega plot of ``dvc plots diff base`` to SVG and PNG; return the stems.

    vl-convert draws the specs locally (no browser, no network), so the images can
    go into the job's artifact instead of an image host.
    """
    plots = json.loads(dvc("plots", "diff", base, "--json", cwd=repo))["data"]
    (out / "plots").mkdir(exist_ok=True)
    stems = []
    for plot_id, renders in plots.items():
        for render in renders:
            if render["type"] != "vega":
                continue
            stem = re.sub(r"[^\w.-]+", "_", plot_id)
            spec = render["content"]
            (out / "plots" / f"{stem}.svg").write_text(
                vlc.vegalite_to_svg(spec, vl_version=VL_VERSION)
            )
            png = vlc.vegalite_to_png(spec, vl_version=VL_VERSION, scale=1.5)
            (out / "plots" / f"{stem}.png").write_bytes(png)
            stems.append(stem)
    return stems


def may_comment(repo_name: str, head_repo: str) -> bool:
    """True when the PR's head is in this repository, so its token can write comments.

    >>> may_comment("o/r", "o/r"), may_comment("o/r", "fork/r"), may_comment("o/r", "")
    (True, False, False)
    """
    return bool(repo_name) and head_repo == repo_name


def run_url() -> str:
    """This workflow run's page on GitHub (where the artifact is), or "" outside Actions."""
    parts = [
        os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    ]
    return "{}/{}/actions/runs/{}".format(*parts) if all(parts) else ""


def build_report(
    args: argparse.Namespace, status_line: str, headline_md: str, params_md: str
) -> str:
    """The comment body: what ran, the headline metric diff, the params diff, where the rest is.

    It holds no image links: CML would upload local images to its asset host.
    """
    url = run_url()
    where = f"the `pr-report` artifact of [this run]({url})" if url else f"`{args.out}`"
    return "\n".join(
        [
            f"## Pipeline report: this PR vs `{args.base}`",
            "",
            status_line,
            "",
            table_section(
                f"Headline metrics (`{args.headline}`)",
                headline_md,
                args.max_rows,
                "metrics_diff.md",
            ),
            table_section("Params", params_md, args.max_rows, "params_diff.md"),
            "Full metric and param diffs, the `dvc plots diff` page (renders offline) and every"
            f" plot as SVG and PNG are in {where}.",
            "",
        ]
    )


def publish(report: Path, comment: bool, cwd: Path) -> str:
    """Append the report to the job summary, and comment on the PR when ``comment``.

    ``--publish=false`` keeps CML from uploading anything to its asset host.
    """
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(report.read_text())
    if not comment:
        return "PR from a fork (read-only token): report in the job summary and artifact only."
    run(["cml", "comment", "create", "--publish=false", str(report)], cwd)
    return "Report posted as a PR comment."


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; GitHub values come in as arguments, not read from the event."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare with")
    parser.add_argument("--out", type=Path, default=Path("pr-report"), help="artifact directory")
    parser.add_argument("--repo", default="", help="github.repository")
    parser.add_argument("--head-repo", default="", help="the PR head's repo full_name")
    parser.add_argument("--headline", default="metrics/evaluate.json", help="headline metrics file")
    parser.add_argument("--max-rows", type=int, default=20, help="rows per table in the comment")
    parser.add_argument("--repo-dir", type=Path, default=Path.cwd(), help="the DVC repository")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Reproduce if needed, write the report and artifacts, then publish."""
    args = parse_args(argv)
    args.out, args.repo_dir = args.out.resolve(), args.repo_dir.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    status_line = reproduce_if_needed(args.repo_dir)
    params_md = write_full_diffs(args.repo_dir, args.base, args.out)
    headline_md = dvc(
        "metrics", "diff", args.base, "--md", "--targets", args.headline, cwd=args.repo_dir
    )
    stems = render_plots(args.repo_dir, args.base, args.out)
    report = args.out / "report.md"
    report.write_text(build_report(args, status_line, headline_md, params_md))
    print(status_line)
    print(f"rendered {len(stems)} plots to {args.out / 'plots'}")
    print(publish(report, may_comment(args.repo, args.head_repo), args.repo_dir))


if __name__ == "__main__":
    main()
