"""What every benchmark shares: repeated timing (warm-up, median, min-max), data, devices, the simulated CPU,
a markdown table, and the results file's blocks.

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

from labkit import ImageSet, load_mnist, pick_device
from labkit.env import auto_precision, cpu_capability, cpu_flags, cpu_has_native_bf16, cpu_model, onednn_bf16

ROOT = Path(__file__).resolve().parent.parent  # the repository: notebooks/, figures/
FIGURES = ROOT / "figures"  # the committed reference runs, one folder per notebook
RESULTS = ROOT / "bench" / "results.md"  # the report: one block per machine (native, simulated AVX2)
SEED = 0
REPEATS = 3  # median of 3 after a warm-up; --quick uses 2
QUICK_REPEATS = 2

# ---------------------------------------------------------------- a CPU simulated by lowering torch's and oneDNN's ISA

SIMULATED = "LABKIT_BENCH_SIMULATED"  # set by `python -m bench --simulate NAME` in the process it re-executes
SIMULATIONS = {  # name: (the environment that lowers the ISA, the capability torch must then report, the label)
    "avx2": ({"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}, "AVX2", "simulated AVX2"),
}


def simulation() -> str | None:
    """The simulation this process runs under ("avx2"), or None on the machine as it is."""
    name = os.environ.get(SIMULATED)
    if name and name not in SIMULATIONS:
        raise SystemExit(f"{SIMULATED}={name!r} names no simulation; known: {', '.join(SIMULATIONS)}")
    return name or None


def simulation_label() -> str | None:
    name = simulation()
    return SIMULATIONS[name][2] if name else None


def check_simulation() -> None:
    """Under a simulation, torch must report the lowered capability; else the rows would be the native ones."""
    name = simulation()
    if name is None:
        return
    environment, expected, label = SIMULATIONS[name]
    reported = cpu_capability()
    if reported.upper() != expected:
        settings = " ".join(f"{key}={os.environ.get(key)}" for key in environment)
        raise SystemExit(f"--simulate {name}: torch reports CPU capability {reported!r} under {settings}, not "
                         f"{expected!r}, so the rows would not be {label}. This torch build or this CPU cannot run "
                         f"{expected} kernels (a CPU without {expected} cannot simulate it).")


# ---------------------------------------------------------------- timing


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


def sample(images: ImageSet, count: int) -> ImageSet:
    """`count` seeded random images of `images`: one epoch of them at batch b is exactly count / b steps."""
    if count > len(images):
        raise ValueError(f"{count} images asked for, the set has {len(images)}; use fewer steps")
    index = torch.randperm(len(images), generator=torch.Generator().manual_seed(SEED))[:count].to(images.device)
    return ImageSet(images.images[index], images.labels[index], f"{images.name}[{count}]")


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
    GPU rows (a comma-separated list of device types). A simulated CPU measures the CPU only.
    """
    if simulation():
        return [torch.device("cpu")]
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
    label = simulation_label()
    return f"cpu ({torch.get_num_threads()} threads{', ' + label if label else ''})"


def other_precision(precision: str) -> str:
    return "fp32" if precision == "bf16" else "bf16"


def cpu_line() -> str:
    """The CPU and what decides labkit's automatic precision on it: its bf16 flags, torch's capability, oneDNN."""
    flags = [flag for flag in ("avx512_bf16", "amx_bf16") if flag in cpu_flags()]
    label = simulation_label()
    return (f"CPU {cpu_model()}{' (' + label + ')' if label else ''}: bf16 flags {', '.join(flags) or 'none'}, "
            f"torch capability {cpu_capability()}, oneDNN bf16 {'yes' if onednn_bf16() else 'no'}; native bf16 "
            f"{'yes' if cpu_has_native_bf16() else 'no'}, so precision \"auto\" picks {auto_precision('cpu')} "
            f"(labkit.env.auto_precision).")


def machine() -> dict:
    """What the numbers were measured on; each block of results.md opens with it."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    accelerator = pick_device()
    info = {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cpu capability": cpu_capability(),
        "precision auto picks on the cpu": auto_precision("cpu"),
        "cores": f"{usable} usable of {os.cpu_count()}; torch uses {torch.get_num_threads()} threads",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device_label(accelerator if not simulation() else torch.device("cpu")),
    }
    name = simulation()
    if name:
        info["simulated"] = " ".join(f"{key}={value}" for key, value in SIMULATIONS[name][0].items())
    if hasattr(os, "getloadavg"):  # the machine may be shared: say how busy it was
        info["load average (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


# ---------------------------------------------------------------- tables and the results file


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


def write_block(path: Path, key: str, text: str, header: str) -> None:
    """Put `text` in `path` between the markers of block `key`, replacing that block and leaving the others (a
    native run never overwrites the simulated rows, nor the reverse); a new file starts with `header`. Written
    whole to a temporary file, then renamed."""
    from labkit.files import write_atomically

    begin, end = f"<!-- block {key}: begin -->", f"<!-- block {key}: end -->"
    block = f"{begin}\n\n{text.strip()}\n\n{end}"
    old = path.read_text() if path.is_file() else header.rstrip("\n") + "\n"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: tmp.write_text(new))


def cli(run: Callable[[bool], pd.DataFrame], reading: Callable[[pd.DataFrame], str], doc: str, argv=None) -> None:
    """The `main()` of every benchmark script (and of the studies built the same way): parse --quick, run, print
    one table and the goal reading."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, measures nothing")
    args = parser.parse_args(argv)
    check_simulation()
    table = run(args.quick)
    print(markdown_table(table))
    print(reading(table))
