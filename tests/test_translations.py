"""The French catalog is complete: every string the code and templates use is translated."""
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extract(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as handle:
        return read_po(handle)


def _french():
    with PO.open("rb") as handle:
        return read_po(handle, locale="fr")


def _strings(message):
    return message.string if isinstance(message.string, tuple) else (message.string,)


def test_every_extracted_string_is_in_the_french_catalog(tmp_path):
    catalog = _french()
    missing = [m.id for m in _extract(tmp_path) if m.id and m.id not in catalog]
    assert missing == [], f"run `make translations` and translate: {missing}"


def test_every_french_entry_is_translated_and_not_fuzzy():
    untranslated = [m.id for m in _french() if m.id and (m.fuzzy or not all(_strings(m)))]
    assert untranslated == []


def test_placeholders_survive_translation():
    wrong = []
    for m in _french():
        if not m.id:
            continue
        source = m.id[0] if isinstance(m.id, tuple) else m.id
        expected = set(PLACEHOLDER.findall(source))
        if any(set(PLACEHOLDER.findall(s)) != expected for s in _strings(m) if s):
            wrong.append(m.id)
    assert wrong == []
