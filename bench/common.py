"""What every benchmark shares: repeated timing (warm-up, median, min-max), data, devices, a markdown table.

Absolute times on a shared machine are noise; ratios measured in the same process, with the
two sides interleaved run by run, hold. So every benchmark times both sides here, back to back.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import torch

from labkit import load_mnist, pick_device

ROOT = Path(__file__).resolve().parent.parent  # the repository: notebooks/, figures/
FIGURES = ROOT / "figures"  # the committed reference runs, one folder per notebook
RESULTS = ROOT / "bench" / "results.md"  # the report every benchmark writes its section into
SEED = 0
REPEATS = 3  # median of 3 after a warm-up; --quick uses 2
QUICK_REPEATS = 2


@dataclass(frozen=True)
class Timing:
    """Seconds of several runs of one thing."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def low(self) -> float:
        return min(self.runs)

    @property
    def high(self) -> float:
        return max(self.runs)

    def spread(self, scale: float = 1.0, rate: bool = False) -> str:
        """'min–max' of seconds times `scale`; with `rate`, of `scale` / seconds (so min and max swap)."""
        low, high = (scale / self.high, scale / self.low) if rate else (scale * self.low, scale * self.high)
        return f"{number(low)}–{number(high)}"


def interleaved(candidates: dict[str, Callable[[], float]], repeats: int,
                warmups: dict[str, Callable[[], object]] | None = None) -> dict[str, Timing]:
    """Run every warm-up once, then each candidate `repeats` times, round-robin; each call returns its seconds.

    Round-robin rather than one side after the other, so a burst of load from someone else on
    the machine lands on both sides instead of skewing the ratio.
    """
    for warmup in (warmups or {}).values():
        warmup()
    runs: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, candidate in candidates.items():
            runs[name].append(float(candidate()))
    return {name: Timing(tuple(seconds)) for name, seconds in runs.items()}


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a stopwatch read after it is honest (CPU work is already done)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- data and devices


@functools.lru_cache(maxsize=4)
def mnist(train: bool, device: str = "cpu"):
    """Verified full MNIST (60,000 or 10,000 images) on `device`; read once per process."""
    return load_mnist(train=train, device=torch.device(device))


def run_metrics(notebook: str, figures: Path = FIGURES) -> dict:
    """The metrics.json a run of `notebook` wrote under `figures` (by default: the committed reference run)."""
    return json.loads((figures / notebook / "metrics.json").read_text())


def conventional_mnist(train: bool):
    """torchvision's MNIST with `ToTensor` + `Normalize` per item: the pipeline most course code starts from."""
    from torchvision import datasets, transforms

    from labkit.data import MEAN, STD, data_root

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    return datasets.MNIST(data_root(), train=train, transform=transform, download=False)


def devices() -> list[torch.device]:
    """The CPU (the goals are stated for a 2-core CPU), plus the accelerator when there is one.

    LABKIT_DEVICE=cpu keeps a GPU machine to the CPU measurements; LABKIT_BENCH_DEVICES=cuda keeps it to the
    GPU rows (a comma-separated list of device types).
    """
    chosen = pick_device()
    found = [torch.device("cpu")] + ([chosen] if chosen.type != "cpu" else [])
    wanted = os.environ.get("LABKIT_BENCH_DEVICES")
    if not wanted:
        return found
    types = [name.strip() for name in wanted.split(",") if name.strip()]
    kept = [device for device in found if device.type in types]
    if not kept:
        raise SystemExit(f"LABKIT_BENCH_DEVICES={wanted!r} names no device of this machine; it has "
                         f"{', '.join(device.type for device in found)}")
    return kept


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the numbers were measured on; results.md opens with it."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    accelerator = pick_device()
    info = {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": f"{usable} usable of {os.cpu_count()}; torch uses {torch.get_num_threads()} threads",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device_label(accelerator),
    }
    if hasattr(os, "getloadavg"):  # the machine may be shared: say how busy it was
        info["load average (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


# ---------------------------------------------------------------- tables


def number(value) -> str:
    """A readable number: thousands separators for big ones, four significant digits for small ones."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub markdown table of `table` (pandas' to_markdown would need the extra `tabulate` package)."""
    header = [str(c) for c in table.columns]
    numeric = [pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
               for c in table.columns]
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---:" if right else "---" for right in numeric) + " |"]
    for row in table.itertuples(index=False):
        cells = [number(v.item() if hasattr(v, "item") else v) for v in row]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def cli(run: Callable[[bool], pd.DataFrame], reading: Callable[[pd.DataFrame], str], doc: str) -> None:
    """The `main()` of every benchmark script: parse --quick, run, print one table and the goal reading."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, measures nothing")
    args = parser.parse_args()
    table = run(args.quick)
    print(markdown_table(table))
    print(reading(table))


def append_section(results, title: str, script: str, description: str, body: str) -> None:
    """Append `## title` (the script's name and one-line description, then `body`) to a results file, written
    whole to a temporary file and then renamed."""
    from labkit.records import write_atomically

    text = results.read_text() if results.is_file() else ""
    section = f"\n## {title}\n\n`{script}`: {description}\n\n{body.rstrip()}\n"
    write_atomically(results, lambda tmp: tmp.write_text(text.rstrip("\n") + "\n" + section))
