"""The Simplified Chinese translation: complete, placeholder-safe, compiled, and served."""

import ast
import gettext as gnu_gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from responses.models import EndpointResult
from trialsite.templatetags.trial import outcome_label, reason, reason_list

CATALOG_DIR = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"
PO_PATH = CATALOG_DIR / "django.po"
MO_PATH = CATALOG_DIR / "django.mo"

# Instrument names, units and abbreviations that Chinese clinical practice writes as in English.
KEPT_AS_IS = {
    "SRI-4",
    "SRI-5",
    "SRI-6",
    "SLEDAI-2K",
    "PGA",
    "BILAG-2004",
    "C3",
    "C4",
    "g/g",
    "mg/mmol",
    "x10^9/L",
    "°C",
    "g/24 h",
    "n=%(count)s",
    "n (%%)",
    "YYYY-MM-DD",
    "R",
    "NR",
    "NE",
    "g/L",
    "IgG",
    "IgA",
    "IgM",
    "%(value)s g/L",
    "BICLA",
    "LLDAS",
    # Reason parts that are only a measure, a value and a comparison.
    "PGA %(pga)s ≥ %(limit)s",
    "PGA %(pga)s < %(limit)s",
    "PGA %(pga)s > %(limit)s",
    "PGA %(pga)s ≤ %(limit)s",
    "SLEDAI-2K %(total)s > %(limit)s",
}

PLACEHOLDER = re.compile(r"%\((\w+)\)([sdifr])")


@dataclass
class PoEntry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def read_po(path: Path) -> tuple[dict[str, str], list[PoEntry]]:
    """Return the header fields and the active (non-obsolete) entries of a PO file."""
    entries: list[PoEntry] = []
    entry: PoEntry | None = None
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        nonlocal entry, target
        if entry is not None and entry.msgstr:
            entries.append(entry)
        entry, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue  # obsolete entries are not compiled
        if entry is not None and entry.msgstr and line.startswith(("#", "msgctxt", "msgid ")):
            finish()  # a new entry that follows without a blank line
        if entry is None:
            entry = PoEntry(line=number)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")", line)
        if match:
            keyword, index, quoted = match.groups()
            value = ast.literal_eval(quoted)
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                entry.msgstr[target[1]] = value
            else:
                target = (keyword, None)
                setattr(entry, keyword, value)
            continue
        if line.startswith('"') and target is not None:
            value = ast.literal_eval(line)
            if target[0] == "msgstr":
                entry.msgstr[target[1]] += value
            else:
                setattr(entry, target[0], getattr(entry, target[0]) + value)
            continue
        raise AssertionError(f"{path}:{number}: cannot read {raw!r}")
    finish()

    header_entries = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(header_entries) == 1, "the PO file needs exactly one header entry"
    header = {}
    for header_line in header_entries[0].msgstr[0].splitlines():
        name, _, value = header_line.partition(":")
        header[name.strip()] = value.strip()
    return header, [e for e in entries if e not in header_entries]


def placeholders(text: str) -> set[str]:
    return {f"%({name}){kind}" for name, kind in PLACEHOLDER.findall(text)}


@pytest.fixture(scope="module")
def po():
    return read_po(PO_PATH)


def test_header_declares_chinese_with_one_plural_form(po):
    header, entries = po
    assert header["Language"] == "zh_Hans"
    assert header["Plural-Forms"] == "nplurals=1; plural=0;"
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert len(entries) > 500


def test_every_entry_is_translated_and_not_fuzzy(po):
    _header, entries = po
    problems = []
    for entry in entries:
        where = f"line {entry.line}: {entry.msgid!r}"
        if "fuzzy" in entry.flags:
            problems.append(f"{where} is fuzzy")
        if sorted(entry.msgstr) != [0]:  # nplurals=1: plural entries have msgstr[0] only
            problems.append(f"{where} has msgstr forms {sorted(entry.msgstr)}, expected [0]")
        for form, text in entry.msgstr.items():
            if not text.strip():
                problems.append(f"{where} msgstr[{form}] is empty")
            elif text == entry.msgid and entry.msgid not in KEPT_AS_IS:
                problems.append(f"{where} is copied, not translated")
    assert not problems, "\n".join(problems)


def test_every_translation_keeps_the_placeholders_of_its_msgid(po):
    _header, entries = po
    problems = []
    for entry in entries:
        expected = placeholders(entry.msgid) | placeholders(entry.msgid_plural or "")
        for form, text in entry.msgstr.items():
            if placeholders(text) != expected:
                problems.append(
                    f"line {entry.line}: msgstr[{form}] has {sorted(placeholders(text))}, "
                    f"msgid has {sorted(expected)}"
                )
            if "python-format" in entry.flags:
                values = {name: 1 for name, _kind in PLACEHOLDER.findall(text)}
                try:
                    text % values
                except (TypeError, ValueError, KeyError) as error:
                    problems.append(f"line {entry.line}: msgstr[{form}] does not format: {error}")
    assert not problems, "\n".join(problems)


def test_compiled_catalog_matches_the_po_file(po):
    """The committed .mo holds exactly the translations of the .po (no gettext tools needed)."""
    _header, entries = po
    with MO_PATH.open("rb") as handle:
        compiled = gnu_gettext.GNUTranslations(handle)
    stale = []
    for entry in entries:
        if entry.msgid_plural is not None:
            for count in (1, 2, 5):
                got = compiled.ngettext(entry.msgid, entry.msgid_plural, count)
                if got != entry.msgstr[0]:
                    stale.append(f"{entry.msgid!r} (n={count}): {got!r}")
        elif entry.msgctxt is not None:
            got = compiled.pgettext(entry.msgctxt, entry.msgid)
            if got != entry.msgstr[0]:
                stale.append(f"{entry.msgctxt}|{entry.msgid!r}: {got!r}")
        else:
            got = compiled.gettext(entry.msgid)
            if got != entry.msgstr[0]:
                stale.append(f"{entry.msgid!r}: {got!r}")
    assert not stale, "django.mo is older than django.po; run compilemessages:\n" + "\n".join(stale)
    assert len(compiled._catalog) == len(entries) + 1, "django.mo holds entries the .po lacks"


def test_interface_strings_and_reason_templates_are_chinese():
    with translation.override("zh-hans"):
        assert translation.gettext("Participants") == "受试者"
        assert translation.gettext("Physician Global Assessment") == "医师整体评估"
        assert translation.gettext("Increased DNA binding") == "DNA 结合增加"
        assert translation.gettext("E: never involved") == "E\uff1a从未受累"  # full-width colon
        reason = translation.gettext("SLEDAI-2K fell by %(points)s") % {"points": "6"}
        assert reason == "SLEDAI-2K 下降 6 分"
        assert translation.pgettext("responder", "R") == "R"
    with translation.override("en"):
        assert translation.gettext("Participants") == "Participants"


@pytest.mark.django_db
def test_coordinator_switches_the_participant_list_to_chinese(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    url = reverse("participant_list")

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    assert response.status_code == 302
    assert response.url == url

    page = client.get(url).content.decode()
    assert '<html lang="zh-hans">' in page
    assert re.search(r"<h1[^>]*>受试者</h1>", page)
    assert "受试者编号" in page
    assert "研究中心" in page
    assert participant_a.participant_id in page
    assert "Participant ID" not in page


def test_a_reason_translates_the_system_or_descriptor_it_names():
    stored = EndpointResult(
        endpoint="lldas",
        reason_parts=[
            ["%(descriptor)s present (a major-organ descriptor)", {"descriptor": "Fever"}],
            ["%(descriptor)s new since %(visit)s", {"descriptor": "Rash", "visit": "M1"}],
            [
                "%(system)s BILAG %(baseline)s at baseline, %(visit)s at the visit: not improved",
                {"system": "Renal", "baseline": "B", "visit": "B"},
            ],
        ],
    )
    with translation.override("zh-hans"):
        fever, rash, renal = reason_list(stored)
        assert fever.startswith("存在发热")
        assert rash == "皮疹为 M1 以来新出现"
        assert renal.startswith("肾脏 BILAG 基线 B")
        assert outcome_label(EndpointResult(endpoint="lldas", outcome="responder")) == "是"
    with translation.override("en"):
        assert reason(stored).startswith("Fever present (a major-organ descriptor); Rash new")
