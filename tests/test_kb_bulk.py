"""A rebuild's segment (`kb_index.bulk.BulkSegmentWriter`) is the segment Whoosh's own
writer makes: the same files, byte for byte, for the shipped articles and synthetic ones
made of their sentences (terms with more postings than a block, fields left empty, words
in both alphabets, ё, hyphens)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from kb_index import Article, KbIndex
from kb_index.analysis import RussianAnalyzer
from kb_index.bulk import BulkSegmentWriter
from kb_index.schema import build_schema, document
from tests.kb_support import sentences, shipped_articles


def _corpus() -> list[Article]:
    shipped = list(shipped_articles())
    rng = random.Random(7)
    texts = sentences(shipped_articles())
    synthetic = [
        Article(
            id=f"bulk-{i:04d}",
            title=rng.choice(shipped).title if i % 7 else "Ёлки COVID-19 кто-то 122",
            body=" ".join(rng.sample(texts, rng.randint(1, 15))),
            topic=rng.choice(shipped).topic if i % 5 else None,
            agency=rng.choice(shipped).agency if i % 3 else None,
            tags=tuple(rng.choice(shipped).tags[:3]) if i % 4 else (),
            audience="citizens" if i % 2 else None,
        )
        for i in range(300)
    ]
    return shipped + synthetic


def _segment_files(directory: Path, writer: type[SegmentWriter]) -> dict[str, str]:
    directory.mkdir()
    idx = whoosh_index.create_in(str(directory), build_schema("lemma"))
    w = writer(idx, compound=False)
    for article in _corpus():
        w.add_document(**document(article))
    w.commit()
    return _files(directory, idx)


def _files(directory: Path, idx: Any) -> dict[str, str]:
    segment = idx._segments()[0]
    prefix = f"{idx.indexname}_{segment.segid}."
    return {
        f.removeprefix(prefix): hashlib.sha256((directory / f).read_bytes()).hexdigest()
        for f in sorted(p.name for p in directory.iterdir())
        if f.startswith(prefix)
    }


def test_the_bulk_segment_is_whooshs_segment_byte_for_byte(tmp_path: Path) -> None:
    expected = _segment_files(tmp_path / "whoosh", SegmentWriter)
    actual = _segment_files(tmp_path / "bulk", BulkSegmentWriter)
    assert {"pst", "trm", "_stored.col", "_body_len.col"} <= set(expected)
    assert actual == expected


def test_fields_no_document_fills_are_left_out_as_whoosh_does(tmp_path: Path) -> None:
    bare = [
        Article(id=f"bare-{i}", title=f"Статья {i}", body="Текст о пенсии и выплатах.")
        for i in range(3)
    ]
    files = {}
    for name, writer in (("whoosh", SegmentWriter), ("bulk", BulkSegmentWriter)):
        directory = tmp_path / name
        directory.mkdir()
        idx = whoosh_index.create_in(str(directory), build_schema("lemma"))
        w = writer(idx, compound=False)
        for article in bare:
            w.add_document(**document(article))
        w.commit()
        files[name] = _files(directory, idx)
        assert "tags" not in whoosh_index.open_dir(str(directory)).reader().indexed_field_names()
    assert files["bulk"] == files["whoosh"]


def test_term_counts_are_the_analyzers_tokens() -> None:
    analyzer = RussianAnalyzer("lemma")
    text = "Соседи сверху затопили квартиру, затопление! Ёлка ёлки COVID-19 и кто-то 122 122"
    tokens = [t.text for t in analyzer(text)]
    counts = analyzer.term_counts(text, {})
    assert sorted(counts.elements()) == sorted(tokens)
    assert counts["122"] == 2


def test_a_bulk_writer_refuses_an_index_that_has_documents(tmp_path: Path) -> None:
    built = KbIndex.build(tmp_path / "kb", _corpus()[:5])
    gen = tmp_path / "kb" / (tmp_path / "kb" / "CURRENT").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="empty index"):
        BulkSegmentWriter(whoosh_index.open_dir(str(gen)))
    built.apply([_corpus()[6]])  # the index's write lock was not taken
    assert built.count() == 6


def test_a_rebuild_that_fails_in_its_commit_leaves_the_index_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = _corpus()[:20]
    index = KbIndex.build(tmp_path / "kb", articles)
    before = sorted(p.name for p in (tmp_path / "kb").iterdir())

    def fail(self: BulkSegmentWriter) -> None:
        raise MemoryError("simulated")

    monkeypatch.setattr(BulkSegmentWriter, "_flush_segment", fail)
    with pytest.raises(MemoryError):
        index.rebuild(_corpus()[20:40])
    assert sorted(p.name for p in (tmp_path / "kb").iterdir()) == before
    assert {h.id for h in index.search("пенсия")} <= {a.id for a in articles}
    monkeypatch.undo()
    assert index.rebuild(_corpus()[20:40]) == 20
