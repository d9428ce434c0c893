"""Each lab notebook's requirements: what is measured, the threshold, the rubric points, and the kind.

    outcomes = check_requirements("01_cnn", Facts.load("figures/01_cnn"), profile="full")
    outcome_table(outcomes)         # id, requirement, kind, result (PASS/FAIL/n/a/not done), points, detail

Thresholds live here, not in the notebooks, so a grader re-evaluates them from the recorded facts alone.
Kind "structure" is enforced in every profile (it holds at any size); "accuracy" (targets and comparisons
that need a full-size run) only in the full profile, n/a in quick and smoke. A requirement whose facts were
never recorded is "not done". A notebook that records claims (labkit.course.claims) is also judged on
"claims_hold": no claim of its analysis is contradicted by its run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pandas as pd

from ..checks import Check, at_least, holds, losses_every_batch, set_composition
from ..prose import percent
from . import claims
from .facts import Facts, NotRecorded

KINDS = ("structure", "accuracy")
PROFILES = ("full", "quick", "smoke")
MARGIN = 0.0005  # a reference run clears its accuracy target by this much (0.05 points: 5 test images in 10,000)


class NotApplicable(LookupError):
    """A requirement that has nothing to judge in this run (e.g. no claims recorded): graded "n/a"."""


@dataclass(frozen=True)
class Requirement:
    id: str
    text: str
    measures: str  # what is measured, in words a student can act on
    kind: str  # "structure" or "accuracy"
    points: float
    check: Callable[[Facts], Check]
    threshold: float | None = None
    run: str | None = None  # the run whose test accuracy an accuracy requirement measures
    spread: SeedSpread | None = None  # an accuracy target's seed spread, which bounds it

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"requirement {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.points >= 0:
            raise ValueError(f"requirement {self.id!r}: points must be a number >= 0, got {self.points!r}")


@dataclass(frozen=True)
class Outcome:
    id: str
    requirement: str
    kind: str
    status: str  # PASS, FAIL, n/a, not done
    points: float  # the most this requirement earns
    earned: float
    detail: str = ""

    @property
    def passed(self) -> bool | None:
        """True for PASS, False for FAIL and not done, None for n/a."""
        return None if self.status == "n/a" else self.status == "PASS"

    def record(self) -> dict:
        """One entry of metrics.json's "checks"."""
        return {**asdict(self), "passed": self.passed}


# ---------------------------------------------------------------- measurements


def _accuracy(facts: Facts, run: str) -> float:
    return float(facts.run(run)["test_accuracy"])


@dataclass(frozen=True)
class SeedSpread:
    """How a graded run's test accuracy moves with the seed alone: `seeds` runs of the notebook's own recipe on one
    machine kind (`python -m studies seed_spread`, its rows in studies/seed_spread.json, which a unit test compares
    with these), their mean, sample standard deviation and range, and the course report's own accuracy on the task.
    A target is at most the mean less two standard deviations (about 19 in 20 correct runs clear it), which
    `accuracy_at_least` enforces, and never below the report's number (tests/test_requirements.py)."""

    seeds: int
    mean: float
    sd: float
    low: float
    high: float
    report: float | None = None  # the course report's accuracy on this task (../shared/SEEDS.md), if it has one

    def __post_init__(self):
        if not (isinstance(self.seeds, int) and self.seeds >= 5):
            raise ValueError(f"a seed spread needs at least 5 seeds, got {self.seeds!r}")
        if not (0 <= self.low <= self.mean <= self.high <= 1 and self.sd >= 0):
            raise ValueError(f"a seed spread needs 0 <= low <= mean <= high <= 1 and sd >= 0, got {self}")

    @property
    def floor(self) -> float:
        """The mean less two standard deviations: the highest fair target."""
        return self.mean - 2 * self.sd

    def describe(self) -> str:
        """For the requirements table, beside a run's result."""
        return f"correct runs land between {self.low:.4f} and {self.high:.4f} ({self.seeds} seeds)"

    def summary(self) -> str:
        """For a sentence: '99.31% on average (99.21% to 99.35%)'."""
        return f"{percent(self.mean)} on average ({percent(self.low)} to {percent(self.high)})"


def accuracy_at_least(id: str, run: str, threshold: float, text: str, spread: SeedSpread,
                      points: float = 2) -> Requirement:
    """The run's test accuracy reaches `threshold`, a target fair to every correct solution: at most the seed
    spread's mean less two standard deviations."""
    if threshold > round(spread.floor, 4) + 1e-9:
        raise ValueError(f"requirement {id!r}: target {threshold} is above the seed spread's mean - 2 sd "
                         f"{spread.floor:.4f}; a correct run with another seed would miss it")

    def check(facts: Facts) -> Check:
        result = at_least(id, _accuracy(facts, run), threshold)
        return Check(id, result.passed, f"{result.detail}; {spread.describe()}")

    return Requirement(id, f"{text}: test accuracy >= {threshold}", f"test_accuracy of run {run!r}", "accuracy",
                       points, check, threshold, run, spread)


def losses_recorded(id: str, runs: tuple[str, ...], points: float = 2) -> Requirement:
    """Every named run, and every other run the notebook recorded, has both losses after every mini-batch."""

    def check(facts: Facts) -> Check:
        names = list(dict.fromkeys([*runs, *facts.runs]))
        results = {name: losses_every_batch(facts.history(name)) for name in names}
        failed = [f"{name}: {c.detail}" for name, c in results.items() if not c.passed]
        if failed:
            return Check(id, False, "; ".join(failed))
        steps = sum(len(facts.history(name)) for name in names)
        return Check(id, True, f"{len(names)} runs, {steps:,} mini-batches, both losses after every one")

    return Requirement(id, "train and test loss recorded after every mini-batch",
                       f"history files of runs {', '.join(runs)} (and any other run)", "structure", points, check)


def pool_composition(id: str, name: str, per_class: int, points: float = 1) -> Requirement:
    def check(facts: Facts) -> Check:
        return set_composition(facts.image_set(name)["class_counts"], [per_class] * 10, id)

    return Requirement(id, f"{name.replace('_', ' ')}: {per_class} images per digit",
                       f"class counts of set {name!r}", "structure", points, check, per_class)


def _pair_property(id: str, names: tuple[str, ...], text: str, key: str, good: Callable, points: float) -> Requirement:
    def check(facts: Facts) -> Check:
        values = {name: facts.pair_set(name)[key] for name in names}
        bad = [name for name, value in values.items() if not good(value)]
        detail = ", ".join(f"{name}: {_show(value)}" for name, value in values.items())
        return Check(id, not bad, detail + (f"; wrong in {', '.join(bad)}" if bad else ""))

    return Requirement(id, f"{text} ({', '.join(names)})", f"{key} of pair sets {', '.join(names)}", "structure",
                       points, check)


def _show(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def pairs_balanced(id: str, names: tuple[str, ...], points: float = 1) -> Requirement:
    return _pair_property(id, names, "pairs balanced: half same, half different", "fraction_same",
                          lambda f: f == 0.5, points)


def no_self_pairs(id: str, names: tuple[str, ...], points: float = 1) -> Requirement:
    return _pair_property(id, names, "no pair holds one image twice", "self_pairs", lambda n: n == 0, points)


def targets_match_digits(id: str, names: tuple[str, ...], points: float = 1) -> Requirement:
    return _pair_property(id, names, "target 1 exactly where both images show one digit", "targets_match_labels",
                          lambda ok: ok is True, points)


def no_duplicate_pairs(id: str, names: tuple[str, ...], points: float = 1) -> Requirement:
    return _pair_property(id, names, "no pair appears twice", "duplicates", lambda n: n == 0, points)


def pairs_sorted(id: str, name: str, points: float = 1) -> Requirement:
    return _pair_property(id, (name,), "sorted: every 'different' pair before every 'same' pair", "sorted",
                          lambda ok: ok is True, points)


def fraction_same(id: str, name: str, fraction: float, points: float = 1) -> Requirement:
    def check(facts: Facts) -> Check:
        pairs = facts.pair_set(name)
        exact = abs(pairs["fraction_same"] - fraction) * pairs["size"] <= 0.5  # within one pair of the target
        return Check(id, exact, f"{pairs['different']:,} different / {pairs['same']:,} same "
                                f"(fraction same {pairs['fraction_same']:.4f}, expected {fraction})")

    return Requirement(id, f"{name}: {1 - fraction:.0%} different, {fraction:.0%} same",
                       f"fraction_same of pair set {name!r}", "structure", points, check, fraction)


def same_size(id: str, names: tuple[str, ...], points: float = 1) -> Requirement:
    def check(facts: Facts) -> Check:
        sizes = {name: facts.pair_set(name)["size"] for name in names}
        return Check(id, len(set(sizes.values())) == 1, ", ".join(f"{n}: {s:,}" for n, s in sizes.items()))

    return Requirement(id, f"every training set has the same size ({', '.join(names)})",
                       f"size of pair sets {', '.join(names)}", "structure", points, check)


def normalisation_statistics(id: str, mean: float, std: float, points: float = 1) -> Requirement:
    def check(facts: Facts) -> Check:
        measured = float(facts.value("pixel_mean")), float(facts.value("pixel_std"))
        ok = round(measured[0], 4) == mean and round(measured[1], 4) == std
        return Check(id, ok, f"{measured[0]:.4f} / {measured[1]:.4f} (expected {mean} / {std})")

    return Requirement(id, f"computed mean and std match {mean} / {std} to 4 decimals",
                       "values pixel_mean and pixel_std, computed from the training images", "structure", points,
                       check)


def projection_shortcuts(id: str, model: str, points: float = 1) -> Requirement:
    def check(facts: Facts) -> Check:
        names = [n for n in facts.model(model)["parameter_names"] if "downsample" in n.split(".")]
        return holds(id, names, f"{len(names)} downsample parameters, e.g. {names[0]}" if names
                     else "no parameter under a 'downsample' module")

    return Requirement(id, "projection shortcuts (downsample) are registered module parameters",
                       f"parameter names of model {model!r}", "structure", points, check)


def design_variations(id: str, baseline: str, prefix: str, at_least_count: int = 3, points: float = 2) -> Requirement:
    def check(facts: Facts) -> Check:
        facts.run(baseline)
        variations = [n for n in facts.runs if n.startswith(prefix) and n != baseline]
        detail = f"{len(variations)} variations against {baseline}: {', '.join(variations) or 'none'}"
        return holds(id, len(variations) >= at_least_count, detail)

    return Requirement(id, f"at least {at_least_count} design variations compared against {baseline}",
                       f"runs named {prefix}* besides {baseline}", "structure", points, check, at_least_count)


def beats(id: str, better: str, worse: str, text: str, points: float = 1) -> Requirement:
    def check(facts: Facts) -> Check:
        a, b = _accuracy(facts, better), _accuracy(facts, worse)
        return holds(id, a > b, f"{a:.4f} {'>' if a > b else '<='} {b:.4f}")

    return Requirement(id, text, f"test_accuracy of runs {better!r} and {worse!r}", "accuracy", points, check)


def sorted_run_collapses(id: str, shuffled: str, sorted_run: str, tolerance: float = 0.05,
                         points: float = 2) -> Requirement:
    """Shuffled beats sorted, and the sorted run collapsed: chance accuracy, or (almost) one class predicted."""

    def check(facts: Facts) -> Check:
        good, bad = _accuracy(facts, shuffled), _accuracy(facts, sorted_run)
        recalls = facts.run(sorted_run)["per_class_accuracy"]
        near_chance = abs(bad - 0.5) <= tolerance
        one_class = min(recalls) <= tolerance
        detail = (f"shuffled {good:.4f} vs sorted {bad:.4f}; sorted recall per class "
                  + " / ".join(f"{r:.4f}" for r in recalls))
        return holds(id, good > bad and (near_chance or one_class), detail)

    return Requirement(id, f"shuffled pairs beat sorted pairs, and the sorted run collapses (accuracy within "
                           f"{tolerance} of 0.5, or a class recall <= {tolerance})",
                       f"test accuracy and per-class recall of runs {shuffled!r} and {sorted_run!r}", "accuracy",
                       points, check, tolerance)


def at_chance(id: str, run: str, tolerance: float = 0.05, points: float = 1) -> Requirement:
    """A run trained on labels unrelated to the digits scores chance (0.5) on balanced test pairs."""

    def check(facts: Facts) -> Check:
        accuracy = _accuracy(facts, run)
        return holds(id, abs(accuracy - 0.5) <= tolerance, f"{accuracy:.4f}; chance is 0.5000")

    return Requirement(id, f"labels that ignore the digits teach nothing: test accuracy within {tolerance} of 0.5",
                       f"test_accuracy of run {run!r}", "accuracy", points, check, tolerance)


def class_weights_raise_recall(id: str, weighted: str, unweighted: str, class_index: int, class_name: str,
                               points: float = 2) -> Requirement:
    def check(facts: Facts) -> Check:
        a = float(facts.run(weighted)["per_class_accuracy"][class_index])
        b = float(facts.run(unweighted)["per_class_accuracy"][class_index])
        return holds(id, a > b, f"recall of '{class_name}': {a:.4f} {'>' if a > b else '<='} {b:.4f}")

    return Requirement(id, f"class weights raise the recall of '{class_name}' pairs over the unweighted run",
                       f"per-class accuracy of {class_name!r} in runs {weighted!r} and {unweighted!r}", "accuracy",
                       points, check)


def claims_hold(id: str = "claims_hold", points: float = 0) -> Requirement:
    """No claim the notebook recorded is contradicted by its run (difference claims re-tested from their values).

    Kind "accuracy": claims read results of full-size runs, so a smoke run's small networks do not judge them.
    No points: a claim checks the lab book's reading of the run, not a student's work. n/a when none recorded.
    """

    def check(facts: Facts) -> Check:
        if not facts.claims:
            raise NotApplicable("no claims recorded")
        return claims.check(facts.claims, id)

    return Requirement(id, "every claim of the analysis holds on this run (none contradicted)",
                       "claims recorded in metrics.json: each one's predicate and the values it used", "accuracy",
                       points, check)


CLAIMS_HOLD = claims_hold()


# ---------------------------------------------------------------- the labs

PAIRS_04 = ("trained", "test", "test_exhaustive")  # trained: every pair of every epoch the Siamese run drew
SAMPLED_04 = ("train_epoch", "test", "test_exhaustive")  # one draw each: no pair twice (epochs may share pairs)
PAIRS_05 = ("shuffled", "sorted", "imbalanced", "test")

REQUIREMENTS: dict[str, tuple[Requirement, ...]] = {
    "00_setup_and_data": (
        pool_composition("train_pool_composition", "train_pool", 600),
        pool_composition("test_pool_composition", "test_pool", 100),
        normalisation_statistics("normalisation_statistics", 0.1307, 0.3081),
    ),
    "01_cnn": (
        losses_recorded("losses_every_batch", ("plain_cnn", "plain_cnn_rotation")),
        accuracy_at_least("plain_cnn_accuracy", "plain_cnn", 0.9915, "plain CNN without augmentation",
                          SeedSpread(seeds=5, mean=0.99272, sd=0.00053, low=0.9921, high=0.9933, report=0.9905)),
        accuracy_at_least("rotation_accuracy", "plain_cnn_rotation", 0.9925, "plain CNN with rotation",
                          SeedSpread(seeds=5, mean=0.99348, sd=0.00030, low=0.9931, high=0.9937, report=0.9905)),
    ),
    "02_lenet5": (
        losses_recorded("losses_every_batch", ("lenet5_classic", "lenet5_modern", "lenet5_report_recipe")),
        accuracy_at_least("classic_accuracy", "lenet5_classic", 0.9915, "classic LeNet-5",
                          SeedSpread(seeds=5, mean=0.99212, sd=0.00016, low=0.9920, high=0.9924, report=0.974)),
        accuracy_at_least("modern_accuracy", "lenet5_modern", 0.9915, "modern LeNet-5",
                          SeedSpread(seeds=5, mean=0.99306, sd=0.00056, low=0.9921, high=0.9935, report=0.974)),
        beats("schedule_beats_report_recipe", "lenet5_classic", "lenet5_report_recipe",
              "this notebook's recipe beats report 004's recipe as run here (its first 20 of 300 epochs: lr 1e-5, "
              "step schedule, flips)"),
    ),
    "03_resnet": (
        losses_recorded("losses_every_batch", ("resnet",)),
        projection_shortcuts("projection_shortcuts", "resnet"),
        design_variations("design_variations", "resnet_baseline", "resnet_"),
        accuracy_at_least("resnet_accuracy", "resnet", 0.9935, "the main ResNet run",
                          SeedSpread(seeds=5, mean=0.99552, sd=0.00095, low=0.9940, high=0.9965, report=0.9947),
                          points=3),
    ),
    "04_pairs": (
        pool_composition("train_pool_composition", "train_pool", 600),
        pool_composition("test_pool_composition", "test_pool", 100),
        pairs_balanced("pairs_balanced", PAIRS_04),
        no_self_pairs("no_self_pairs", PAIRS_04),
        targets_match_digits("targets_match_digits", PAIRS_04),
        no_duplicate_pairs("no_duplicate_pairs", SAMPLED_04),
        losses_recorded("losses_every_batch", ("siamese", "two_channel")),
        accuracy_at_least("siamese_accuracy", "siamese", 0.988, "Siamese network",
                          SeedSpread(seeds=5, mean=0.99170, sd=0.00164, low=0.9899, high=0.9943, report=0.9857)),
        accuracy_at_least("two_channel_accuracy", "two_channel", 0.982, "two-channel network",
                          SeedSpread(seeds=5, mean=0.98538, sd=0.00147, low=0.9834, high=0.9869, report=0.9778)),
    ),
    "05_pair_data_study": (
        pool_composition("train_pool_composition", "train_pool", 600),
        pool_composition("test_pool_composition", "test_pool", 100),
        same_size("same_size_training_sets", ("shuffled", "sorted", "imbalanced")),
        pairs_balanced("pairs_balanced", ("shuffled", "sorted", "test")),
        fraction_same("imbalanced_10_90", "imbalanced", 0.9),
        pairs_sorted("sorted_really_sorted", "sorted"),
        no_self_pairs("no_self_pairs", PAIRS_05),
        targets_match_digits("targets_match_digits", PAIRS_05),
        no_duplicate_pairs("no_duplicate_test_pairs", ("test",)),
        losses_recorded("losses_every_batch", ("siamese_shuffled_pairs", "siamese_sorted_pairs",
                                               "siamese_imbalanced_pairs", "siamese_imbalanced_class_weights")),
        accuracy_at_least("shuffled_accuracy", "siamese_shuffled_pairs", 0.968, "balanced, shuffled pairs",
                          SeedSpread(seeds=5, mean=0.97636, sd=0.00400, low=0.9716, high=0.9820, report=0.9778)),
        sorted_run_collapses("sorted_collapses", "siamese_shuffled_pairs", "siamese_sorted_pairs"),
        at_chance("report_labels_at_chance", "siamese_report_001_labels"),
        class_weights_raise_recall("class_weights_raise_recall", "siamese_imbalanced_class_weights",
                                   "siamese_imbalanced_pairs", 0, "different"),
    ),
}


def notebooks() -> list[str]:
    """The lab notebooks that have requirements, in order."""
    return sorted(REQUIREMENTS)


def requirements_for(notebook: str) -> tuple[Requirement, ...]:
    if notebook not in REQUIREMENTS:
        raise ValueError(f"no requirements for notebook {notebook!r}; known notebooks: {', '.join(notebooks())} "
                         "(labkit.course.requirements.register adds one)")
    return REQUIREMENTS[notebook]


def _target_of(notebook: str, run: str) -> Requirement:
    for requirement in requirements_for(notebook):
        if requirement.spread is not None and requirement.run == run:
            return requirement
    raise ValueError(f"{notebook} has no accuracy target for run {run!r}")


def accuracy_target(notebook: str, run: str) -> float:
    """The test accuracy `run` of `notebook` must reach (its accuracy requirement's threshold), for prose and plots."""
    return _target_of(notebook, run).threshold


def seed_spread(notebook: str, run: str) -> SeedSpread:
    """How the test accuracy of `run` moves with the seed alone: what a correct solution may land on."""
    return _target_of(notebook, run).spread


def clears_margin(accuracy: float, threshold: float) -> bool:
    """Whether `accuracy` passes `threshold` by MARGIN, not by the luck of a few images (float rounding forgiven)."""
    return accuracy >= threshold + MARGIN - 1e-9


def register(notebook: str, requirements) -> None:
    """Add (or replace) the requirements of a notebook, e.g. a new lab or a test's tiny notebook."""
    requirements = tuple(requirements)
    ids = [r.id for r in requirements]
    if len(set(ids)) != len(ids):
        raise ValueError(f"requirement ids of {notebook!r} must be unique, got {ids}")
    REQUIREMENTS[notebook] = requirements


def check_profile(profile: str) -> str:
    """`profile` when it is one of PROFILES, else a ValueError naming it and the profiles there are."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    return profile


def check_requirement(requirement: Requirement, facts: Facts, profile: str = "full") -> Outcome:
    def outcome(status: str, detail: str) -> Outcome:
        earned = requirement.points if status == "PASS" else 0
        return Outcome(requirement.id, requirement.text, requirement.kind, status, requirement.points, earned,
                       detail)

    if requirement.kind == "accuracy" and check_profile(profile) != "full":
        return outcome("n/a", f"accuracy requirements are graded in the full profile, not {profile}")
    try:
        check = requirement.check(facts)
    except NotApplicable as reason:
        return outcome("n/a", str(reason))
    except NotRecorded as missing:
        return outcome("not done", str(missing))
    except (KeyError, TypeError, ValueError, IndexError) as error:
        return outcome("FAIL", f"the recorded facts are malformed: {type(error).__name__}: {error}")
    return outcome("PASS" if check.passed else "FAIL", check.detail)


def check_requirements(notebook: str, facts: Facts, profile: str = "full") -> list[Outcome]:
    """Every requirement of `notebook`, evaluated from `facts` under `profile`; claims_hold too when claims
    were recorded (and the notebook's own requirements do not already judge them)."""
    check_profile(profile)
    judged = list(requirements_for(notebook))
    if facts.claims and CLAIMS_HOLD.id not in {r.id for r in judged}:
        judged.append(CLAIMS_HOLD)
    return [check_requirement(r, facts, profile) for r in judged]


def failures(outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes that fail a strict run: FAIL and not done."""
    return [o for o in outcomes if o.status in ("FAIL", "not done")]


def score(outcomes: list[Outcome]) -> tuple[float, float]:
    """(points earned, points possible), n/a requirements left out of both."""
    counted = [o for o in outcomes if o.status != "n/a"]
    return sum(o.earned for o in counted), sum(o.points for o in counted)


def outcome_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """One row per requirement: id, requirement, kind, result, points (earned/possible), detail."""
    rows = [{"id": o.id, "requirement": o.requirement, "kind": o.kind, "result": o.status,
             "points": "" if o.status == "n/a" else f"{_number(o.earned)}/{_number(o.points)}", "detail": o.detail}
            for o in outcomes]
    return pd.DataFrame(rows, columns=["id", "requirement", "kind", "result", "points", "detail"])


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def rubric_table(notebook: str) -> pd.DataFrame:
    """The rubric of a notebook: id, requirement, what is measured, threshold, points, kind."""
    return pd.DataFrame([{"id": r.id, "requirement": r.text, "measures": r.measures,
                          "threshold": "" if r.threshold is None or math.isnan(r.threshold) else r.threshold,
                          "points": r.points, "kind": r.kind} for r in requirements_for(notebook)])


# ---------------------------------------------------------------- the hand-in rubric

# The points of each exercise (a code cell with solution regions, metadata labkit.exercise; autograded by the
# self-check cell right after it) and of each answer cell (markdown, graded by hand; its nbgrader.grade_id), per
# notebook. `python -m labkit nbgrader-metadata` writes them into the notebooks' metadata (labkit's and
# nbgrader's); `labkit grade` takes them from here, never from a submission's metadata.
EXERCISES: dict[str, dict[str, float]] = {
    "00_setup_and_data": {"normalisation": 1},
    "01_cnn": {"plain-cnn": 3, "training-loop": 2},
    "02_lenet5": {"lenet5": 3},
    "03_resnet": {"residual-block": 3},
    "04_pairs": {"balanced-pairs": 2, "siamese-forward": 2},
    "05_pair_data_study": {"sorted-and-imbalanced": 2},
}
ANSWERS: dict[str, dict[str, float]] = {
    "00_setup_and_data": {"normalisation-train-only": 2, "augmentation-safe": 1},
    "01_cnn": {"confused-digits": 2, "augmentation-effect": 2, "label-audit": 2},
    "02_lenet5": {"classic-vs-modern": 2, "tiny-learning-rate": 2},
    "03_resnet": {"design-variations": 2, "label-audit": 2},
    "04_pairs": {"siamese-fewer-pairs": 2},
    "05_pair_data_study": {"why-sorted-ends-there": 2, "why-class-weights-help": 2},
}


def exercise_points(notebook: str) -> dict[str, float]:
    """The rubric points of `notebook`'s code exercises, by exercise id ({} for a notebook without a rubric)."""
    return dict(EXERCISES.get(notebook, {}))


def answer_points(notebook: str) -> dict[str, float]:
    """The rubric points of `notebook`'s answer cells (graded by hand), by id ({} for a notebook without a rubric)."""
    return dict(ANSWERS.get(notebook, {}))


def has_rubric(notebook: str) -> bool:
    """Whether labkit's rubric lists exercises or answers for `notebook`."""
    return notebook in EXERCISES or notebook in ANSWERS
