"""Reading knowledge-base imports: every format, encodings, and errors with their lines."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from openpyxl import Workbook

from ekc_core.kb_files import KbFileError, read_path
from ekc_core.kb_refs import (
    Catalogue,
    agencies_catalogue,
    near_any,
    read_map,
    resolve_references,
    topics_catalogue,
)
from kb_index import AUDIENCES

ROOT = Path(__file__).resolve().parent.parent


def test_windows_1251_semicolon_csv_with_line_breaks_and_russian_headers(tmp_path: Path):
    text = (
        "Код;Заголовок;Текст;Тематика;Ведомство;Теги;Аудитория\r\n"
        'kb-1;Не вывозят мусор;"Первая строка;\r\nвторая строка ответа";housing.tko;'
        "rtneo_irkutsk;мусор, ТКО;citizens\r\n"
        'kb-2;"Отопление ""зимой""";Нет тепла;housing.heating;;отопление;\r\n'
    )
    path = tmp_path / "kb.csv"
    path.write_bytes(text.encode("cp1251"))
    result = read_path(path)
    assert result.problems == []
    first, second = result.records
    assert (first.id, first.line, first.topic, first.tags) == (
        "kb-1",
        2,
        "housing.tko",
        ("мусор", "ТКО"),
    )
    assert first.body == "Первая строка;\nвторая строка ответа"  # line ends normalised
    assert (second.id, second.title, second.line, second.agency, second.audience) == (
        "kb-2",
        'Отопление "зимой"',
        4,
        None,
        None,
    )


def test_utf8_with_bom_and_commas(tmp_path: Path):
    path = tmp_path / "kb.csv"
    path.write_bytes("\ufeffid,title,body\nkb-1,Заголовок,Текст\n".encode())
    result = read_path(path)
    assert result.problems == []
    assert [r.id for r in result.records] == ["kb-1"]


def test_every_problem_is_reported_with_file_line_and_field(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "id;title;body;audience\n"
        'ok-1;Хорошая;"тело\nв две строки";citizens\n'
        "bad id;Плохой id;текст;\n"
        "ok-2;;текст;\n"
        "ok-3;Чужая аудитория;текст;всем\n"
        "ok-1;Повтор;текст;\n",
        encoding="utf-8",
    )
    result = read_path(path, audiences=AUDIENCES)
    assert result.problems == [
        f"{path}:4: id: «bad id»: только латинские буквы, цифры, «-», «_», «.», до 80 знаков",
        f"{path}:5: title: поле обязательно",
        f"{path}:6: audience: «всем»: допустимо citizens, svo_families, pensioners, "
        "families_with_children, disabled, business, operators",
        f"{path}:7: id: «ok-1» уже встречался ({path}:2)",
    ]


def test_missing_column_is_reported_on_the_header_line(tmp_path: Path):
    path = tmp_path / "kb.csv"
    path.write_text("id;Заголовок\nkb-1;x\n", encoding="utf-8")
    assert read_path(path).problems == [f"{path}:1: body: нет столбца (заголовок: id, title)"]


def test_unreadable_encoding_is_refused(tmp_path: Path):
    path = tmp_path / "kb.csv"
    path.write_bytes("id,title,body\nkb-1,Заголовок,Текст\n".encode("utf-16"))
    with pytest.raises(KbFileError, match="кодировка"):
        read_path(path)


def test_xlsx(tmp_path: Path):
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.append(["ID", "Название", "Ответ", "Теги"])
    sheet.append(["kb-1", "Запись к врачу", "Через Госуслуги\nили регистратуру", "врач;запись"])
    sheet.append([None, None, None, None])
    sheet.append([42, "Без текста", None, None])
    path = tmp_path / "kb.xlsx"
    book.save(path)
    result = read_path(path)
    assert [(r.id, r.tags) for r in result.records] == [("kb-1", ("врач", "запись"))]
    assert result.problems == [f"{path}:4: body: поле обязательно"]


def test_json_and_jsonl_with_line_numbers(tmp_path: Path):
    articles = [
        {"id": "a-1", "title": "Один", "body": "Текст"},
        {"id": "a-2", "title": "Два", "body": ""},
    ]
    path = tmp_path / "kb.json"
    path.write_text(json.dumps(articles, ensure_ascii=False, indent=2), encoding="utf-8")
    result = read_path(path)
    assert [r.id for r in result.records] == ["a-1"]
    assert result.problems == [f"{path}:7: body: поле обязательно"]

    lines = tmp_path / "kb.jsonl"
    lines.write_text(
        '{"id": "b-1", "title": "x", "body": "y", "tags": ["t"]}\n\n{oops\n', encoding="utf-8"
    )
    result = read_path(lines)
    assert [r.id for r in result.records] == ["b-1"]
    assert result.problems[0].startswith(f"{lines}:3: неверный JSON")


def test_markdown_folder_with_front_matter(tmp_path: Path):
    folder = tmp_path / "kb"
    (folder / "housing").mkdir(parents=True)
    (folder / "housing" / "kb-h-1.md").write_text(
        "---\ntitle: Нет отопления\ntopic: housing.heating\ntags: [отопление, батареи]\n---\n"
        "**Кратко.** Холодные батареи.\n",
        encoding="utf-8",
    )
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nтекст\n", encoding="utf-8")
    result = read_path(folder)
    assert [(r.id, r.tags) for r in result.records] == [("kb-h-1", ("отопление", "батареи"))]
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"{folder / 'broken.md'}:")
    assert "неверный YAML" in result.problems[0]


def test_unsupported_formats_are_named(tmp_path: Path):
    old = tmp_path / "kb.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(KbFileError, match="XLS не поддерживается"):
        read_path(old)
    with pytest.raises(KbFileError, match="не найдены"):
        read_path(tmp_path / "missing.csv")


def test_the_shipped_knowledge_base_reads_clean():
    result = read_path(ROOT / "data" / "kb" / "articles", audiences=AUDIENCES)
    assert result.problems == []
    assert len(result.records) >= 150
    topics = {r.topic.split(".")[0] for r in result.records if r.topic}
    assert len(topics) == 17


@pytest.mark.parametrize("encoding", ["koi8-r", "utf-16-le", "cp866"])
def test_other_cyrillic_encodings_are_refused_not_garbled(tmp_path: Path, encoding: str):
    path = tmp_path / "kb.csv"
    path.write_bytes(
        "id;title;body\nkb-1;Отключили горячую воду;Плановые работы на сетях\n".encode(encoding)
    )
    with pytest.raises(KbFileError, match="неизвестная кодировка"):
        read_path(path)


# --- issue 13: references by name, mapping files, one report, where the encoding breaks ---


def _catalogues(mapping: dict[str, str] | None = None) -> tuple[Catalogue, Catalogue]:
    """The shipped topics and agencies, as the CLI gets them from the API."""
    topics: list[SimpleNamespace] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            topics.append(SimpleNamespace(code=item["code"], name=item["name"]))
            walk(item.get("children", []))

    walk(yaml.safe_load((ROOT / "data/reference/topics.yaml").read_text(encoding="utf-8")))
    agencies = [
        SimpleNamespace(code=a["code"], name=a["name"], short_name=a["short_name"])
        for a in yaml.safe_load((ROOT / "data/reference/agencies.yaml").read_text(encoding="utf-8"))
    ]
    return topics_catalogue(topics, mapping), agencies_catalogue(agencies, mapping)


def test_topic_and_agency_by_code_or_by_name_folded(tmp_path: Path):
    path = tmp_path / "kb.csv"
    path.write_text(
        "id;title;body;topic;agency\n"
        "kb-1;Запись;текст;medicine;minzdrav_io\n"
        "kb-2;Запись;текст;  МЕДИЦИНА ;Министерство   здравоохранения Иркутской области\n"
        "kb-3;Вода;текст;Отсутствие отопления и горячей воды;минздрав ио\n"
        "kb-4;Ёлки;текст;«Медицина»;МИНЗДРАВ ИО\n",
        encoding="utf-8",
    )
    result = read_path(path)
    topics, agencies = _catalogues()
    resolve_references(result, topics, agencies)
    assert result.problems == []
    assert [(r.topic, r.agency) for r in result.records] == [
        ("medicine", "minzdrav_io"),
        ("medicine", "minzdrav_io"),
        ("housing.heating", "minzdrav_io"),
        ("medicine", "minzdrav_io"),
    ]


def test_unknown_reference_names_the_nearest_known_with_codes(tmp_path: Path):
    path = tmp_path / "kb.csv"
    path.write_text(
        "id;title;body;topic;agency\nkb-1;Т;текст;Бизнесс;Минздрав\nkb-2;Т;текст;xyzzy;\n",
        encoding="utf-8",
    )
    result = read_path(path)
    resolve_references(result, *_catalogues())
    assert result.problems[0].startswith(
        f"{path}:2: topic: нет тематики «Бизнесс»; похожие: «Бизнес» (business)"
    )
    assert result.problems[1] == (
        f"{path}:2: agency: нет ведомства «Минздрав»; похожие: «Минздрав ИО» (minzdrav_io)"
    )
    assert result.problems[2] == f"{path}:3: topic: нет тематики «xyzzy»"
    assert len(result.problems) == 3


def test_every_kind_of_problem_in_one_run(tmp_path: Path):
    """A row with its own problem still has its id and references checked: the duplicate
    and the unknown topic come out with the audience problem, not on a later attempt."""
    path = tmp_path / "kb.jsonl"
    rows = [
        {"id": "kb-1", "title": "Один", "body": "текст", "topic": "medicine"},
        {"id": "kb-1", "title": "Повтор", "body": "текст", "audience": "всем", "topic": "Мед"},
        {"id": "kb-2", "title": "", "body": "текст", "agency": "nobody"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = read_path(path, audiences=AUDIENCES)
    resolve_references(result, *_catalogues())
    fields = sorted(
        p.split(": ", 2)[0].rsplit(":", 1)[1] + " " + p.split(": ")[1] for p in result.problems
    )
    assert fields == ["2 audience", "2 id", "2 topic", "3 agency", "3 title"]
    assert [r.id for r in result.records] == ["kb-1"]


def test_mapping_file_from_another_system(tmp_path: Path):
    mapping = tmp_path / "map.csv"
    mapping.write_text(
        "их название;наш код\nЗдравоохранение;medicine\nМинЗдрав (старый);minzdrav_io\n",
        encoding="utf-8",
    )
    topics, agencies = _catalogues()
    read = read_map(mapping, codes=topics.codes | agencies.codes, near=near_any([topics, agencies]))
    assert read.problems == []
    topics.mapping = agencies.mapping = read.mapping
    path = tmp_path / "kb.csv"
    path.write_text(
        "id;title;body;topic;agency\nkb-1;Т;текст;здравоохранение;Минздрав (Старый)\n",
        encoding="utf-8",
    )
    result = read_path(path)
    resolve_references(result, topics, agencies)
    assert result.problems == []
    assert (result.records[0].topic, result.records[0].agency) == ("medicine", "minzdrav_io")


def test_mapping_file_problems_have_file_line_and_field(tmp_path: Path):
    topics, agencies = _catalogues()
    near = near_any([topics, agencies])
    csv_map = tmp_path / "map.csv"
    csv_map.write_text(
        "Здравоохранение;medicin\n;medicine\nЖКХ;housing\nжкх;medicine\nодно\n",
        encoding="utf-8",
    )
    read = read_map(csv_map, codes=topics.codes | agencies.codes, near=near)
    assert read.problems[0].startswith(
        f"{csv_map}:1: code: нет тематики или ведомства с кодом «medicin»; похожие: "
        "«Медицина» (medicine)"
    )
    assert read.problems[1:] == [
        f"{csv_map}:2: name: пустое название",
        f"{csv_map}:4: name: «жкх» уже сопоставлено коду housing (строка 3)",
        f"{csv_map}:5: строка: нужно два значения «их название;наш код», а их 1",
    ]
    yaml_map = tmp_path / "map.yaml"
    yaml_map.write_text("Здравоохранение: medicine\nСоцзащита: nosuch\n", encoding="utf-8")
    read = read_map(yaml_map, codes=topics.codes | agencies.codes, near=near)
    assert [p.split(": ")[0:2] for p in read.problems] == [[f"{yaml_map}:2", "code"]]
    assert read.mapping == {"здравоохранение": "medicine"}


def test_encoding_refusal_names_line_and_byte_of_the_first_bad_sequence(tmp_path: Path):
    path = tmp_path / "kb.csv"
    good = "id;title;body\nkb-1;Вода;Текст\n".encode()
    path.write_bytes(good + b"kb-2;\xd0\x9f\x98x;C\n")  # 0x98: neither UTF-8 nor Windows-1251
    with pytest.raises(KbFileError) as caught:
        read_path(path)
    offset = len(good) + len(b"kb-2;\xd0\x9f")
    assert str(caught.value).startswith(
        f"{path}:3: неизвестная кодировка (первая неверная последовательность: байт "
        f"{offset + 1} от начала файла, 8-й в строке 3: 98 78 3b 43)"
    )


def test_koi8_refusal_points_at_its_first_letter(tmp_path: Path):
    path = tmp_path / "kb.csv"
    path.write_bytes("id;title;body\nkb-1;Отключили воду;Работы\n".encode("koi8-r"))
    with pytest.raises(KbFileError, match=r"kb\.csv:2: .*байт 20 от начала файла, 6-й в строке 2"):
        read_path(path)
