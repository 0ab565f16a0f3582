"""A Whoosh segment writer for full rebuilds that keeps postings in memory.

Whoosh's `SegmentWriter` sends every posting through an external sort (`PostingPool`): a
pickle per posting into runs on disk once the pool passes `limitmb`, a Python heap merge
back, then the field writer reads each posting's document length back from the column it
has just written. At 50,000 articles that was most of a 300 s build. A rebuild adds
documents in order to an empty index, so each term's postings arrive already sorted by
document number: `BulkSegmentWriter` appends them to compact arrays per term and, at
commit, hands each term's postings to Whoosh's own postings writer a block at a time, so
the blocks, the term index and the per-document columns are written by Whoosh's codec and
the segment is byte for byte what `SegmentWriter` writes (`tests/test_kb_bulk.py`).

Only the formats of `kb_index.schema` are supported: `Frequency` (text, keywords) and
`Existence` (ids).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from typing import Any

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.formats import Existence, Frequency
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from kb_index.analysis import RussianAnalyzer

#: Frequency values are big-endian uint32 (`whoosh.system.pack_uint`)
_FREQ_TYPE = "I"


class _Postings:
    """One term's postings in one field: document numbers and frequencies, in order."""

    __slots__ = ("docs", "freqs")

    def __init__(self) -> None:
        self.docs = array("I")
        self.freqs = array("I")


class BulkSegmentWriter(SegmentWriter):  # type: ignore[misc]  # Whoosh is untyped
    """`SegmentWriter` for adding documents to an empty index in one commit.

    Stored fields and lengths go through Whoosh's per-document writer as usual; postings are
    kept per (field, term) in arrays instead of the external sort. Deleting or updating
    documents is not supported (a rebuild has nothing to delete).
    """

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        # checked before the parent takes the index's write lock
        if ix.doc_count_all():
            raise ValueError("BulkSegmentWriter writes the first segment of an empty index")
        for name, field in ix.schema.items():
            if field.indexed and not isinstance(field.format, (Frequency, Existence)):
                raise ValueError(f"field {name!r}: format {field.format!r} is not supported")
            if field.vector or field.column_type or field.separate_spelling():
                raise ValueError(f"field {name!r}: vectors, columns, spelling not supported")
        super().__init__(ix, **kwargs)
        #: per field, term (str for analysed text, bytes otherwise) → its postings
        self._terms: dict[str, dict[Any, _Postings]] = {}
        #: quantised field lengths per scorable field, one entry per document
        self._lengths: dict[str, array[int]] = {}
        #: a word as written → its index forms, for this rebuild only
        self._forms: dict[str, tuple[str, ...]] = {}

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        perdocwriter.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    terms = self._terms.get(name)
                    if terms is None:
                        terms = self._terms[name] = {}
                    for term, freq in _term_freqs(field, value, self._forms):
                        postings = terms.get(term)
                        if postings is None:
                            postings = terms[term] = _Postings()
                        postings.docs.append(docnum)
                        postings.freqs.append(freq)
                        length += freq
                    if field.scorable:
                        lengths = self._lengths.get(name)
                        if lengths is None:
                            lengths = self._lengths[name] = array("I")
                        lengths.extend([0] * (docnum + 1 - len(lengths)))
                        # what the field writer reads back from the lengths column
                        lengths[docnum] = byte_to_length(length_to_byte(length)) if length else 0
                    else:
                        length = 0
                perdocwriter.add_field(name, field, value if field.stored else None, length)
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def delete_document(self, docnum: int, delete: bool = True) -> None:
        raise NotImplementedError("a bulk rebuild does not delete")

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        schema = self.schema
        doccount = self.docnum
        self._forms.clear()
        for name in sorted(self._terms):
            terms = self._terms.pop(name)
            if not terms:
                continue  # no document had a term here: Whoosh's writer never starts the field
            field = schema[name]
            fieldwriter.start_field(name, field)
            lengths = self._lengths.get(name)
            if lengths is not None:
                lengths.extend([0] * (doccount - len(lengths)))
            frequency = isinstance(field.format, Frequency)
            boost = float(field.format.field_boost)
            # UTF-8 keeps the order of code points: str terms sort as their bytes do
            for term in sorted(terms):
                postings = terms.pop(term)
                fieldwriter._btext = term.encode("utf-8") if isinstance(term, str) else term
                writer = fieldwriter._postwriter
                writer.start_postings(field.format, W3TermInfo())
                _write_term(writer, postings, lengths, frequency, boost)
                fieldwriter.finish_term()
            fieldwriter.finish_field()
        fieldwriter.close()


def _term_freqs(
    field: Any, value: Any, forms: dict[str, tuple[str, ...]]
) -> Iterable[tuple[str | bytes, int]]:
    """(term, frequency) of a value: what `field.index` gives, without a token object per
    word where the analyzer counts directly (then the term is a str, else its bytes)."""
    analyzer = field.analyzer
    if isinstance(analyzer, RussianAnalyzer) and isinstance(field.format, Frequency):
        return analyzer.term_counts(value, forms).items()
    return [(tbytes, freq) for tbytes, freq, _weight, _vbytes in field.index(value)]


def _write_term(
    writer: Any, postings: _Postings, lengths: array[int] | None, frequency: bool, boost: float
) -> None:
    """One term's postings through Whoosh's postings writer, a block at a time: the same
    buffers `W3PostingsWriter.add_posting` fills one posting at a time."""
    docs, freqs = postings.docs, postings.freqs
    limit = writer._blocklimit
    count = len(docs)
    for start in range(0, count, limit):
        block_docs = docs[start : start + limit]
        block_freqs = freqs[start : start + limit]
        if frequency:
            weights = array("f", [f * boost for f in block_freqs])
            values = array(_FREQ_TYPE, block_freqs)
            if sys.byteorder == "little":
                values.byteswap()  # pack_uint is big-endian
            writer._values = [values.tobytes()]
        else:
            weights = array("f", [boost] * len(block_docs))
            writer._values = []
        writer._ids = block_docs
        writer._weights = weights
        writer._maxweight = max(max(weights), 0)
        if lengths is not None:
            block_lengths = [lengths[d] for d in block_docs if lengths[d]]
            writer._minlength = min(block_lengths) if block_lengths else None
            writer._maxlength = max(block_lengths) if block_lengths else 0
        else:
            writer._minlength, writer._maxlength = None, 0
        if start + limit < count:
            writer._write_block()
