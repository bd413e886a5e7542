"""The knowledge base: a Chroma collection per tenant (persistent on disk, or a Chroma server).

Chunk ids are content hashes, so re-ingesting a file adds nothing new and drops its stale
chunks. The collection carries a fingerprint of its chunk ids that changes whenever
content is added or deleted; cached answers are scoped by it.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings
from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from vetted_rag.graph.configuration import Configuration
from vetted_rag.graph.state import Passage
from vetted_rag.grounding import TITLE_SEPARATOR, content_words, lede_offset
from vetted_rag.knowledge.embeddings import chroma_embedding_function
from vetted_rag.knowledge.lexical import LexicalIndex
from vetted_rag.tools.scraper import ScrapeError, parse_html

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".rst"}
HTML_SUFFIXES = {".html", ".htm"}
CHUNK_SIZE, CHUNK_OVERLAP = 700, 80
# Hybrid search: each ranking (vector, BM25) offers this many candidates; fused by reciprocal rank with
# the usual constant (Cormack et al. 2009); a chunk below the cosine threshold needs this many question words.
CANDIDATES = 30
RRF_K = 60
LEXICAL_MIN_WORDS = 2


@dataclass
class SourceDocument:
    source: str
    title: str
    text: str


@dataclass
class IngestReport:
    added: int = 0
    unchanged: int = 0
    removed: int = 0
    files: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: IngestReport) -> None:
        self.added += other.added
        self.unchanged += other.unchanged
        self.removed += other.removed
        self.files += other.files
        self.failed += other.failed

    def as_dict(self) -> dict:
        """The report as the CLI prints it and the HTTP server returns it."""
        return {"added": self.added, "unchanged": self.unchanged, "removed": self.removed, "files": self.files,
                "failed": [{"source": source, "error": error} for source, error in self.failed]}


@lru_cache(maxsize=4)
def chroma_client(data_dir: str, chroma_url: str | None) -> chromadb.ClientAPI:
    settings = Settings(anonymized_telemetry=False)
    if chroma_url:
        url = urlparse(chroma_url)
        return chromadb.HttpClient(host=url.hostname or "localhost", port=url.port or 8000,
                                   ssl=url.scheme == "https", settings=settings)
    path = Path(data_dir).expanduser() / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def read_document(path: Path) -> SourceDocument:
    """Markdown, text and HTML files; HTML goes through the scraper's parser."""
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES | HTML_SUFFIXES:
        raise ScrapeError(f"unsupported file type {suffix or '(none)'}; ingest takes {sorted(TEXT_SUFFIXES | HTML_SUFFIXES)}")
    raw = path.read_bytes()
    if suffix in HTML_SUFFIXES:
        page = parse_html(raw, path.resolve().as_uri())
        title = page.title or (page.headings[0] if page.headings else path.stem)
        document = SourceDocument(str(path), title, page.text)
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScrapeError(f"not UTF-8 text: {exc}") from exc
        # The top-level heading names the document; a README that opens with its logo and a tagline and whose
        # first heading is "## Quickstart" is named by its file ("uvicorn"), not by that section.
        top = [title for _, level, title in markdown_headings(text) if level == 1]
        document = SourceDocument(str(path), top[0] if top else path.stem, text)
    if not document.text.strip():
        raise ScrapeError("the document has no text")
    return document


_FENCE = re.compile(r"^\s*(```|~~~)")  # indented too: HTML → Markdown indents a block inside a list or definition
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


def markdown_headings(text: str) -> list[tuple[int, int, str]]:
    """(offset, level, title) of each ATX heading outside code fences ("# comment" lines in a
    fenced shell example are not headings)."""
    found, offset, fenced = [], 0, False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            heading = _ATX.match(line)
            if heading:
                found.append((offset, len(heading.group(1)), heading.group(2).strip()))
        offset += len(line)
    return found


def section_title(doc: SourceDocument, chunk: str, start: int = 0) -> str:
    """The title a chunk is cited by: its nearest heading outside code fences, under the document's title."""
    at = doc.text.find(chunk[:200], start)
    before = [h for h in markdown_headings(doc.text) if at >= 0 and h[0] <= at + len(chunk) // 2]
    section = before[-1][2] if before else ""
    return doc.title if not section or section == doc.title else f"{doc.title}{TITLE_SEPARATOR}{section}"


class KnowledgeBase:
    def __init__(self, config: Configuration) -> None:
        self.config = config
        self.name = f"{config.collection}-{config.tenant}"
        self._client = chroma_client(str(config.data_path), config.chroma_url)
        self._write_lock = threading.Lock()
        self._lexical: LexicalIndex | None = None  # built at the first search, rebuilt when the fingerprint changes
        self._open_collection()

    def _open_collection(self) -> None:
        """(Re-)read the collection, with its metadata (the fingerprint)."""
        self._embedding = chroma_embedding_function(self.config.embedding_model)
        self._collection = self._client.get_or_create_collection(
            self.name,
            embedding_function=self._embedding,
            configuration={"hnsw": {"space": "cosine"}},
        )
        self._collection_read_at = time.monotonic()
        self._splitter = RecursiveCharacterTextSplitter.from_language(
            Language.MARKDOWN, chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
        )

    # ---- reading --------------------------------------------------------------------------

    def count(self) -> int:
        return self._collection.count()

    @property
    def fingerprint(self) -> str:
        """Changes whenever chunks are added or removed, here or by another process sharing the store
        (seen within `cache_coherence_s`): cached answers are scoped by it."""
        if time.monotonic() - self._collection_read_at > self.config.cache_coherence_s:
            self._open_collection()
        return (self._collection.metadata or {}).get("fingerprint", "empty")

    def _lexical_index(self) -> LexicalIndex:
        fingerprint = self.fingerprint
        with self._write_lock:
            if self._lexical is None or self._lexical.fingerprint != fingerprint:
                chunks = self._collection.get(include=["documents"])
                self._lexical = LexicalIndex(fingerprint, chunks["ids"], [t or "" for t in chunks["documents"]])
            return self._lexical

    def search(self, query: str, k: int, threshold: float) -> list[Passage]:
        """Hybrid search: the vector and BM25 rankings fused by reciprocal rank choose which chunks; how many
        (up to `k`) is the number whose cosine reaches `threshold` — or, when none does, the number that
        contain at least two of the question's content words (its only one, for a one-word question): a
        named term is evidence of relevance that MiniLM can miss. Measured: admitting lexical chunks beside
        passing ones grew the newcomer's prompts by a fifth and their p50 by 1.6 s (bench/RESULTS.md)."""
        count = self.count()
        if count == 0:
            return []
        pool = min(count, max(k, CANDIDATES))
        vector = np.asarray(self._embedding([query])[0], dtype=np.float32)
        found = self._collection.query(query_embeddings=[vector], n_results=pool, include=["distances"])
        cosine = {pid: 1.0 - float(d) for pid, d in zip(found["ids"][0], found["distances"][0])}
        lexical = {m.id: m for m in self._lexical_index().top(query, pool)}
        unscored = [pid for pid in lexical if pid not in cosine]
        if unscored:
            got = self._collection.get(ids=unscored, include=["embeddings"])
            for pid, emb in zip(got["ids"], got["embeddings"]):
                emb = np.asarray(emb, dtype=np.float32)
                cosine[pid] = float(vector @ emb / (np.linalg.norm(vector) * np.linalg.norm(emb) or 1.0))
        needed = min(LEXICAL_MIN_WORDS, len(content_words(query)))
        dense_rank = {pid: rank for rank, pid in enumerate(sorted(cosine, key=lambda pid: -cosine[pid]))}

        def fused(pid: str) -> float:
            match = lexical.get(pid)
            return 1 / (RRF_K + dense_rank[pid]) + (1 / (RRF_K + match.rank) if match else 0.0)

        admitted = [pid for pid in cosine
                    if cosine[pid] >= threshold or (pid in lexical and lexical[pid].matched >= needed)]
        passing = sum(score >= threshold for score in cosine.values())
        used = sorted(admitted, key=fused, reverse=True)[:min(k, passing or len(admitted))]
        if not used:
            return []
        got = self._collection.get(ids=used, include=["documents", "metadatas"])
        chunks = {pid: (text, meta) for pid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])}
        return [_passage(pid, chunks[pid][0] or "", chunks[pid][1], cosine[pid]) for pid in used]

    # ---- writing --------------------------------------------------------------------------

    def add_document(self, doc: SourceDocument) -> IngestReport:
        """Store one document's chunks; replaces that source's previous chunks."""
        # A chunk repeated within one document (same text) is stored once: ids are content hashes.
        chunks = list(dict.fromkeys(c for c in self._splitter.split_text(doc.text) if c.strip()))
        ids = [hashlib.sha256(f"{doc.source}\n{c}".encode()).hexdigest()[:32] for c in chunks]
        lede = next((n for n, c in enumerate(chunks) if lede_offset(c) is not None), None)
        with self._write_lock:
            existing = set(self._collection.get(where={"source": doc.source}, include=[])["ids"])
            new = [(i, n, c) for n, (i, c) in enumerate(zip(ids, chunks)) if i not in existing]
            stale = sorted(existing - set(ids))
            if stale:
                self._collection.delete(ids=stale)
            if new:
                self._collection.add(
                    ids=[i for i, _, _ in new], documents=[c for _, _, c in new],
                    metadatas=[{"source": doc.source, "title": section_title(doc, c), "chunk": n, "lede": n == lede}
                               for _, n, c in new],
                )
            if new or stale:
                self._refresh_fingerprint()
        return IngestReport(added=len(new), unchanged=len(ids) - len(new), removed=len(stale), files=1)

    def ingest_paths(self, paths: list[str | Path]) -> IngestReport:
        """Files and folders (recursively). A file that fails is reported and skipped."""
        report = IngestReport()
        for root in map(Path, paths):
            if not root.exists():
                report.failed.append((str(root), "no such file or directory"))
                continue
            files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
            for path in files:
                if root.is_dir() and path.suffix.lower() not in TEXT_SUFFIXES | HTML_SUFFIXES:
                    continue  # folders may hold images etc.; only named files are reported as unsupported
                try:
                    report.merge(self.add_document(read_document(path)))
                except (ScrapeError, OSError) as exc:
                    report.failed.append((str(path), str(exc)))
        return report

    def delete_source(self, source: str) -> int:
        with self._write_lock:
            ids = self._collection.get(where={"source": source}, include=[])["ids"]
            if ids:
                self._collection.delete(ids=ids)
                self._refresh_fingerprint()
        return len(ids)

    def _refresh_fingerprint(self) -> None:
        ids = sorted(self._collection.get(include=[])["ids"])
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] if ids else "empty"
        self._collection.modify(metadata={"fingerprint": digest})

    def ensure_sample(self) -> IngestReport | None:
        """Ingest the shipped sample knowledge base into an empty public collection."""
        if self.count() or self.config.tenant != "public" or not self.config.seed_sample:
            return None
        with resources.as_file(resources.files("vetted_rag") / "sample_kb") as folder:
            return self.ingest_paths([folder])


def _passage(pid: str, text: str, meta: dict, cosine: float) -> Passage:
    chunk = int(meta.get("chunk", 0))
    # Chunks stored before the lede was marked at ingest: the first chunk was the lede's.
    return Passage(id=pid, source=str(meta["source"]), title=str(meta.get("title", "")), chunk=chunk, text=text,
                   score=round(cosine, 4), lede=bool(meta.get("lede", chunk == 0)))


_OPEN: dict[tuple, KnowledgeBase] = {}
_OPEN_LOCK = threading.Lock()


def open_knowledge_base(config: Configuration) -> KnowledgeBase:
    """One KnowledgeBase per store, collection, tenant and embedding model in this process."""
    key = (str(config.data_path), config.chroma_url, config.collection, config.tenant, config.embedding_model)
    with _OPEN_LOCK:
        if key not in _OPEN:
            _OPEN[key] = KnowledgeBase(config)
        return _OPEN[key]
