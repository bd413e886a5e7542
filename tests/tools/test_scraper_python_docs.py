"""The scraper on a realistic page set: Python 3.11's HTML documentation from Debian's python3.11-doc
package (downloaded and unpacked by the test setup, not installed), served from 127.0.0.1."""

from __future__ import annotations

import glob
import shutil
import subprocess

import pytest

from tests.conftest import serve_directory
from vetted_rag import Configuration
from vetted_rag.knowledge.ingest import ingest
from vetted_rag.knowledge.store import open_knowledge_base
from vetted_rag.tools.scraper import ScraperPolicy, fetch


@pytest.fixture(scope="module")
def python_docs(tmp_path_factory):
    root = tmp_path_factory.mktemp("python-doc")
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("apt-get/dpkg-deb unavailable: cannot fetch Debian's python3.11-doc")
    fetched = subprocess.run(["apt-get", "download", "python3.11-doc"], cwd=root, capture_output=True, text=True)
    debs = glob.glob(str(root / "python3.11-doc_*.deb"))
    if fetched.returncode != 0 or not debs:
        pytest.skip(f"apt-get download python3.11-doc failed: {fetched.stderr.strip()[:200]}")
    subprocess.run(["dpkg-deb", "-x", debs[0], str(root / "pkg")], check=True)
    with serve_directory(root / "pkg/usr/share/doc/python3.11/html") as url:
        yield url


POLICY = ScraperPolicy(allow=("127.0.0.1",), per_host_delay_s=0.0)


def test_sphinx_page_is_parsed_without_boilerplate(python_docs):
    page = fetch(python_docs + "/faq/programming.html", POLICY)
    assert page.title.startswith("Programming FAQ")
    assert "How do I share global variables across modules?" in page.text
    assert "Navigation" not in page.text and "Quick search" not in page.text  # sidebar and header dropped
    assert page.headings[0] == "Programming FAQ" and len(page.headings) > 20 and "¶" not in page.text
    assert all(link.startswith(("http://", "https://")) for link in page.links)  # resolved to absolute
    assert python_docs + "/faq/design.html" in page.links


def test_crawl_faq_into_the_knowledge_base(python_docs, tmp_path):
    config = Configuration(data_dir=str(tmp_path), collection="pydoc")
    report = ingest(config, urls=[python_docs + "/faq/index.html"], depth=1, same_host=True, max_pages=12,
                            policy=POLICY)
    print(f"crawled {report.files} pages, {report.added} chunks, {len(report.failed)} failed")
    assert report.files >= 8 and report.added > 100
    hits = open_knowledge_base(config).search("How do I share global variables across modules?", 3, 0.3)
    assert any(h["source"].endswith("faq/programming.html") for h in hits)
