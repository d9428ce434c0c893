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
CELL_TIMEOUT ?= 1800

.PHONY: run test test-full lab data lint unit notebooks grade committed student bench clean

# The steps themselves are spelled once, in labkit/course/commands.py (`python -m labkit run|test`, the same
# on a machine without make); each target here calls them.
run: $(STAMP)
	$(PYTHON) -m labkit run --timeout $(CELL_TIMEOUT)

test: $(STAMP)
	$(PYTHON) -m labkit test

test-full: $(STAMP)
	$(PYTHON) -m labkit test --full

lint unit notebooks grade committed: $(STAMP)
	$(PYTHON) -m labkit test --only $@

unit notebooks grade: data

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
