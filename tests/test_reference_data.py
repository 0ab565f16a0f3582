"""The shipped reference data loads and is complete; broken copies are refused clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from ekc_core.enums import AppealKind
from ekc_core.reference_data import ReferenceData, ReferenceDataError, load_reference_data
from ekc_core.settings import default_reference_dir
from ekc_server.models import Agency, Topic
from ekc_server.services.reference import seed_reference

DATA_DIR = default_reference_dir()

TOP_LEVEL = {
    "svo",
    "medicine",
    "social",
    "housing",
    "transport",
    "emergency",
    "psych",
    "commercial",
    "rights",
    "education",
    "environment",
    "labour",
    "communications",
    "local_gov",
    "culture",
    "business",
    "mfc",
}


@pytest.fixture(scope="module")
def shipped() -> ReferenceData:
    return load_reference_data(DATA_DIR)


def test_topic_tree_has_all_subjects_with_sub_topics(shipped: ReferenceData) -> None:
    top = [t for t in shipped.topics if t.parent_code is None]
    assert len(top) >= 17
    assert {t.code for t in top} >= TOP_LEVEL
    for t in top:
        children = [c for c in shipped.topics if c.parent_code == t.code]
        assert len(children) >= 2, f"{t.code} has no sub-topics"
        assert all(c.group == t.group for c in children), t.code
    codes = [t.code for t in shipped.topics]
    assert len(codes) == len(set(codes))
    svo = next(t for t in top if t.code == "svo")
    assert svo.group == "svo"
    assert "СВО" in svo.name


def test_sub_topics_inherit_the_group_and_parents_come_first(shipped: ReferenceData) -> None:
    seen: set[str] = set()
    groups = {t.code: t.group for t in shipped.topics}
    for t in shipped.topics:
        if t.parent_code is not None:
            assert t.parent_code in seen, f"{t.code} comes before its parent"
            assert t.group == groups[t.parent_code]
        seen.add(t.code)
    assert groups["medicine.appointment"] == "medicine"


def test_agencies_include_the_federal_and_regional_bodies(shipped: ReferenceData) -> None:
    codes = {a.code for a in shipped.agencies}
    assert {
        "fssp_io",
        "gostekhnadzor_io",
        "mintrud_io",
        "sfr_io",
        "tfoms_io",
        "minzdrav_io",
    } <= codes
    levels = {a.level for a in shipped.agencies}
    assert {"regional", "federal", "municipal", "utility"} <= levels
    # every default agency of a topic exists
    for t in shipped.topics:
        assert t.default_agency is None or t.default_agency in codes


def test_exactly_the_four_northern_offices_are_remote(shipped: ReferenceData) -> None:
    remote = {o.code for o in shipped.offices if o.remote}
    assert remote == {"mfc_bodaibo", "mfc_mama", "mfc_kirensk", "mfc_erbogachen"}
    assert any(o.kind == "contact_centre" and not o.remote for o in shipped.offices)


def test_deadlines_for_all_six_appeal_kinds(shipped: ReferenceData) -> None:
    assert set(shipped.deadlines) == set(AppealKind)
    assert len(shipped.deadlines) == 6
    fz = shipped.deadlines[AppealKind.appeal_59fz]
    assert (fz.register_days, fz.forward_days, fz.answer_days, fz.max_extension_days) == (
        3,
        7,
        30,
        30,
    )
    assert shipped.deadlines[AppealKind.consultation].answer_days is None


# --- broken copies ----------------------------------------------------------------------


@pytest.fixture
def broken_dir(tmp_path: Path) -> Path:
    shutil.copytree(DATA_DIR / "reference", tmp_path / "reference")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(data_dir: Path) -> list[str]:
    with pytest.raises(ReferenceDataError) as info:
        load_reference_data(data_dir)
    problems = info.value.problems
    assert problems
    assert str(info.value) == "\n".join(problems)
    return problems


def test_unknown_default_agency_is_named(broken_dir: Path) -> None:
    _edit(
        broken_dir / "reference" / "topics.yaml",
        "default_agency: punkt_otbora_irkutsk",
        "default_agency: no_such_agency",
    )
    problems = _problems(broken_dir)
    assert len(problems) == 1
    assert "topics.yaml" in problems[0]
    assert "[svo].default_agency" in problems[0]
    assert "no_such_agency" in problems[0]


def test_duplicate_code_is_named(broken_dir: Path) -> None:
    path = broken_dir / "reference" / "agencies.yaml"
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n- code: fssp_io\n  name: Дубль\n  short_name: Дубль\n  level: federal\n")
    problems = _problems(broken_dir)
    assert any("agencies.yaml" in p and "code" in p and "«fssp_io»" in p for p in problems), (
        problems
    )


def test_bad_yaml_is_named_with_its_line(broken_dir: Path) -> None:
    path = broken_dir / "reference" / "offices.yaml"
    path.write_text("- code: ekc_irkutsk\n  name: [не закрыто\n", encoding="utf-8")
    problems = _problems(broken_dir)
    assert any("offices.yaml:" in p and "неверный YAML" in p for p in problems), problems


def test_bad_field_value_names_the_record_and_field(broken_dir: Path) -> None:
    _edit(broken_dir / "reference" / "offices.yaml", "kind: contact_centre", "kind: spaceport")
    problems = _problems(broken_dir)
    assert len(problems) == 1
    assert "offices.yaml" in problems[0]
    assert "[ekc_irkutsk].kind" in problems[0]


def test_missing_appeal_kind_is_named(broken_dir: Path) -> None:
    path = broken_dir / "reference" / "deadlines.yaml"
    text = path.read_text(encoding="utf-8")
    head, _, _ = text.partition("  emergency:")
    path.write_text(head, encoding="utf-8")
    problems = _problems(broken_dir)
    assert any("deadlines.yaml" in p and "kinds.emergency" in p for p in problems), problems


def test_missing_file_is_named(broken_dir: Path) -> None:
    (broken_dir / "reference" / "agencies.yaml").unlink()
    problems = _problems(broken_dir)
    assert any("agencies.yaml" in p and "не найден" in p for p in problems), problems


def test_broken_data_writes_nothing(engine: Engine, broken_dir: Path) -> None:
    with Session(engine) as session:
        before = session.exec(select(func.count()).select_from(Topic)).one()
        agencies_before = session.exec(select(func.count()).select_from(Agency)).one()
    _edit(broken_dir / "reference" / "topics.yaml", "name: Медицина", "name: Здоровье")
    _edit(
        broken_dir / "reference" / "topics.yaml",
        "default_agency: punkt_otbora_irkutsk",
        "default_agency: no_such_agency",
    )
    with Session(engine) as session, pytest.raises(ReferenceDataError):
        seed_reference(session=session, data_dir=broken_dir)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Topic)).one() == before
        assert session.exec(select(func.count()).select_from(Agency)).one() == agencies_before
        medicine = session.exec(select(Topic).where(Topic.code == "medicine")).one()
        assert medicine.name == "Медицина"


def test_reseeding_is_an_upsert(engine: Engine) -> None:
    with Session(engine) as session:
        before = session.exec(select(func.count()).select_from(Topic)).one()
        counts = seed_reference(session=session, data_dir=DATA_DIR)
        session.commit()
        assert session.exec(select(func.count()).select_from(Topic)).one() == before
        assert counts["topics"] == before
        assert counts["deadline_rules"] == 6
