"""Benchmarks of labkit against the conventional way, run by `make bench` (`python -m bench`).

What a user of the lab book cares about, measured through labkit's public API only: throughput against the
conventional training loop (throughput), time to 99% test accuracy (time_to_accuracy), fit's step in fp32 and
bf16 and what the automatic precision picks (precision), and the notebook suite per profile and precision
(notebooks). Each script has `run(quick) -> DataFrame`, `reading(table) -> str` and `main()`.

The rule: no machine timing is written into labkit's docstrings, nor into these; every measured number lives in
bench/results.md (this CPU as it is, and simulated AVX2) and bench/results-gpu.md, each with its machine and
date. The design studies are in studies/ (`python -m studies`).
"""
