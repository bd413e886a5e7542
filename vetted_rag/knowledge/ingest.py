"""Ingest local files, folders and web pages into the knowledge base through one parser path."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlparse

from vetted_rag.graph.configuration import Configuration
from vetted_rag.knowledge.store import IngestReport, SourceDocument, open_knowledge_base
from vetted_rag.tools.scraper import ScraperPolicy, crawl


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def ingest_urls(config: Configuration, urls: list[str], *, depth: int = 0, same_host: bool = True,
                max_pages: int = 50, policy: ScraperPolicy | None = None) -> IngestReport:
    """Crawl http(s) URLs into the knowledge base; anything else is reported, never read from disk."""
    kb = open_knowledge_base(config)
    report = IngestReport()
    policy = policy or ScraperPolicy()
    for url in urls:
        if not is_url(url):
            report.failed.append((url, "not an http(s) URL"))
            continue
        for result in crawl(url, depth=depth, same_host=same_host, max_pages=max_pages, policy=policy):
            if result.page is None:
                report.failed.append((result.url, result.error or "unknown error"))
            elif not result.page.text.strip():
                report.failed.append((result.url, "the page has no text"))
            else:
                page = result.page
                report.merge(kb.add_document(SourceDocument(page.canonical_url or page.final_url,
                                                            page.title or page.final_url, page.text)))
    return report


def ingest(config: Configuration, *, paths: Iterable[str] = (), urls: Iterable[str] = (),
           documents: Iterable[SourceDocument] = (), depth: int = 0, same_host: bool = True, max_pages: int = 50,
           policy: ScraperPolicy | None = None) -> IngestReport:
    """The one ingest, for the CLI and the HTTP server: documents given as text, local files and
    folders, and http(s) URLs (crawled). Failures are reported, not raised; the rest is added."""
    kb = open_knowledge_base(config)
    report = IngestReport()
    for document in documents:
        report.merge(kb.add_document(document))
    report.merge(ingest_urls(config, list(urls), depth=depth, same_host=same_host, max_pages=max_pages, policy=policy))
    paths = list(paths)
    if paths:
        report.merge(kb.ingest_paths(paths))
    return report
