"""A hardened web scraper (requests + BeautifulSoup) that feeds the knowledge base.

Safety: http/https only; every address a host resolves to is checked against private,
loopback, link-local (cloud metadata), multicast and reserved ranges, and checked again
after each redirect; body size and content type are capped; parser failures (bs4's
html.parser raises on inputs such as `<![`) become a `ScrapeError`. Hidden elements are
dropped before text extraction so invisible text cannot smuggle instructions in. The text is
Markdown (markdownify): headings stay headings, so chunks are cited by their section; code stays
code; inline markup stays inside its sentence.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urldefrag, urljoin, urlparse
from urllib.robotparser import RobotFileParser

import requests
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, NavigableString, UnicodeDammit
from bs4.exceptions import ParserRejectedMarkup
from langchain_core.tools import StructuredTool
from markdownify import MarkdownConverter
from pydantic import BaseModel, Field

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
_BOILERPLATE = ["script", "style", "noscript", "nav", "footer", "header", "aside", "form", "svg", "iframe", "template"]
_PERMALINK_MARKS = {"¶", "#", "§", "🔗"}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0", re.I)
# Links and images keep only their text: an address is no content of the sentence it sits in.
_MARKDOWN = MarkdownConverter(heading_style="ATX", bullets="-", strip=["a", "img"], escape_underscores=False,
                              escape_asterisks=False, escape_misc=False)


class ScrapeError(RuntimeError):
    """A page could not be fetched or parsed safely; the message says why."""


@dataclass(frozen=True)
class ScraperPolicy:
    """Limits of one scraper. `allow` lists hosts or networks (CIDR) exempt from the
    private-address refusal, for intranet use and tests."""

    allow: tuple[str, ...] = ()
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    max_redirects: int = 5
    max_bytes: int = 2_000_000
    user_agent: str = "vetted-rag-scraper/0.1 (+https://github.com/vetted-rag)"
    per_host_delay_s: float = 1.0
    respect_robots: bool = True
    content_types: frozenset[str] = field(default_factory=lambda: HTML_TYPES | TEXT_TYPES)


class Page(BaseModel):
    """What the scraper returns for one page."""

    url: str
    final_url: str
    canonical_url: str | None = None
    title: str = ""
    text: str = ""
    headings: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    content_type: str = ""
    charset: str | None = None


# ---- parsing -------------------------------------------------------------------------------


def parse_html(markup: str | bytes, base_url: str = "", charset: str | None = None) -> Page:
    """Title, main text without boilerplate or hidden elements, headings, absolute links, canonical."""
    try:
        if isinstance(markup, bytes):
            dammit = UnicodeDammit(markup, [charset] if charset else [], is_html=True)
            if dammit.unicode_markup is None:
                raise ScrapeError("cannot decode the page's bytes")
            markup, charset = dammit.unicode_markup, dammit.original_encoding or charset
        with warnings.catch_warnings():
            # Always fetched markup, never a file name: a page whose text looks like a path or URL is still a page.
            warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
            soup = BeautifulSoup(markup, "html.parser")
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        canonical = soup.find("link", rel=lambda v: v and "canonical" in (v if isinstance(v, list) else [v]))
        links = []
        for a in soup.find_all("a", href=True):
            href = urldefrag(urljoin(base_url, str(a["href"]).strip()))[0]
            if urlparse(href).scheme in ("http", "https") and href not in links:
                links.append(href)
        for tag in soup.find_all(_BOILERPLATE):
            tag.decompose()
        for anchor in soup.find_all("a"):  # heading permalinks ("¶", "#") are not content
            if anchor.get_text(strip=True) in _PERMALINK_MARKS:
                anchor.decompose()
        for tag in soup.find_all(lambda t: t.has_attr("hidden") or t.get("aria-hidden") == "true"
                                 or _HIDDEN_STYLE.search(str(t.get("style", "")))):
            tag.decompose()
        main = soup.find("main") or soup.find("article") or soup.find(attrs={"role": "main"}) or soup.body or soup
        headings = [h.get_text(" ", strip=True) for h in main.find_all(["h1", "h2", "h3"])]
        top = main.find("h1")
        # Outside <pre>, a line break in the markup is a space: "Guido van\nRossum" is one name in one sentence.
        for string in main.find_all(string=True):
            if type(string) is NavigableString and "\n" in string and not string.find_parent("pre"):
                string.replace_with(re.sub(r"\s+", " ", string))
        text = re.sub(r"\n[ \t]*\n\s*", "\n\n", _MARKDOWN.convert_soup(main)).strip()
    except ScrapeError:
        raise
    except ParserRejectedMarkup as exc:
        raise ScrapeError(f"the HTML parser rejected the markup: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - any parser crash becomes a clean, reported error
        raise ScrapeError(f"the HTML could not be parsed: {type(exc).__name__}: {exc}") from exc
    return Page(
        url=base_url, final_url=base_url,
        canonical_url=urljoin(base_url, str(canonical["href"])) if canonical and canonical.get("href") else None,
        # The page's own top heading, not the <title>'s "Page — Site name"; else the <title>.
        title=(top.get_text(" ", strip=True) if top else "") or title or (headings[0] if headings else ""),
        text=text, headings=headings, links=links,
        content_type="text/html", charset=charset,
    )


# ---- fetching -------------------------------------------------------------------------------


def _allowed(address: ipaddress._BaseAddress, host: str, policy: ScraperPolicy) -> bool:
    for entry in policy.allow:
        if entry == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def check_url(url: str, policy: ScraperPolicy) -> None:
    """Refuse non-http(s) URLs and hosts resolving to any non-public address (unless allowed)."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https"):
        raise ScrapeError(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}")
    host = parts.hostname
    if not host:
        raise ScrapeError(f"no host in URL {url!r}")
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ScrapeError(f"cannot resolve {host!r}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global and not _allowed(address, host, policy):
            raise ScrapeError(f"{host} resolves to non-public address {address}; refused (see ScraperPolicy.allow)")


def _session(policy: ScraperPolicy) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = policy.user_agent
    session.trust_env = False  # no proxy from the environment silently widening where requests go
    return session


def _get(session: requests.Session, url: str, policy: ScraperPolicy) -> tuple[requests.Response, bytes, str]:
    """GET with redirects followed by hand, so each hop is checked; the body is capped while streaming."""
    for _ in range(policy.max_redirects + 1):
        check_url(url, policy)
        try:
            resp = session.get(url, allow_redirects=False, stream=True,
                               timeout=(policy.connect_timeout_s, policy.read_timeout_s))
        except requests.RequestException as exc:
            raise ScrapeError(f"request to {url} failed: {type(exc).__name__}: {exc}") from exc
        if resp.is_redirect and resp.headers.get("location"):
            url = urljoin(url, resp.headers["location"])
            resp.close()
            continue
        body = bytearray()
        for block in resp.iter_content(65536):
            body.extend(block)
            if len(body) > policy.max_bytes:
                resp.close()
                raise ScrapeError(f"{url} is larger than the {policy.max_bytes}-byte limit")
        return resp, bytes(body), url
    raise ScrapeError(f"more than {policy.max_redirects} redirects from {url}")


def fetch(url: str, policy: ScraperPolicy | None = None, session: requests.Session | None = None) -> Page:
    policy = policy or ScraperPolicy()
    resp, body, final_url = _get(session or _session(policy), url, policy)
    if resp.status_code >= 400:
        raise ScrapeError(f"{final_url} answered HTTP {resp.status_code}")
    content_type = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in policy.content_types:
        raise ScrapeError(f"{final_url} has content type {content_type or 'none'!r}, not one of {sorted(policy.content_types)}")
    charset = requests.utils.get_encoding_from_headers(resp.headers) if "charset" in resp.headers.get("content-type", "") else None
    if content_type in HTML_TYPES:
        page = parse_html(body, final_url, charset)
    else:
        text = UnicodeDammit(body, [charset] if charset else []).unicode_markup or ""
        page = Page(url=final_url, final_url=final_url, title=final_url.rsplit("/", 1)[-1], text=text)
    return page.model_copy(update={"url": url, "final_url": final_url, "content_type": content_type,
                                   "charset": page.charset or charset})


@dataclass
class CrawlResult:
    url: str
    page: Page | None = None
    error: str | None = None


def crawl(start_url: str, depth: int = 0, same_host: bool = True, max_pages: int = 50,
          max_total_bytes: int = 20_000_000, policy: ScraperPolicy | None = None) -> Iterator[CrawlResult]:
    """Breadth-first crawl; a page that fails is yielded with its error and skipped."""
    policy = policy or ScraperPolicy()
    session = _session(policy)
    robots: dict[str, RobotFileParser | None] = {}
    last_hit: dict[str, float] = {}
    queue, seen, pages, total = deque([(start_url, 0)]), {start_url}, 0, 0
    start_host = urlparse(start_url).netloc
    while queue and pages < max_pages and total < max_total_bytes:
        url, level = queue.popleft()
        host = urlparse(url).netloc
        wait = policy.per_host_delay_s - (time.monotonic() - last_hit.get(host, -1e9))
        if wait > 0:
            time.sleep(wait)
        last_hit[host] = time.monotonic()
        if policy.respect_robots and not _robots_allow(url, session, policy, robots):
            yield CrawlResult(url, error="disallowed by robots.txt")
            continue
        try:
            page = fetch(url, policy, session)
        except ScrapeError as exc:
            yield CrawlResult(url, error=str(exc))
            continue
        pages += 1
        total += len(page.text.encode())
        yield CrawlResult(url, page=page)
        if level < depth:
            for link in page.links:
                if link not in seen and (not same_host or urlparse(link).netloc == start_host):
                    seen.add(link)
                    queue.append((link, level + 1))


def _robots_allow(url: str, session: requests.Session, policy: ScraperPolicy,
                  cache: dict[str, RobotFileParser | None]) -> bool:
    parts = urlparse(url)
    root = f"{parts.scheme}://{parts.netloc}"
    if root not in cache:
        parser: RobotFileParser | None = None
        try:
            resp, body, _ = _get(session, root + "/robots.txt", policy)
            if resp.status_code < 400:
                parser = RobotFileParser()
                parser.parse(body.decode("utf-8", "replace").splitlines())
        except ScrapeError:
            parser = None  # no readable robots.txt: everything allowed, as crawlers treat a 404
        cache[root] = parser
    rules = cache[root]
    return rules is None or rules.can_fetch(policy.user_agent, url)


class ScrapeInput(BaseModel):
    url: str = Field(description="An http(s) URL to fetch")


def _scrape(url: str) -> dict:
    try:
        return fetch(url).model_dump()
    except ScrapeError as exc:
        return {"url": url, "error": str(exc)}


scrape_tool = StructuredTool.from_function(
    func=_scrape, name="scrape_web_page", args_schema=ScrapeInput,
    description="Fetch a public web page and return its title, main text, headings and links.",
)
