# Two commands for a fresh machine: `make run` (execute every notebook) and `make test`.
# Each sets up what it needs: the virtual environment, labkit, and verified MNIST.

VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

.PHONY: run test lab data lint unit notebooks bench clean

run: $(STAMP) data
	@for nb in $(NOTEBOOKS); do \
		echo "== executing $$nb"; start=$$(date +%s); \
		$(PYTHON) -m jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
		echo "== $$nb: $$(( $$(date +%s) - start )) s"; \
	done
	$(PYTHON) -m labkit results --readme README.md

test: lint unit notebooks

lint: $(STAMP)
	$(PYTHON) -m ruff check labkit tests bench notebooks

unit: $(STAMP) data
	$(PYTHON) -m pytest -q tests

notebooks: $(STAMP) data
	$(PYTHON) -m pytest -q --nbval-lax --nbval-cell-timeout=1800 -p no:cacheprovider $(NOTEBOOKS)

lab: $(STAMP) data
	$(VENV)/bin/jupyter lab notebooks/

data: $(STAMP)
	$(PYTHON) -m labkit data

bench: $(STAMP) data
	$(PYTHON) -m bench

$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -e ".[dev]"
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
