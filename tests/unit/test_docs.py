"""The docs match the code: the architecture picture draws every construct and is current; links resolve."""

from __future__ import annotations

import ast
import re
import sys

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "docs"))
import diagram

# The project's Lambda pattern, used by every function box; not a component of its own.
NOT_DRAWN = {"SecureFunction"}


def test_the_picture_draws_every_construct_in_stacks():
    defined = {node.name for path in (REPO_ROOT / "stacks").glob("*.py")
               for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "") == "Construct" for b in node.bases)}
    assert defined - NOT_DRAWN == diagram.constructs()


def test_the_committed_svg_is_what_the_script_draws():
    assert (REPO_ROOT / "docs/architecture.svg").read_text() == diagram.draw()  # python docs/diagram.py


def test_relative_links_in_the_docs_resolve():
    broken = []
    for page in [REPO_ROOT / "README.md", *(REPO_ROOT / "docs").rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO_ROOT)} -> {target}")
    assert broken == []
