"""The import contracts in pyproject.toml catch what they promise to: each case adds one
wrong import to a copy of the package and expects lint-imports to refuse it, by name."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import mailbot

pytestmark = pytest.mark.integration  # runs lint-imports as a process

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("layers") / "tree"
    shutil.copytree(
        ROOT / "mailbot", tree / "mailbot", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_package_as_it_is_keeps_every_contract(clean_copy: Path) -> None:
    result = lint_imports(clean_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "refusal"),
    [
        # A pure stage reaching for the database.
        (
            "inbound/parse.py",
            "import mailbot.store.store",
            "mailbot.inbound is not allowed to import mailbot.store",
        ),
        # The old circle, hidden from the interpreter but not from the contract.
        (
            "pipeline/handling.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mailbot.pipeline.poll",
            "No cycles are allowed in mailbot.pipeline.",
        ),
        # The command line asking SQL itself instead of the store.
        ("cli/people.py", "import sqlalchemy", "mailbot.cli is not allowed to import sqlalchemy"),
        # The store making a connection of its own.
        ("store/outbox.py", "import socket", "mailbot.store is not allowed to import socket"),
    ],
)
def test_a_wrong_import_breaks_a_contract(
    clean_copy: Path, tmp_path: Path, module: str, wrong_import: str, refusal: str
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(clean_copy, tree)
    path = tree / "mailbot" / module
    path.write_text(path.read_text() + f"\n{wrong_import}\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert refusal in result.stdout


def test_every_top_level_module_has_a_layer() -> None:
    # A module left out of the layers would be free to import anything, unnoticed.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    layered = {name.strip() for layer in layers for name in layer.split("|")}
    top_level = {f"mailbot.{m.name}" for m in pkgutil.iter_modules(mailbot.__path__)}
    assert top_level - {"mailbot.__main__"} == layered
