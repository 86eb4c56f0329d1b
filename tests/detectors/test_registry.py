"""The registry covers the catalogue exactly, and every detector explains itself and is tested."""

from __future__ import annotations

import ast
import inspect
import re
from collections import Counter
from pathlib import Path

from audit.detectors.catalogue import CODES
from audit.detectors.registry import REGISTRY, select_detectors
from audit.errors import MessageError

TESTS = Path(__file__).parent


def test_every_code_of_the_catalogue_is_registered_once() -> None:
    counts = Counter(cls.code for cls in REGISTRY)
    assert [code for code, n in counts.items() if n > 1] == []
    assert set(counts) == set(CODES)


def test_each_detector_lives_in_a_file_named_by_its_code() -> None:
    for cls in REGISTRY:
        module = Path(inspect.getfile(cls)).stem
        assert module.startswith(cls.code.lower().replace("-", "")), (cls.code, module)


def test_each_detector_documents_what_why_settings_and_evidence() -> None:
    for cls in REGISTRY:
        doc = inspect.getmodule(cls).__doc__ or ""
        assert doc.startswith(f"{cls.code} "), cls.code
        for section in ("What it flags", "Why it matters", "Settings", "Evidence"):
            assert section in doc, (cls.code, section)
        for name in cls.defaults:
            assert f"``{name}``" in doc, (cls.code, name)


def test_each_code_has_a_positive_and_a_negative_test() -> None:
    names = set()
    for path in TESTS.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    for code in CODES:
        slug = code.lower().replace("-", "")
        assert any(re.match(rf"test_{slug}_positive", n) for n in names), f"{code} has no positive test"
        assert any(re.match(rf"test_{slug}_negative", n) for n in names), f"{code} has no negative test"


def test_selection_refuses_an_unknown_code() -> None:
    import pytest

    with pytest.raises(MessageError, match="unknown red-flag code XX-99"):
        select_detectors(["XX-99"])
    assert [d.code for d in select_detectors(["dc06", "FP-01"])] == ["FP-01", "DC-06"]
