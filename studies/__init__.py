"""Design studies of the lab book: each file asks one question of labkit's design or of a notebook's recipe, and
opens with that question, the result as it was measured (with its machine and date) and how it was measured.

    python -m studies                  the studies and their questions
    python -m studies NAME [ARGS]      run one (most take minutes to hours; none is part of `make bench`)

The tables as measured are in studies/results.md; studies whose answer is recorded and which could only run again
by rebuilding labkit's internals are retired: their question and answer are in studies/README.md. The rule of
bench/ holds here too: no machine timing in labkit's docstrings; a study's recorded result names its machine and
date, and the full tables live in studies/results.md.
"""
