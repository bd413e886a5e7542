"""`vetted-rag` command line.

Exit codes: 0 answered / success, 2 bad usage or input, 3 unverified, 4 refused,
5 error (provider), 6 audit log tampered, 7 eval regression, 8 ingest skipped some inputs (the
others were added), 1 unexpected failure. Errors print one line unless --debug.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import typing
from dataclasses import fields
from typing import Any

from vetted_rag.graph.configuration import Configuration, RunPolicy

EXIT = {"answered": 0, "unverified": 3, "refused": 4, "error": 5, "busy": 9}


def _config(args: argparse.Namespace) -> Configuration:
    names = {f.name for f in fields(Configuration)} | {f.name for f in fields(RunPolicy)}
    return Configuration.from_env(**{k: v for k, v in vars(args).items() if k in names})


def at_least(minimum: int) -> typing.Callable[[str], int]:
    """An argparse type: an integer of at least `minimum` (a usage error, exit 2, otherwise)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def _policy_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run policy (overrides the configured value for this command)")
    hints = typing.get_type_hints(RunPolicy)
    for f in fields(RunPolicy):
        kind = next((t for t in (bool, int, float) if t in (hints[f.name], *typing.get_args(hints[f.name]))), None)
        if kind in (None, bool):
            continue  # switches stay in configuration
        group.add_argument("--" + f.name.replace("_", "-"), type=kind, dest=f.name, help=f.metadata["description"])


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", dest="data_dir", help="data directory (env VETTED_RAG_DATA_DIR)")
    parser.add_argument("--chat-model", dest="chat_model", help="'embedded', 'cohere:<model>' or 'provider:model'")
    parser.add_argument("--tenant", dest="tenant", help=argparse.SUPPRESS)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def cmd_ask(args: argparse.Namespace) -> int:
    from vetted_rag.api import Agent

    agent = Agent(_config(args))
    progress = not args.json and not args.quiet and sys.stderr.isatty() or args.progress

    async def run() -> Any:
        result = None
        async for item in agent.astream(args.question, thread_id=args.thread, no_cache=args.no_cache):
            if "result" in item:
                result = item["result"]
            elif progress:
                print(f"  · {item['node']:<20} {item['decision']:<16} {item['reason'][:90]}", file=sys.stderr)
        return result

    result = asyncio.run(run())
    if args.json:
        print(result.model_dump_json(exclude={"trace"} if not args.trace else None))
    else:
        mark = {"answered": "✔ verified", "unverified": "⚠ UNVERIFIED", "refused": "✖ refused", "error": "✖ error"}
        print(f"{mark[result.status]} after {result.iterations} graded attempt(s)  run {result.run_id}")
        if result.stop_reason:
            print(f"reason: {result.stop_reason}")
        print()
        print(result.answer or "(no answer)")
        if result.citations:
            print("\nsources:")
            for c in result.citations:
                print(f"  [{c['marker']}] {c['title']} — {c['source']} (chunk {c['chunk']})")
        u = result.usage
        print(f"\ntokens {u.get('total_tokens', 0)} (in {u.get('input_tokens', 0)}, out {u.get('output_tokens', 0)})"
              f"  cost ${u.get('cost_usd', 0.0):.6f}  cache {'hit' if result.cache.get('hit') else 'miss'}")
    return EXIT[result.status]


def cmd_ingest(args: argparse.Namespace) -> int:
    from vetted_rag.knowledge.ingest import ingest, is_url
    from vetted_rag.tools.scraper import ScraperPolicy

    report = ingest(_config(args), urls=[p for p in args.paths if is_url(p)],
                    paths=[p for p in args.paths if not is_url(p)], depth=args.depth, same_host=args.same_host,
                    max_pages=args.max_pages, policy=ScraperPolicy(allow=tuple(args.allow or ())))
    print(json.dumps(report.as_dict(), indent=None if args.json else 2))
    for source, error in report.failed:
        print(f"skipped {source}: {error}", file=sys.stderr)
    if not report.failed:
        return 0
    return 8 if report.files else 2  # 8: partly ingested; 2: nothing could be ingested


def cmd_serve(args: argparse.Namespace) -> int:
    import gc
    import os

    import uvicorn

    from vetted_rag.observability import logging_config
    from vetted_rag.server.app import create_app

    fmt = os.environ.get("VETTED_RAG_LOG_FORMAT", "json")
    app = create_app(_config(args))
    # The start-up objects (libraries, graph, settings) live as long as the server: keep them out of the
    # garbage collector's full passes, each of which stalled every request in flight for ~100 ms
    # (bench/hit_path.py: exact-hit p99 113 ms at p50 18 ms before, 28 ms after).
    gc.freeze()
    uvicorn.run(app, host=args.host, port=args.port,
                log_config=logging_config(fmt, os.environ.get("VETTED_RAG_LOG_LEVEL", "INFO")))
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from vetted_rag.cache import open_cache

    cache = open_cache(_config(args))
    print(json.dumps({"cleared": cache.clear()} if args.action == "clear" else cache.stats()))
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from vetted_rag.observability import trace_store

    config = _config(args)
    store = trace_store(config)
    if not args.run_id:
        print(json.dumps(store.recent(), indent=2))
        return 0
    run = store.get(args.run_id)
    if run is None:
        print(f"no stored trace for run {args.run_id}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(run, indent=2))
        return 0
    print(f"run {run['run_id']}: {run['status']}  {run.get('stop_reason', '')}\nquestion: {run['question']}")
    for e in run["trace"]:
        print(f"  {e['node']:<20} {e['duration_ms']:>9.1f} ms  {e['decision']:<16} {e['reason'][:100]}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from vetted_rag.security.audit import AuditLog
    from vetted_rag.security.keys import KeyStore

    config = _config(args)
    keys, audit = KeyStore(config.data_path / "keys.sqlite"), AuditLog(config.data_path / "audit.jsonl")
    if args.action == "list":
        print(json.dumps(keys.list(), indent=2))
        return 0
    if args.action == "create":
        key, secret = keys.create(args.name, args.role, tenant=args.key_tenant, requests_per_minute=args.rpm,
                                  tokens_per_minute=args.tpm)
        audit.append(key_id="cli", role="admin", action="key create", target=f"{key.key_id} {key.role} {key.tenant}",
                     outcome="created")
        print(json.dumps({"key_id": key.key_id, "role": key.role, "tenant": key.tenant, "secret": secret}))
        print("store the secret now: only its hash is kept", file=sys.stderr)
        return 0
    revoked = keys.revoke(args.name)
    audit.append(key_id="cli", role="admin", action="key revoke", target=args.name,
                 outcome="revoked" if revoked else "not found")
    print(json.dumps({"key_id": args.name, "revoked": revoked}))
    return 0 if revoked else 2


def cmd_audit(args: argparse.Namespace) -> int:
    from vetted_rag.security.audit import AuditLog

    intact, records, problem = AuditLog(_config(args).data_path / "audit.jsonl").verify()
    print(f"audit log {'intact' if intact else 'TAMPERED'}: {records} record(s) verified" + (f"; {problem}" if problem else ""))
    return 0 if intact else 6


def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vetted_rag.evaluation import datasets, runners
    from vetted_rag.evaluation import report as reports

    config = _config(args)
    progress = not args.quiet
    own = None if args.dataset in ("halueval", "sample") else datasets.load_dataset(args.dataset)
    if args.graders:
        report = asyncio.run(runners.grader_benchmark(args.graders, config, seed=args.seed, progress=progress,
                                                 evalset=own, llm=True if args.llm_grader else None))
        print(reports.render_graders(report))
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
        return 0
    if own is not None:
        evalset = own if args.n is None else datasets.sampled(own, args.n, args.unanswerable or 0, args.seed)
    elif args.dataset == "sample":
        evalset = datasets.sample_set()
    else:
        evalset = datasets.halueval_qa(30 if args.n is None else args.n,
                                 10 if args.unanswerable is None else args.unanswerable, args.seed)
    report = asyncio.run(runners.evaluate(evalset, config, tuple(args.systems.split(",")), progress=progress))
    print(reports.render_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if args.html:
        Path(args.html).write_text(reports.render_html(report))
    if args.compare:
        worse = reports.regressions(report, json.loads(Path(args.compare).read_text()), args.tolerance)
        for line in worse:
            print(f"REGRESSION {line}", file=sys.stderr)
        return 7 if worse else 0
    return 0


def cmd_model_server(args: argparse.Namespace) -> int:
    from vetted_rag.providers.model_server import serve_model

    serve_model(args.port, args.gguf, args.threads, parallel=args.parallel)
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from vetted_rag.graph.graph import diagram, graph

    print(diagram(graph))
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line naming the problem and where help is, not the whole usage text."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="vetted-rag", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    ask = sub.add_parser("ask", help="ask a question; prints a graded answer with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--trace", action="store_true", help="include the decision trace in --json output")
    ask.add_argument("--thread", help="continue a conversation (SQLite checkpoints)")
    ask.add_argument("--no-cache", action="store_true", help="bypass the answer cache")
    ask.add_argument("--quiet", action="store_true", help="no node-by-node progress")
    ask.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    _common(ask)
    _policy_flags(ask)
    ask.set_defaults(func=cmd_ask)

    ingest = sub.add_parser("ingest", help="add files, folders or web pages to the knowledge base")
    ingest.add_argument("paths", nargs="+", help="files, folders or http(s) URLs")
    ingest.add_argument("--depth", type=at_least(0), default=0, help="crawl depth for URLs")
    ingest.add_argument("--same-host", action="store_true", help="only follow links on the start host")
    ingest.add_argument("--max-pages", type=at_least(1), default=50)
    ingest.add_argument("--allow", action="append", help="host or CIDR exempt from the private-address refusal")
    ingest.add_argument("--json", action="store_true")
    _common(ingest)
    ingest.set_defaults(func=cmd_ingest)

    serve = sub.add_parser("serve", help="run the HTTP endpoint (LangServe under /agent)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=at_least(1), default=8000)
    _common(serve)
    serve.set_defaults(func=cmd_serve)

    cache = sub.add_parser("cache", help="cache statistics or clearing")
    cache.add_argument("action", choices=["stats", "clear"])
    _common(cache)
    cache.set_defaults(func=cmd_cache)

    trace = sub.add_parser("trace", help="show a stored decision trace (no RUN_ID: recent runs)")
    trace.add_argument("run_id", nargs="?")
    trace.add_argument("--json", action="store_true")
    _common(trace)
    trace.set_defaults(func=cmd_trace)

    evaluate = sub.add_parser("eval", help="measure the graded loop against plain RAG on real data")
    evaluate.add_argument("--dataset", default="halueval",
                          help="'halueval', 'sample' (the shipped docs) or a JSONL file of your own "
                               "(question, answer, optional context; see the README)")
    evaluate.add_argument("--n", type=at_least(1), help="answerable questions sampled (HaluEval default 30; "
                          "own dataset: all rows unless given)")
    evaluate.add_argument("--unanswerable", type=at_least(0), help="sampled questions whose context is withheld "
                          "(HaluEval default 10)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--systems", default="graded,baseline")
    evaluate.add_argument("--graders", type=at_least(0), default=0, help="benchmark the checks on N labelled rows instead")
    evaluate.add_argument("--llm-grader", action="store_true",
                          help="with --graders: also measure the LLM grader (default: only if grading uses it)")
    evaluate.add_argument("--json", help="write the full report here")
    evaluate.add_argument("--html", help="write an HTML comparison here")
    evaluate.add_argument("--compare", help="baseline report JSON: exit 7 on a regression")
    evaluate.add_argument("--tolerance", type=float, default=0.02)
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(evaluate)
    evaluate.set_defaults(func=cmd_eval)

    keys = sub.add_parser("keys", help="create, revoke or list API keys")
    keys.add_argument("action", choices=["create", "revoke", "list"])
    keys.add_argument("name", nargs="?", default="", help="key name (create) or key id (revoke)")
    keys.add_argument("--role", choices=["reader", "editor", "admin"], default="reader")
    keys.add_argument("--key-tenant", default="public", help="tenant whose knowledge base and cache the key reaches")
    keys.add_argument("--rpm", type=at_least(1), default=60, help="requests per minute")
    keys.add_argument("--tpm", type=at_least(1), default=200_000, help="tokens per minute")
    _common(keys)
    keys.set_defaults(func=cmd_keys)

    audit = sub.add_parser("audit", help="verify the audit log's hash chain")
    audit.add_argument("action", choices=["verify"])
    _common(audit)
    audit.set_defaults(func=cmd_audit)

    model_server = sub.add_parser("model-server", help="serve the embedded model (or --gguf) over llama.cpp's "
                                  "OpenAI-compatible HTTP API on 127.0.0.1")
    model_server.add_argument("--port", type=at_least(1), default=8081)
    model_server.add_argument("--gguf", help="GGUF file (default: the packaged Qwen2.5-Coder-1.5B-Instruct)")
    model_server.add_argument("--threads", type=at_least(1), help="llama.cpp threads (default: idle cores)")
    model_server.add_argument("--parallel", type=at_least(1), default=1, help="concurrent sequences (slots)")
    model_server.set_defaults(func=cmd_model_server, debug=False)

    graph = sub.add_parser("graph", help="print the graph as a Mermaid diagram")
    graph.set_defaults(func=cmd_graph, debug=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    from vetted_rag.observability import configure_logging

    args = build_parser().parse_args(argv)
    # Servers log JSON lines for collectors; interactive commands log readable warnings only.
    server = args.command == "serve"
    configure_logging(os.environ.get("VETTED_RAG_LOG_FORMAT", "json" if server else "text"),
                      os.environ.get("VETTED_RAG_LOG_LEVEL", "INFO" if server else "WARNING"))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except (ValueError, OSError) as exc:
        if args.debug:
            raise
        print(f"vetted-rag: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback
        if args.debug:
            raise
        print(f"vetted-rag: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
