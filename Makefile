# Two commands for a fresh machine: `make run` (execute every notebook) and `make test`.
# Each sets up what it needs: the virtual environment, labkit, and verified MNIST.
#
#   make test       lint, unit tests, every notebook under nbval in the smoke profile (strict requirements),
#                   the grader on the notebooks (smoke), and the committed results (passing and fresh)
#   make test-full  every notebook under nbval in the full profile, strict requirements (long)
#   make run        the full reference run: executes the notebooks in place, refreshes figures/ and README
#
# Notebook copies and their figures go to a fresh temporary folder: the repository's figures/ are never touched.

VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
CELL_TIMEOUT ?= 1800
SMOKE_TIMEOUT ?= 300

.PHONY: run test test-full lab data lint unit notebooks notebooks-full grade committed student bench clean

run: $(STAMP) data
	@for nb in $(NOTEBOOKS); do \
		echo "== executing $$nb"; start=$$(date +%s); \
		env -u LABKIT_STRICT $(PYTHON) -m jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=$(CELL_TIMEOUT) --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
		echo "== $$nb: $$(( $$(date +%s) - start )) s"; \
	done
	$(PYTHON) -m labkit results --readme README.md

test: $(STAMP)
	@total=$$(date +%s); for part in lint unit notebooks grade committed; do \
		start=$$(date +%s); $(MAKE) --no-print-directory $$part || exit 1; \
		echo "== make $$part: $$(( $$(date +%s) - start )) s"; \
	done; echo "== make test: $$(( $$(date +%s) - total )) s"

test-full: $(STAMP) data
	@$(MAKE) --no-print-directory nbval PROFILE=full NBVAL_TIMEOUT=$(CELL_TIMEOUT)

lint: $(STAMP)
	$(PYTHON) -m ruff check labkit tests bench studies notebooks

unit: $(STAMP) data
	$(PYTHON) -m pytest -q --durations=12 tests --deselect tests/test_committed_results.py::test_committed_results_pass_and_are_fresh

notebooks: $(STAMP) data
	@$(MAKE) --no-print-directory nbval PROFILE=smoke NBVAL_TIMEOUT=$(SMOKE_TIMEOUT)

# One profile under nbval: papermill writes parameterised copies to a temporary folder, the notebooks'
# figures go there too, and LABKIT_STRICT=1 makes a failed requirement fail its last cell.
nbval:
	@test -n "$(NOTEBOOKS)" || { echo "error: no notebooks/[0-9]*.ipynb found" >&2; exit 1; }
	@build=$$(mktemp -d "$${TMPDIR:-/tmp}/labkit-$(PROFILE).XXXXXX"); trap 'rm -rf "$$build"' EXIT; \
	$(PYTHON) -m labkit profile $(PROFILE) $(NOTEBOOKS) --out "$$build/notebooks" >/dev/null && \
	cd "$$build/notebooks" && LABKIT_STRICT=1 LABKIT_FIGURES="$$build/figures" \
		$(abspath $(PYTHON)) -m pytest -q --nbval-lax --nbval-cell-timeout=$(NBVAL_TIMEOUT) -p no:cacheprovider \
		--rootdir "$$build/notebooks" *.ipynb

grade: $(STAMP) data
	@build=$$(mktemp -d "$${TMPDIR:-/tmp}/labkit-grade.XXXXXX"); trap 'rm -rf "$$build"' EXIT; \
	$(PYTHON) -m labkit grade $(NOTEBOOKS) --execute --profile smoke --timeout $(SMOKE_TIMEOUT) \
		--out "$$build/grades.csv"; status=$$?; cat "$$build/grades.csv" 2>/dev/null; exit $$status

committed: $(STAMP)
	$(PYTHON) -m pytest -q tests/test_committed_results.py

# The student edition (solutions stripped, outputs cleared) for a course to hand out: build/student/.
STUDENT_DIR ?= build/student
student: $(STAMP)
	$(PYTHON) -m labkit student $(STUDENT_DIR) $(if $(FORCE),--force)

lab: $(STAMP) data
	$(VENV)/bin/jupyter lab notebooks/

data: $(STAMP)
	$(PYTHON) -m labkit data

bench: $(STAMP) data
	$(PYTHON) -m bench $(BENCH_ARGS)

$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -e ".[dev]"
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
