"""Issue 13's example queries on a real index of the shipped articles, the derivational
keys on a word list, the colloquial phrase file and its loader, the typo distance.

No relevance floor on the hold-out set here: bench/kb_relevance.py measures it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ekc_core.kb_files import read_path
from kb_index import Article, KbIndex, SearchHit, SynonymFileError, Synonyms
from kb_index.analysis import ANALYSIS_VERSION, russian_analyzer, stem, words
from kb_index.colloquial import Colloquial, ColloquialFileError
from kb_index.derivation import MARKER, derive, derived_term
from kb_index.query import max_typos

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "data" / "kb"


def ids(hits: list[SearchHit]) -> list[str]:
    return [h.id for h in hits]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KbIndex]:
    articles = [Article.from_dict(r.to_dict()) for r in read_path(KB / "articles").records]
    directory = tmp_path_factory.mktemp("kb")
    with KbIndex(
        directory, synonyms=Synonyms.load(KB / "synonyms.txt"), source=lambda: articles
    ) as index:
        yield index


# --- derivational keys -------------------------------------------------------------------

FAMILIES = [
    ("затопить", "затопление"),
    ("выплата", "выплатить", "выплачивать"),
    ("расселение", "расселить"),
    ("ветхий", "ветхость"),
    ("отопление", "отопить"),
    ("отключение", "отключить", "отключать"),
    ("оформление", "оформить"),
    ("обращение", "обратиться"),
    ("защита", "защищать"),
    ("оплата", "оплачивать"),
    ("ремонт", "ремонтировать"),
    ("регистрация", "регистрировать"),
    ("мобилизация", "мобилизованный"),
    ("инвалидность", "инвалидный"),
    ("авария", "аварийный"),
    ("ожидание", "ожидать"),
    ("подтопление", "подтопить"),
]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: "/".join(f))
def test_words_of_one_family_share_a_derivational_key(family: tuple[str, ...]):
    keys = {derive(word) for word in family}
    assert len(keys) == 1 and None not in keys, keys


@pytest.mark.parametrize(
    ("one", "other"),
    [("выплата", "пенсия"), ("затопить", "отопить"), ("ветхий", "вести"), ("ремонт", "рента")],
)
def test_unrelated_words_keep_different_keys(one: str, other: str):
    assert derive(one) != derive(other)


@pytest.mark.parametrize("word", ["вода", "дом", "112", "covid", "ук", "а"])
def test_short_foreign_and_numeric_words_have_no_key(word: str):
    assert derive(word) is None
    assert derived_term(word) is None


def test_key_is_marked_and_indexed_at_the_lemmas_position():
    assert derived_term("затопление") == MARKER + "затоп"
    tokens = [(t.text, t.pos) for t in russian_analyzer("lemma")("Затопило подвал", positions=True)]
    assert tokens[:2] == [("затопить", 0), ("~затоп", 0)]
    assert ("подвал", 1) in tokens
    # nothing the tokenizer yields can collide with a key
    assert not any(t.startswith(MARKER) for t in ("затопить", "подвал"))
    assert isinstance(ANALYSIS_VERSION, int) and ANALYSIS_VERSION >= 2


def test_derivation_is_deterministic():
    words = [w for family in FAMILIES for w in family]
    assert [derive(w) for w in words] == [derive.__wrapped__(w) for w in words]


# --- colloquial phrases ------------------------------------------------------------------


def test_colloquial_file_loads_with_comments(tmp_path: Path):
    path = tmp_path / "colloquial.txt"
    path.write_text(
        "# comment\n\nкапает с потолка, течет крыша => протечка кровли, протечка  # tail\n",
        encoding="utf-8",
    )
    rules = Colloquial.load(path)
    assert len(rules.rules) == 1
    rule = rules.rules[0]
    assert rule.line == 3
    assert rule.callers == (("капать", "потолок"), ("течь", "крыша"))
    assert rule.articles == (("протечка", "кровля"), ("протечка",))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("коммуналка, квартплата", r"colloquial.txt:2: правило пишется как"),
        ("коммуналка => ЖКХ => ЖКУ", r"colloquial.txt:2: правило пишется как"),
        ("и на => ЖКХ", r"colloquial.txt:2: слева от «=>» нет ни одного слова"),
        ("коммуналка =>   ", r"colloquial.txt:2: справа от «=>» нет ни одного слова"),
    ],
)
def test_colloquial_file_errors_name_file_and_line(tmp_path: Path, line: str, message: str):
    path = tmp_path / "colloquial.txt"
    path.write_text(f"# rules\n{line}\n", encoding="utf-8")
    with pytest.raises(ColloquialFileError, match=message):
        Colloquial.load(path)
    # consoles and the backend already handle synonym file errors
    assert issubclass(ColloquialFileError, SynonymFileError)


def test_colloquial_file_not_utf8_is_refused_with_the_byte(tmp_path: Path):
    path = tmp_path / "colloquial.txt"
    path.write_bytes("коммуналка => ЖКХ\n".encode("cp1251"))
    with pytest.raises(ColloquialFileError, match=r"colloquial.txt: файл не в кодировке UTF-8"):
        Colloquial.load(path)


def test_shipped_colloquial_file_loads():
    rules = Colloquial.load(KB / "colloquial.txt")
    assert len(rules.rules) >= 100


def one_word_caller_phrases_in_many_articles(path: Path) -> set[tuple[str, int]]:
    """(word, line) of the rules whose caller phrase is one word once its stop words are
    dropped, in a fifth of the articles or more, and not kept as an article phrase of its
    own rule (which would make the rule a mere widening of that word)."""
    articles = [Article.from_dict(r.to_dict()) for r in read_path(KB / "articles").records]
    vocabularies = [
        {stem(w) for w in words(" ".join([a.title, *a.tags, a.body]))} for a in articles
    ]
    return {
        (phrase[0], rule.line)
        for rule in Colloquial.load(path).rules
        for phrase in rule.callers
        if len(phrase) == 1
        and phrase not in rule.articles
        and sum(phrase[0] in v for v in vocabularies) * 5 >= len(articles)
    }


def test_shipped_one_word_caller_phrases_are_rare_words(tmp_path: Path):
    # «работы нет» is «работа» without its stop word: it rewrote every query with «работа»
    # («справка для работы в школе») to the job centre
    path = tmp_path / "colloquial.txt"
    path.write_text("работы нет => центр занятости, поиск работы\n", encoding="utf-8")
    assert one_word_caller_phrases_in_many_articles(path) == {(stem("работа"), 1)}
    assert not one_word_caller_phrases_in_many_articles(KB / "colloquial.txt")


def test_caller_phrase_matches_in_any_order_and_form_and_one_way():
    rules = Colloquial.from_lines(["соседи затопили => протечка"])
    assert rules.matches([stem("затопление"), "сверху", stem("соседями")]) == [
        ([0, 2], (("протечка",),))
    ]
    assert rules.matches([stem("соседи")]) == []  # every word of the phrase is needed
    assert rules.matches(["протечка"]) == []  # one way


def test_caller_phrase_keeps_its_negation_and_wish():
    # «не» and «хочу» are stop words: without them «не хочу жить» would be the rule «жить»
    rules = Colloquial.from_lines(["не хочу жить, скорая не приехала => суицид"])
    assert rules.matches([stem("жить")], typed=["жить", "не", "хочу"])
    assert rules.matches([stem("жить")], typed=["не", "хочу", "жить"])
    assert not rules.matches([stem("живет")], typed=["никто", "не", "живет"])
    assert not rules.matches([stem("жить")], typed=["хочу", "жить"])
    assert rules.matches([stem("скорая"), stem("приехала")], typed=["скорая", "нет", "приехала"])
    assert not rules.matches([stem("скорая"), stem("приехала")], typed=["скорая", "приехала"])
    assert rules.matches([stem("жить")])  # the query's stop words not given: not checked


@pytest.mark.parametrize("query", ["не хочу жить", "жить не хочу", "хочу умереть"])
def test_suicidal_phrasings_find_the_crisis_article(shipped: KbIndex, query: str):
    assert ids(shipped.search(query, limit=3))[:1] == ["kb-psych-006"]


def test_negated_caller_phrase_does_not_match_a_query_without_negation(shipped: KbIndex):
    # «никто не живет» is the rubbish fee's article, not the crisis phrase «не хочу жить»
    found = ids(shipped.search("за мусор платим а в квартире никто не живет", limit=3))
    assert found[0] == "kb-housing-002"
    assert "kb-psych-006" not in found


def test_colloquial_rules_apply_at_query_time_without_reindex(
    shipped: KbIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "colloquial.txt"
    path.write_text("# none yet\n", encoding="utf-8")
    monkeypatch.setenv("EKC_KB_COLLOQUIAL", str(path))
    assert ids(shipped.search("шмурдяк", limit=3)) == []
    path.write_text("шмурдяк => санитарная авиация\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert ids(shipped.search("шмурдяк", limit=3))[0] in {"kb-emergency-006", "kb-medicine-015"}
    # a bad edit keeps the last good rules and never stops search
    path.write_text("шмурдяк санитарная авиация\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert ids(shipped.search("шмурдяк", limit=3))[0] in {"kb-emergency-006", "kb-medicine-015"}


# --- typo distance -----------------------------------------------------------------------


@pytest.mark.parametrize(("length", "allowed"), [(2, 0), (3, 0), (4, 1), (6, 1), (7, 2), (12, 2)])
def test_typo_distance_scales_with_word_length(length: int, allowed: int):
    assert max_typos(length) == allowed


# --- the example queries -----------------------------------------------------------


@pytest.mark.parametrize("as_you_type", [False, True])
@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("соседи сверху затопили", {"kb-housing-015", "kb-housing-012"}),
        ("с потолка капает после дождя", {"kb-housing-015", "kb-housing-011", "kb-housing-012"}),
        ("ветхое жилье расселение", {"kb-housing-014"}),
    ],
)
def test_callers_words_find_the_article_they_mean(
    shipped: KbIndex, query: str, wanted: set[str], as_you_type: bool
):
    found = ids(shipped.search(query, limit=5, as_you_type=as_you_type))
    assert found, "an empty answer"
    assert found[0] in wanted, found


@pytest.mark.parametrize("as_you_type", [False, True])
@pytest.mark.parametrize("space", ["", " "])
@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("пенсеи", {"kb-social-005", "kb-social-006"}),
        ("атопление", {"kb-housing-003"}),
        ("кварплата", {"kb-social-007", "kb-housing-009", "kb-social-008"}),
    ],
)
def test_mistyped_word_is_corrected_while_typing_and_after(
    shipped: KbIndex, query: str, wanted: set[str], space: str, as_you_type: bool
):
    found = ids(shipped.search(query + space, limit=5, as_you_type=as_you_type))
    assert found and found[0] in wanted, found


def test_mistyped_prefix_is_completed_while_typing(shipped: KbIndex):
    assert ids(shipped.search("атоплен", limit=3, as_you_type=True))[:1] == ["kb-housing-003"]


PAYMENTS = {"kb-svo-003", "kb-svo-004", "kb-svo-005", "kb-svo-006", "kb-svo-007", "kb-svo-008"}


def test_payments_to_svo_participants_come_before_psychological_help(shipped: KbIndex):
    found = ids(shipped.search("участник сво выплаты", limit=5))
    assert found[0] in PAYMENTS
    assert len(PAYMENTS & set(found)) >= 3
    assert "kb-psych-003" not in found[:3]


def test_no_hot_water_does_not_bring_school_meals(shipped: KbIndex):
    found = ids(shipped.search("нет горячей воды", limit=5))
    assert found[0] == "kb-housing-004"
    assert not {"kb-education-004", "kb-svo-010"} & set(found[:3])


def test_one_related_word_among_unknown_ones_is_enough(shipped: KbIndex):
    # neither word is in any article together with the other: the relaxed plan answers
    assert ids(shipped.search("абырвалг шлагбаумович отопление", limit=3))[:1] == ["kb-housing-003"]
    # a long word is relaxed to its first letters when nothing else is found
    assert ids(shipped.search("снегоходище", limit=3))


def test_no_related_word_still_answers_nothing(shipped: KbIndex):
    assert ids(shipped.search("абырвалг шлагбаумович", limit=3)) == []


def test_query_builder_plan_is_made_of_terms_ands_and_ors(shipped: KbIndex):
    from whoosh import query as Q  # noqa: N812

    builder = shipped._builder()
    allowed = (Q.Term, Q.And, Q.Or)
    for text in ("с потолка капает после дождя", "участник сво выплаты", "атоплен"):
        assert builder.plan(text)
        for plan in (builder.plan(text), builder.relaxed_plan(text, as_you_type=True)):
            for level in plan:
                assert all(isinstance(node, allowed) for node in _walk(level)), level


def _walk(node: object) -> Iterator[object]:
    yield node
    for child in getattr(node, "subqueries", ()):
        yield from _walk(child)
