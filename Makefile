# Every target works on a fresh clone: the virtual environment is made on first use.
PYTHON   := .venv/bin/python
STAMP    := .venv/.installed
EXAMPLES := sine imdb reuters numpy_rnn char_lm word_lm tagging seq2seq engines spoken_digits weather stocks
# Offline copies of the data sets (see data/README.md); linked into data/ when present.
SHARED_DATA ?= ../shared/data

.PHONY: setup setup-jax setup-torch setup-backends test-backends data test lint format smoke bench compare results clean help example-imdb-pretrained example-reuters-pretrained $(addprefix example-,$(EXAMPLES)) $(addprefix smoke-,$(EXAMPLES))

help:
	@echo "make setup            create .venv and install requirements.txt"
	@echo "make example-NAME     full run of one example ($(EXAMPLES)); ARGS='...' adds options"
	@echo "make example-imdb-pretrained  IMDB fine-tuned from the word language model (trains it first if missing)"
	@echo "make example-reuters-pretrained  Reuters fine-tuned from a word language model of the Reuters stories (likewise)"
	@echo "make smoke-NAME       quick run of one example; make smoke runs them all"
	@echo "make test             the test suite (what CI runs), a test file per core; TEST_WORKERS=0: one process"
	@echo "make setup-backends   install JAX and PyTorch beside TensorFlow (setup-jax, setup-torch: one each)"
	@echo "make test-backends    every example's quick run, reload and prediction on each installed backend"
	@echo "make lint             ruff check and format check"
	@echo "make bench            full runs of every example, benchmarks, then the README results table"
	@echo "make compare          SimpleRNN vs LSTM vs GRU on four tasks (about 45 min; table in README.md)"
	@echo "make clean            remove outputs/ and caches (keeps .venv and data/)"

# The project itself is installed too (editable): `import common` then works from any folder.
$(STAMP): requirements.txt pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install --upgrade pip
	.venv/bin/pip install -r requirements.txt
	.venv/bin/pip install --no-deps -e .
	touch $@

setup: $(STAMP)

# Keras 3's other backends, beside TensorFlow (which stays: tf.data feeds them all); KERAS_BACKEND picks one.
.venv/.jax-installed: requirements-jax.txt $(STAMP)
	.venv/bin/pip install -r requirements-jax.txt
	touch $@

.venv/.torch-installed: requirements-torch.txt $(STAMP)
	.venv/bin/pip install -r requirements-torch.txt
	touch $@

setup-jax: .venv/.jax-installed
setup-torch: .venv/.torch-installed
setup-backends: setup-jax setup-torch

# Link the offline copies from $(SHARED_DATA) into data/ (no-op where absent or already there).
data:
	@if [ -d "$(SHARED_DATA)" ]; then \
	  for f in "$(SHARED_DATA)"/*; do \
	    name=$$(basename "$$f"); [ "$$name" = README.md ] && continue; \
	    [ -e "data/$$name" ] || ln -s "$$(cd "$$(dirname "$$f")" && pwd)/$$name" "data/$$name"; \
	  done; \
	fi

# Static pattern rules: make never applies a plain pattern rule to a .PHONY target (it would do nothing).
$(addprefix example-,$(EXAMPLES)): example-%: setup data
	$(PYTHON) examples/$*/train.py $(ARGS)

# The classifiers that start from a word language model of their own text: the language model is trained only
# when its saved encoder is missing (a second run reuses it; a mismatched one is refused by train.py).
WORD_LM_DIR := outputs/word_lm
example-imdb-pretrained: setup data
	@[ -e $(WORD_LM_DIR)/encoder.keras ] || $(PYTHON) examples/word_lm/train.py
	$(PYTHON) examples/imdb/train.py --pretrained $(WORD_LM_DIR) $(ARGS)

REUTERS_LM_DIR := outputs/word_lm-reuters
example-reuters-pretrained: setup data
	@[ -e $(REUTERS_LM_DIR)/encoder.keras ] || $(PYTHON) examples/word_lm/train.py --corpus reuters
	$(PYTHON) examples/reuters/train.py --pretrained $(REUTERS_LM_DIR) $(ARGS)

$(addprefix smoke-,$(EXAMPLES)): smoke-%: setup data
	$(PYTHON) examples/$*/train.py --quick $(ARGS)

# Runs every quick example, then reports all failures (not only the first).
smoke: setup data
	@failed=""; for name in $(EXAMPLES); do \
	  $(PYTHON) examples/$$name/train.py --quick || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "smoke runs failed:$$failed"; exit 1; fi; echo "all smoke runs passed"

# Test files run side by side, one per core (a worker takes a whole file, so a file's trained fixtures are made
# once): most tests keep one core busy, not two. TEST_WORKERS=0 runs them one after another in one process.
# A worker's TensorFlow takes GPU memory as it needs it instead of all of it, which would starve the others.
TEST_WORKERS ?= auto
# JAX is installed for the data-parallel test (two processes training as one, tests/test_backends.py).
test: setup setup-jax
	TF_FORCE_GPU_ALLOW_GROWTH=true $(PYTHON) -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile

# Each example trained (--quick), reloaded and used in new processes on every installed backend; a backend
# that is not installed is skipped, and said so. BACKENDS='jax' limits it.
BACKENDS ?= tensorflow jax torch
test-backends: setup data
	RNN_EXAMPLES_BACKENDS="$(BACKENDS)" $(PYTHON) -m pytest -m backends tests/test_backends.py

lint: setup
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format: setup
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# Full default runs (the README's numbers; imdb twice, from scratch and from the word language model (word_lm,
# which runs before it); tagging four times, one run per task and NER language; seq2seq twice, with and
# without attention; spoken_digits on the official split, then leaving out each speaker), the benchmarks
# (e.g. char_lm generation speed, which uses the trained model), then the results table.
bench: setup data
	@for name in $(EXAMPLES); do $(PYTHON) examples/$$name/train.py || exit 1; done
	$(PYTHON) examples/tagging/train.py --task chunk
	$(PYTHON) examples/tagging/train.py --task ner --language es
	$(PYTHON) examples/tagging/train.py --task ner --language nl
	$(PYTHON) examples/seq2seq/train.py --attention none
	$(PYTHON) examples/spoken_digits/train.py --test-speaker all
	$(PYTHON) examples/imdb/train.py --pretrained $(WORD_LM_DIR)
	@for script in benchmarks/*.py; do [ "$$script" = benchmarks/tables.py ] && continue; $(PYTHON) "$$script" || exit 1; done
	$(PYTHON) benchmarks/tables.py

# Which cell? The same examples trained with each cell; rewrites the README's cells table.
compare: setup data
	$(PYTHON) benchmarks/cells.py

results: setup
	$(PYTHON) benchmarks/tables.py

clean:
	rm -rf outputs .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
