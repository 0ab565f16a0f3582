"""kb_index on its own: Russian analysis, lifecycle (rebuild, update, delete, lock timeout,
corrupt index), search features, and the `python -m kb_index` command line."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import pytest

from kb_index import Article, IndexBusyError, KbIndex, SearchFilters, Synonyms
from kb_index.__main__ import main as kb_main
from kb_index.analysis import from_wrong_layout, russian_analyzer, stem
from kb_index.synonyms import SynonymFileError

ARTICLES = [
    Article(
        id="tko",
        title="Не вывозят мусор с контейнерной площадки",
        body="Если региональный оператор не вывез твёрдые коммунальные отходы вовремя, "
        "примите заявку и передайте её в РТ-НЭО. Перерасчёт платы за вывоз.",
        topic="housing.tko",
        agency="rtneo_irkutsk",
        tags=("мусор", "ТКО"),
        audience="citizens",
    ),
    Article(
        id="heat",
        title="Нет отопления в квартире",
        body="Холодные батареи: заявка в управляющую компанию, затем в Госжилнадзор. "
        "Перерасчёт за некачественную коммунальную услугу.",
        topic="housing.heating",
        tags=("отопление",),
        audience="citizens",
    ),
    Article(
        id="doctor",
        title="Записаться к врачу в поликлинику",
        body="Записаться на приём можно через Госуслуги, по телефону 122 или в "
        "регистратуре поликлиники по месту прикрепления.",
        topic="medicine.appointment",
        agency="minzdrav_io",
        tags=("врач", "запись"),
        audience="citizens",
    ),
    Article(
        id="svo-pay",
        title="Единовременная выплата при заключении контракта",
        body="Участникам специальной военной операции, заключившим контракт, положена "
        "региональная единовременная выплата. Ребёнок участника получает льготы.",
        topic="svo.one_time_payments",
        agency="minsoc_io",
        tags=("СВО", "выплата"),
        audience="svo_families",
    ),
    Article(
        id="snow",
        title="Регистрация снегохода в Гостехнадзоре",
        body="Снегоходы и квадроциклы регистрируют в Гостехнадзоре Иркутской области.",
        topic="transport.self_propelled",
        agency="gostekhnadzor_io",
        tags=("снегоход", "самоходная техника"),
        audience="citizens",
    ),
]
SYNONYMS = Synonyms.from_lines(
    [
        "ЖКХ, коммунальные услуги, коммуналка",
        "ТКО, мусор, твердые коммунальные отходы",
        "СВО, специальная военная операция, контрактник",
    ]
)


@pytest.fixture
def index(tmp_path: Path):
    with KbIndex(tmp_path / "kb", synonyms=SYNONYMS, source=lambda: ARTICLES) as idx:
        yield idx


def ids(hits) -> list[str]:
    return [h.id for h in hits]


# --- analysis --------------------------------------------------------------------------


def test_analyzer_folds_case_yo_stop_words_and_word_forms():
    analyzer = russian_analyzer()
    all_tokens = [t.text for t in analyzer("Мусор и МУСОРА, мусору не вывозят, ещё ёлка")]
    # each lemma is followed by its derivational key (kb_index.derivation), when it has one
    tokens = [t for t in all_tokens if not t.startswith("~")]
    assert tokens == ["мусор", "мусор", "мусор", stem("вывозят"), stem("елка")]
    assert all_tokens[:2] == ["мусор", "~мусор"]
    assert "не" not in tokens and "и" not in tokens and "еще" not in tokens


def test_lemma_method_reduces_to_dictionary_forms():
    analyzer = russian_analyzer("lemma")
    assert [t.text for t in analyzer("выплатой приставы лекарств Ребёнка ребенок")] == [
        "выплата",
        "~выплат",
        "пристав",
        "~пристав",
        "лекарство",
        "~лекар",
        "ребенок",
        "~ребенок",
        "ребенок",
        "~ребенок",
    ]
    # the snowball method has no derivational keys
    assert [t.text for t in russian_analyzer("snowball")("выплатой")] == ["выплат"]


def test_analyzer_survives_pickling_as_whoosh_stores_it():
    analyzer = pickle.loads(pickle.dumps(russian_analyzer()))
    assert [t.text for t in analyzer("Гостехнадзоре")] == ["гостехнадзор", "~гостехнадзор"]


def test_wrong_layout_conversion():
    assert from_wrong_layout("vecjh") == "мусор"
    assert from_wrong_layout("j,hfotybt") == "обращение"
    assert from_wrong_layout("мусор") is None


def test_synonym_file_errors_name_the_line(tmp_path: Path):
    path = tmp_path / "synonyms.txt"
    path.write_text("# comment\nЖКХ, коммуналка\nодно слово\n", encoding="utf-8")
    with pytest.raises(SynonymFileError, match=r"synonyms.txt:3: "):
        Synonyms.load(path)


# --- search ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected", "as_you_type"),
    [
        ("не вывозят мусор", "tko", False),  # forms and stop words
        ("мусора", "tko", False),  # inflected
        ("vecjh", "tko", False),  # wrong layout
        ("ТКО", "tko", False),  # synonym (abbreviation)
        ("коммуналка перерасчет", "heat", False),  # colloquial synonym, ё written as е
        ("записатся к врачю", "doctor", False),  # typos
        ("запис", "doctor", True),  # prefix as you type
        ("гостех", "snow", True),  # prefix of a capitalised word
        ("ребенок контрактника", "svo-pay", False),  # ё/е and a synonym
    ],
)
def test_finds_the_right_article(index, query, expected, as_you_type):
    assert ids(index.search(query, limit=3, as_you_type=as_you_type))[0] == expected


def test_a_prefix_is_not_used_without_as_you_type(index):
    assert ids(index.search("гостех", limit=3)) == []
    assert ids(index.search("гостех", limit=3, as_you_type=True)) == ["snow"]


def test_the_first_word_typed_is_completed_from_its_first_letter(index):
    # the console searches from the first key: a letter or two stand for the most frequent
    # words they start (a stop word too: «в» is the start of «выплата», «врач»)
    assert ids(index.search("з", limit=5, as_you_type=True)) == ["doctor", "svo-pay"]
    assert ids(index.search("сн", limit=5, as_you_type=True)) == ["snow"]
    assert set(ids(index.search("в", limit=5, as_you_type=True))) >= {"doctor", "svo-pay"}
    assert ids(index.search("сн", limit=5)) == []  # a whole query: no prefix
    # only stop words before it: still the first word («не вывозят» typed as «не в»)
    assert ids(index.search("не з", limit=5, as_you_type=True)) == ["doctor", "svo-pay"]
    # stop words before it are not searched, nor corrected into words («если» → «ясли»)
    assert ids(index.search("если з", limit=5, as_you_type=True)) == ["doctor", "svo-pay"]
    # «ко» is not read as the preposition «к»: «квартире» is not one of its words
    assert ids(index.search("ко", limit=5, as_you_type=True)) == ["tko", "svo-pay"]
    # typed in the Latin layout: «pf» is «за», «yt p» is «не з»
    assert ids(index.search("pf", limit=5, as_you_type=True)) == ["doctor", "svo-pay"]
    assert ids(index.search("yt p", limit=5, as_you_type=True)) == ["doctor", "svo-pay"]
    # a space after a first stop word keeps its results until a word of substance comes
    assert ids(index.search("не ", limit=5, as_you_type=True)) == ["heat"]
    # a later word of a query is completed from its third letter only
    assert ids(index.search("записаться к в", limit=5, as_you_type=True)) == ["doctor"]
    assert ids(index.search("снегоход з", limit=5, as_you_type=True)) == ["snow"]


def test_highlights_mark_the_matched_words(index):
    (hit, *_rest) = index.search("вывоз мусора", limit=1)
    assert hit.id == "tko"
    assert any("**вывоз**" in h or "**мусор**" in h for h in hit.highlights)


def test_filters_by_topic_with_subtopics_agency_and_audience(index):
    housing = ids(index.search("перерасчет", filters=SearchFilters(topic="housing")))
    assert sorted(housing) == ["heat", "tko"]
    assert ids(index.search("перерасчет", filters=SearchFilters(topic="housing.heating"))) == [
        "heat"
    ]
    assert ids(index.search("перерасчет", filters=SearchFilters(agency="rtneo_irkutsk"))) == ["tko"]
    assert ids(index.search("выплата", filters=SearchFilters(audience="citizens"))) == []


def test_more_like_this_from_a_call_transcript(index):
    transcript = (
        "Здравствуйте, у нас во дворе третий день не забирают мусор, контейнеры "
        "переполнены, куда жаловаться на вывоз отходов?"
    )
    assert ids(index.more_like_this(transcript, limit=2))[0] == "tko"


# --- lifecycle -------------------------------------------------------------------------


def test_incremental_upsert_and_delete(index):
    changed = Article(
        id="heat",
        title="Отключили отопление зимой",
        body="Авария теплосети.",
        topic="housing.heating",
    )
    new = Article(
        id="water", title="Нет горячей воды", body="Плановое отключение ГВС.", topic="housing.water"
    )
    stats = index.apply([changed, new], deletions=["snow"])
    assert (stats.upserted, stats.deleted) == (2, 1)
    assert index.count() == 5
    assert ids(index.search("гостехнадзор")) == []
    assert ids(index.search("теплосети")) == ["heat"]
    assert index.get("water").title == "Нет горячей воды"


def test_sync_applies_only_the_difference(index):
    first = index.sync(ARTICLES)
    assert (first.upserted, first.deleted) == (0, 0)
    edited = [*ARTICLES[:-1]]
    edited[0] = Article(**{**edited[0].to_dict(), "tags": ("мусор",), "title": "Мусор"})
    stats = index.sync(edited)
    assert (stats.upserted, stats.deleted) == (1, 1)


def test_rebuild_swaps_generations_atomically(index, tmp_path: Path):
    before = (tmp_path / "kb" / "CURRENT").read_text()
    index.rebuild(ARTICLES[:2])
    after = (tmp_path / "kb" / "CURRENT").read_text()
    assert before != after
    assert not (tmp_path / "kb" / before).exists()
    assert index.count() == 2


def test_second_writer_times_out(index, tmp_path: Path):
    other = KbIndex(tmp_path / "kb", synonyms=SYNONYMS, lock_timeout=0.2)
    writer = index._index.writer()  # hold the lock as a long import would
    try:
        with pytest.raises(IndexBusyError, match="занят"):
            other.apply([ARTICLES[0]])
    finally:
        writer.cancel()
        other.close()
    assert index.apply([ARTICLES[0]]).upserted == 1


def test_missing_index_is_built_from_source_with_one_log_line(tmp_path: Path, caplog):
    with caplog.at_level(logging.WARNING, logger="kb_index"):
        idx = KbIndex(tmp_path / "new", source=lambda: ARTICLES)
    assert idx.count() == 5
    assert [r.message for r in caplog.records if r.name == "kb_index"] == [
        f"KB index at {tmp_path / 'new'} is missing; rebuilding from 5 articles"
    ]
    idx.close()


def test_corrupt_index_is_rebuilt_not_fatal(tmp_path: Path, caplog):
    KbIndex(tmp_path / "kb", source=lambda: ARTICLES).close()
    gen = tmp_path / "kb" / (tmp_path / "kb" / "CURRENT").read_text()
    for toc in gen.glob("*.toc"):
        toc.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="kb_index"):
        idx = KbIndex(tmp_path / "kb", source=lambda: ARTICLES)
    assert idx.count() == 5
    assert any("is corrupt" in r.message for r in caplog.records)
    assert ids(idx.search("мусор"))[0] == "tko"
    idx.close()


# --- command line ----------------------------------------------------------------------


def test_command_line_build_search_and_batch(tmp_path: Path, capsys):
    source = tmp_path / "articles.jsonl"
    source.write_text(
        "\n".join(json.dumps(a.to_dict(), ensure_ascii=False) for a in ARTICLES), encoding="utf-8"
    )
    index_dir = tmp_path / "idx"
    assert kb_main(["build", str(source), "--index", str(index_dir)]) == 0
    capsys.readouterr()
    assert kb_main(["search", "--index", str(index_dir), "мусор", "--json", "--limit", "2"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["id"] == "tko"
    assert set(hits[0]) >= {"id", "title", "score", "highlights"}
    queries = tmp_path / "q.txt"
    queries.write_text("мусор\nврач\n", encoding="utf-8")
    assert kb_main(["search", "--index", str(index_dir), "--batch", str(queries), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)[0]["id"] for line in lines] == ["tko", "doctor"]


def test_command_line_reports_the_bad_line(tmp_path: Path, capsys):
    source = tmp_path / "bad.jsonl"
    source.write_text(
        '{"id": "a", "title": "t", "body": "b"}\n{"id": "b", "title": ""}\n', encoding="utf-8"
    )
    assert kb_main(["build", str(source), "--index", str(tmp_path / "idx")]) == 1
    assert f"{source}:2: title: поле обязательно" in capsys.readouterr().err


def test_feed_position_survives_reopening(index, tmp_path: Path):
    assert index.position == 0
    index.apply([ARTICLES[0]], position=17)
    assert index.position == 17
    index.rebuild(ARTICLES, position=40)
    with KbIndex(tmp_path / "kb") as reopened:
        assert reopened.position == 40


def test_fragments_mark_word_forms_and_drop_the_articles_own_bold():
    from kb_index.analysis import stem
    from kb_index.highlight import fragments

    text = (
        "**Кратко.** "
        + "слово " * 60
        + "Региональный оператор вывозит мусор по графику. "
        + "слово " * 60
        + "Вывоз мусора зимой — не реже раза в сутки."
    )
    (fragment,) = fragments(text, {stem("мусор"), stem("вывоз")}, "lemma")
    assert "**мусор**" in fragment and "**мусора**" in fragment and "**Вывоз**" in fragment
    assert "**Кратко.**" not in fragment and " … " in fragment
    assert fragments("ничего общего", {stem("мусор")}, "lemma") == []


@pytest.mark.parametrize("method", ["lemma", "snowball"])
def test_one_pass_analyzer_yields_the_filter_chains_tokens(method: str) -> None:
    from ekc_core.kb_files import read_path
    from kb_index.analysis import RussianAnalyzer, russian_chain

    folder = Path(__file__).resolve().parent.parent / "data" / "kb" / "articles"
    texts = [f"{r.title}\n{r.body}" for r in read_path(folder).records]
    texts.append("Ёлка, ЁЖ и кто-то: COVID-19 — 2024 г. «ТКО»")
    chain, one_pass = russian_chain(method), RussianAnalyzer(method)
    for text in texts:
        expected = [(t.text, t.pos) for t in chain(text, positions=True)]
        assert [(t.text, t.pos) for t in one_pass(text, positions=True)] == expected
