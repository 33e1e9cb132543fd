"""Regenerate the README's verified-numbers table from a real run of every shipped config.

    python scripts/update_readme.py

The table between the `rfprobe:summary` markers is replaced by what the tool prints;
tests/test_readme.py fails when the README and the tool disagree.
"""
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from rfprobe.families.seanet.config_files import load_config  # noqa: E402
from rfprobe.output.report import summary_table  # noqa: E402
from rfprobe.runs.verify import verify_config  # noqa: E402

START, END = "<!-- rfprobe:summary:start -->", "<!-- rfprobe:summary:end -->"


def readme_block(table: str) -> str:
    return f"{START}\n```\n{table}\n```\n{END}"


def replace_readme_block(name: str, body: str) -> None:
    """Replace the README text between <!-- rfprobe:NAME:start --> and <!-- rfprobe:NAME:end -->."""
    start, end = f"<!-- rfprobe:{name}:start -->", f"<!-- rfprobe:{name}:end -->"
    readme = REPOSITORY / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")


def main() -> int:
    paths = sorted((REPOSITORY / "configs").glob("*.yaml"))
    table = summary_table([verify_config(load_config(p), str(p)) for p in paths])
    replace_readme_block("summary", f"```\n{table}\n```")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
