"""Reading knowledge-base imports: every format, encodings, and errors with their lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from ekc_core.kb_files import KbFileError, read_path
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
