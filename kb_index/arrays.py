"""Postings of the text fields as flat arrays, one set per Whoosh segment.

Whoosh stays the index of record (schema, writer, segments, rebuild-and-swap, incremental
updates); what it does slowly in pure Python — walking posting lists term by term — leaves
the hot path. When a searcher opens, every segment that has no arrays yet (a new segment
after a commit or a merge: segments never change, only their deletions do) gets them:

    GEN/_arrays/<segment id>/terms.marisa      the segment's terms (marisa-trie: term → id)
    GEN/_arrays/<segment id>/<field>.off.npy   int64, per term id: where its postings start
    GEN/_arrays/<segment id>/<field>.doc.npy   document numbers within the segment (uint16
                                               when the segment has at most 65,536, else int32)
    GEN/_arrays/<segment id>/<field>.tf.npy    term frequencies, Whoosh's weights (uint8 when
                                               all are whole numbers below 256, else float32)
    GEN/_arrays/<segment id>/<field>.len.npy   float32, per document: Whoosh's field length
    GEN/_arrays/<segment id>/meta.json         format, documents, total field lengths

The `.npy` files are memory-mapped: only the pages of the terms a query touches are read.
Arrays of segments that are gone are removed after the next open.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import marisa_trie
import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.util.numeric import byte_to_length

TEXT_FIELDS = ("title", "tags", "body")
ARRAYS_DIR = "_arrays"
#: bump when the layout above changes: older arrays are rebuilt
FORMAT = 2

IntArray = npt.NDArray[np.int64]
DocArray = npt.NDArray[np.integer[Any]]
FloatArray = npt.NDArray[np.float32]
TfArray = npt.NDArray[np.number[Any]]


class PostingsFile:
    """The document numbers or frequencies of one field of a segment, read by range.

    Not memory-mapped: a search touches the postings of common words, which are most of
    the file, and mapped pages count in the process's resident memory (60 MB at 50,000
    articles) although the page cache holds them either way. A `pread` per term and
    segment costs a few microseconds."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            self.start = fh.tell()
        self.dtype = np.dtype(dtype)
        self.length = int(shape[0])
        self.fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self.fd)

    def read(self, start: int, end: int) -> Any:
        size = self.dtype.itemsize
        data = os.pread(self.fd, (end - start) * size, self.start + start * size)
        return np.frombuffer(data, dtype=self.dtype)


@dataclass(frozen=True)
class SegmentArrays:
    """The arrays of one segment (see the module docstring)."""

    segment_id: str
    trie: marisa_trie.Trie
    offsets: dict[str, IntArray]
    docs: dict[str, PostingsFile]
    tfs: dict[str, PostingsFile]
    lengths: dict[str, FloatArray]
    field_length: dict[str, int]
    doc_count_all: int

    def term_id(self, term: str) -> int | None:
        found: int | None = self.trie.get(term)
        return found

    def doc_frequency(self, field: str, term_id: int) -> int:
        offsets = self.offsets[field]
        return int(offsets[term_id + 1] - offsets[term_id])

    def postings(self, field: str, term_id: int) -> tuple[DocArray, TfArray]:
        offsets = self.offsets[field]
        start, end = int(offsets[term_id]), int(offsets[term_id + 1])
        return self.docs[field].read(start, end), self.tfs[field].read(start, end)


def _leaf_postings(matcher: Any) -> tuple[DocArray, FloatArray]:
    """All (doc numbers, weights) of one term in one segment, as arrays, a block at a time
    where the codec allows it (Whoosh's own matcher API yields one posting per Python call;
    Python numbers would take 70 bytes a posting, 2.6 GB at 50,000 articles)."""
    ids: list[Any] = []
    weights: list[Any] = []
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            if matcher._weights is None:
                matcher._read_weights()
            ids.append(np.asarray(matcher._ids, dtype=np.int32))
            weights.append(np.asarray(matcher._weights, dtype=np.float32))
            matcher._next_block()
    else:
        while matcher.is_active():
            ids.append(np.asarray([matcher.id()], dtype=np.int32))
            weights.append(np.asarray([matcher.weight()], dtype=np.float32))
            matcher.next()
    if not ids:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    if len(ids) == 1:
        return ids[0], weights[0]
    return np.concatenate(ids), np.concatenate(weights)


#: Whoosh keeps a field's length per document as one byte (`length_to_byte`)
_BYTE_LENGTHS = np.array([byte_to_length(b) if b else 1 for b in range(256)], dtype=np.float32)


def _field_lengths(reader: Any, field: str, doc_count: int) -> FloatArray:
    """Whoosh's length of `field` for every document of a segment, as BM25F reads it
    (`doc_field_length`), from the segment's length column in one read."""
    try:
        column = reader._perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
        codes = np.zeros(doc_count, dtype=np.uint8)
        if column is not None:
            count = min(int(column._count), doc_count)
            raw = column._dbfile.get(column._basepos, count)
            codes[:count] = np.frombuffer(raw, dtype=np.uint8)
        lengths: FloatArray = _BYTE_LENGTHS[codes]
        return lengths
    except AttributeError:  # another codec: one call per document
        return np.asarray(
            [reader.doc_field_length(d, field, 1) or 1 for d in range(doc_count)],
            dtype=np.float32,
        )


def _compact_tf(tf: FloatArray) -> TfArray:
    """Term frequencies in one byte each when they are whole numbers below 256 (nearly
    always): the postings arrays are what a search touches, and what stays resident."""
    if len(tf) and (float(tf.max()) > 255 or not np.array_equal(tf, np.floor(tf))):
        return tf
    return tf.astype(np.uint8)


def build_segment(reader: Any, target: Path) -> None:
    """Write the arrays of one segment's reader to `target` (via a temporary folder)."""
    per_field: dict[str, dict[str, tuple[DocArray, FloatArray]]] = {}
    vocabulary: set[str] = set()
    for field in TEXT_FIELDS:
        postings: dict[str, tuple[DocArray, FloatArray]] = {}
        if field in reader.schema:
            for raw in reader.lexicon(field):
                term = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
                postings[term] = _leaf_postings(reader.postings(field, raw))
        per_field[field] = postings
        vocabulary.update(postings)
    trie = marisa_trie.Trie(vocabulary)
    by_id = sorted((trie[t], t) for t in vocabulary)
    doc_count = reader.doc_count_all()
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    trie.save(str(tmp / "terms.marisa"))
    meta: dict[str, Any] = {"format": FORMAT, "doc_count_all": doc_count, "field_length": {}}
    for field in TEXT_FIELDS:
        postings = per_field[field]
        total_length = int(reader.field_length(field)) if postings else 0
        counts = np.zeros(len(by_id) + 1, dtype=np.int64)
        doc_parts: list[DocArray] = [np.zeros(0, dtype=np.int32)]
        tf_parts: list[FloatArray] = [np.zeros(0, dtype=np.float32)]
        for term_id, term in by_id:
            found = postings.pop(term, None)
            if found is not None:
                counts[term_id + 1] = len(found[0])
                doc_parts.append(found[0])
                tf_parts.append(found[1])
        np.save(tmp / f"{field}.off.npy", np.cumsum(counts))
        doc_type = np.uint16 if doc_count <= 1 << 16 else np.int32
        np.save(tmp / f"{field}.doc.npy", np.concatenate(doc_parts).astype(doc_type))
        del doc_parts
        np.save(tmp / f"{field}.tf.npy", _compact_tf(np.concatenate(tf_parts)))
        del tf_parts
        np.save(tmp / f"{field}.len.npy", _field_lengths(reader, field, doc_count))
        meta["field_length"][field] = total_length
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)


def load_segment(segment_id: str, folder: Path) -> SegmentArrays | None:
    """The arrays in `folder`, or None when they are missing, of another format or broken."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            return None
        trie = marisa_trie.Trie()
        trie.mmap(str(folder / "terms.marisa"))

        def arr(name: str) -> Any:
            # a plain ndarray over the mapping: slicing a `memmap` costs 5 us a time
            return np.load(folder / name, mmap_mode="r").view(np.ndarray)

        return SegmentArrays(
            segment_id=segment_id,
            trie=trie,
            offsets={f: arr(f"{f}.off.npy") for f in TEXT_FIELDS},
            docs={f: PostingsFile(folder / f"{f}.doc.npy") for f in TEXT_FIELDS},
            tfs={f: PostingsFile(folder / f"{f}.tf.npy") for f in TEXT_FIELDS},
            lengths={f: arr(f"{f}.len.npy") for f in TEXT_FIELDS},
            field_length={f: int(meta["field_length"][f]) for f in TEXT_FIELDS},
            doc_count_all=int(meta["doc_count_all"]),
        )
    except (OSError, ValueError, KeyError):
        return None


def leaf_readers(reader: Any) -> Iterator[tuple[Any, int]]:
    """(segment reader, offset of its first document) for a Whoosh reader."""
    if reader.is_atomic():
        yield reader, 0
    else:
        yield from reader.leaf_readers()


def segment_id(reader: Any) -> str:
    segment = reader.segment()
    return str(segment.segment_id())


def open_arrays(reader: Any, generation: Path) -> list[tuple[SegmentArrays, int]]:
    """The arrays of every segment of `reader`, built where missing; stale ones removed.

    Missing arrays are read from `reader` itself (plain file reads). A memory-mapped reader
    read them 8 % faster but Whoosh copies each mapped part it touches: a rebuild of 50,000
    articles then peaked at 636 MB instead of 496 MB."""
    root = generation / ARRAYS_DIR
    result: list[tuple[SegmentArrays, int]] = []
    wanted: set[str] = set()
    for sub, offset in leaf_readers(reader):
        if sub.doc_count_all() == 0:
            continue
        sid = segment_id(sub)
        wanted.add(sid)
        folder = root / sid
        arrays = load_segment(sid, folder)
        if arrays is None:
            build_segment(sub, folder)
            arrays = load_segment(sid, folder)
        if arrays is None:
            raise RuntimeError(f"KB arrays at {folder} cannot be read after a rebuild")
        result.append((arrays, offset))
    if root.is_dir():
        for folder in root.iterdir():
            if folder.name not in wanted and not folder.name.startswith("."):
                shutil.rmtree(folder, ignore_errors=True)
    return result
