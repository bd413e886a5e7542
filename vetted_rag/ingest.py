"""Ingest local files, folders and web pages into the knowledge base through one parser path."""

from __future__ import annotations

from urllib.parse import urlparse

from vetted_rag.graph.configuration import Configuration
from vetted_rag.knowledge_base import IngestReport, SourceDocument, open_knowledge_base
from vetted_rag.tools.scraper import ScraperPolicy, crawl


def ingest_sources(config: Configuration, sources: list[str], *, depth: int = 0, same_host: bool = True,
                   max_pages: int = 50, allow: tuple[str, ...] = (), policy: ScraperPolicy | None = None) -> IngestReport:
    """Files and folders go through `ingest_paths`; http(s) URLs are crawled. Failures are reported, not raised."""
    kb = open_knowledge_base(config)
    report = IngestReport()
    policy = policy or ScraperPolicy(allow=allow)
    for source in sources:
        if urlparse(source).scheme in ("http", "https"):
            for result in crawl(source, depth=depth, same_host=same_host, max_pages=max_pages, policy=policy):
                if result.page is None:
                    report.failed.append((result.url, result.error or "unknown error"))
                elif not result.page.text.strip():
                    report.failed.append((result.url, "the page has no text"))
                else:
                    page = result.page
                    report.merge(kb.add_document(SourceDocument(page.canonical_url or page.final_url,
                                                                page.title or page.final_url, page.text)))
        else:
            report.merge(kb.ingest_paths([source]))
    return report
