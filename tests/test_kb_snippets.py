"""KB snippets as the console shows them: no stray asterisks (issue 11, «Пункт*»)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ekc_tui.text import highlight
from kb_index import Article, KbIndex

BODY = (
    "**Кратко для оператора.** Контракт заключает пункт отбора после медицинской комиссии.\n\n"
    "**Документы**\n- паспорт;\n- военный билет.\n\n"
    "**Куда обращаться:** пункт отбора на военную службу по контракту, Иркутск."
)
ARTICLE = Article(id="kb-1", title="Документы для контракта", body=BODY, topic="svo.contract")


def visible(markup: str) -> str:
    """The text a Rich markup string shows (tags removed, escapes undone)."""
    return re.sub(r"(?<!\\)\[/?[a-z ]*\]", "", markup).replace("\\[", "[")


@pytest.mark.parametrize(
    ("fragment", "shown", "marked"),
    [
        # a fragment cut at 160 characters in the middle of the closing mark
        ("Куда обращаться: **пункт** **отбора*", "Куда обращаться: пункт отбора", "отбора"),
        ("Куда обращаться: **пункт** **отбо", "Куда обращаться: пункт отбо", "отбо"),
        ("Куда обращаться: **пункт** *", "Куда обращаться: пункт ", "пункт"),
        ("[1] **пункт** отбора", "[1] пункт отбора", "пункт"),
    ],
)
def test_a_cut_fragment_shows_no_asterisks(fragment: str, shown: str, marked: str) -> None:
    markup = highlight(fragment)
    assert visible(markup) == shown
    assert f"[b reverse]{marked}[/]" in markup


def test_limit_counts_visible_characters_and_never_cuts_a_mark() -> None:
    markup = highlight("пункт **отбора** на военную службу", limit=12)
    assert visible(markup) == "пункт отбора"
    assert markup.endswith("[b reverse]отбора[/]")


def test_suggestions_from_a_transcript_keep_markdown_bold_out_of_the_marks(
    tmp_path: Path,
) -> None:
    with KbIndex(tmp_path / "kb", source=lambda: [ARTICLE]) as index:
        hits = index.more_like_this("где пункт отбора и какие документы для контракта")
    assert hits and hits[0].highlights
    fragment = hits[0].highlights[0]
    assert "***" not in fragment  # Markdown "**Документы**" around a mark: "****Документы****"
    assert "Кратко для оператора." in fragment.replace("**", "")
    shown = visible(highlight(fragment))
    assert "*" not in shown
    assert "пункт отбора" in shown
