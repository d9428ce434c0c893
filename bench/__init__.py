"""Benchmarks of labkit against the conventional way, run by `make bench` (`python -m bench`).

One script per question, each with `run(quick) -> DataFrame`, `reading(table) -> str` and `main()`:
throughput, time_to_accuracy, pairs_build, eval_overhead, notebooks. Results: bench/results.md.
"""
