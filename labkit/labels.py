"""Label audit: which given labels the networks doubt, by confident learning (Northcutt, Jiang and Chuang, 2021).

    probabilities = [evaluation.probabilities for evaluation in evaluations]   # one (N, K) array per network
    frame = labels.audit(probabilities, test.labels)  # index, given, suggested, score, flagged, agreement
                                                      # most suspicious first
    labels.audit_record(frame, top=20)                # plain data for metrics.json
    labels.label_issue_gallery(test.images, frame, classes=range(10), n=24)
    labels.disputed(indices, frame, top=20)           # which of these test indices are disputed labels

The probabilities must be out of sample: a network's predictions on items it did not train on (the test set, or
held-out folds), else it has memorised the very labels under audit. Each network is audited on its own: per class,
its threshold is the mean probability it gives that class over the items labelled with it; an item's confident
label is the likeliest class whose probability reaches its threshold; the confident joint counts items by given and
confident label. An item is a candidate when at least one network's confident label is not the given one (an
off-diagonal entry of that network's confident joint). Several networks are not averaged first: one weak network's
hesitation can pull a plain mislabel below every threshold of the average. The candidates are ranked by the
networks' mean probability of the given label (self-confidence: low is suspicious) or by the normalised margin.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .metrics import as_numpy

SCORES = ("self_confidence", "normalized_margin")
COLUMNS = ["index", "given", "suggested", "score", "flagged", "agreement"]
NO_LABEL = -1  # no class reaches its threshold: the item is not counted in the confident joint


# ---------------------------------------------------------------- inputs


def stack(probabilities) -> np.ndarray:
    """(M, N, K) float64 probabilities from one network's (N, K), a list of them, or an (M, N, K) array."""
    if isinstance(probabilities, (list, tuple)):
        if not probabilities:
            raise ValueError("probabilities: got an empty list; give one (N, K) array per network")
        arrays = [as_numpy(p).astype(np.float64) for p in probabilities]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"every network's probabilities must have one shape (N, K), got {sorted(shapes)}")
        stacked = np.stack(arrays)
    else:
        stacked = as_numpy(probabilities).astype(np.float64)
        stacked = stacked[None] if stacked.ndim == 2 else stacked
    if stacked.ndim != 3 or stacked.shape[1] == 0 or stacked.shape[2] < 2:
        raise ValueError(f"probabilities must be (N, K) per network with N >= 1 and K >= 2 classes, "
                         f"got shape {stacked.shape[-2:] if stacked.ndim >= 2 else stacked.shape}")
    _check_rows(stacked)
    return stacked


def _check_rows(stacked: np.ndarray) -> None:
    bad = ~np.isfinite(stacked).all(axis=2) | (stacked < -1e-6).any(axis=2) | (stacked > 1 + 1e-6).any(axis=2)
    sums = stacked.sum(axis=2)
    bad |= np.abs(sums - 1) > 1e-3
    if bad.any():
        network, row = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(f"probabilities must be finite, in [0, 1], each row summing to 1 (softmax outputs, not "
                         f"logits): network {network}, row {row} is {np.round(stacked[network, row], 4).tolist()} "
                         f"(sum {sums[network, row]:.4f})")


def _given(labels, items: int, classes: int) -> np.ndarray:
    labels = as_numpy(labels)
    if labels.shape != (items,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {items} integer class indices (one per row of the probabilities), "
                         f"got shape {labels.shape} of {labels.dtype}")
    outside = np.flatnonzero((labels < 0) | (labels >= classes))
    if len(outside):
        raise ValueError(f"labels must lie in [0, {classes}); item {int(outside[0])} is {int(labels[outside[0]])}")
    return labels.astype(np.int64)


# ---------------------------------------------------------------- confident learning


def _squeeze(per_network: np.ndarray) -> np.ndarray:
    return per_network[0] if len(per_network) == 1 else per_network


def _thresholds(stacked: np.ndarray, given: np.ndarray) -> np.ndarray:
    counts = np.bincount(given, minlength=stacked.shape[2])
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        raise ValueError(f"no item is labelled {empty.tolist()}: each class needs labelled items for its threshold")
    own = stacked[:, np.arange(len(given)), given]  # (M, N)
    sums = np.stack([np.bincount(given, weights=row, minlength=stacked.shape[2]) for row in own])
    return sums / counts[None, :]


def _confident_labels(stacked: np.ndarray, given: np.ndarray) -> np.ndarray:
    above = stacked >= _thresholds(stacked, given)[:, None, :]
    best = np.where(above, stacked, -np.inf).argmax(axis=2)
    return np.where(above.any(axis=2), best, NO_LABEL)


def thresholds(probabilities, labels) -> np.ndarray:
    """Per class, the mean probability of that class over the items labelled with it: (K,) for one network,
    (M, K) for several, each network's own."""
    stacked = stack(probabilities)
    return _squeeze(_thresholds(stacked, _given(labels, *stacked.shape[1:])))


def confident_labels(probabilities, labels) -> np.ndarray:
    """Per item, the likeliest class whose probability reaches its threshold; NO_LABEL (-1) where none does:
    (N,) for one network, (M, N) for several, each by its own thresholds."""
    stacked = stack(probabilities)
    return _squeeze(_confident_labels(stacked, _given(labels, *stacked.shape[1:])))


def confident_joint(probabilities, labels) -> pd.DataFrame:
    """One network's counts of items by given label (rows) and confident label (columns), items without one left
    out; for several networks, their joints summed (each network counts every item once)."""
    stacked = stack(probabilities)
    given = _given(labels, *stacked.shape[1:])
    confident = _confident_labels(stacked, given)
    classes = stacked.shape[2]
    joint = np.zeros((classes, classes), dtype=np.int64)
    for row in confident:
        counted = row != NO_LABEL
        np.add.at(joint, (given[counted], row[counted]), 1)
    return pd.DataFrame(joint, index=pd.Index(range(classes), name="given"),
                        columns=pd.Index(range(classes), name="confident"))


def scores(probabilities, labels, by: str = "self_confidence") -> np.ndarray:
    """Per item, how much the networks believe its given label: low is suspicious.

    self_confidence: the mean probability of the given label, in [0, 1]. normalized_margin: that minus the largest
    probability of any other class, in [-1, 1].
    """
    if by not in SCORES:
        raise ValueError(f"by must be one of {SCORES}, got {by!r}")
    mean = stack(probabilities).mean(axis=0)
    given = _given(labels, *mean.shape)
    rows = np.arange(len(given))
    own = mean[rows, given]
    if by == "self_confidence":
        return own
    others = mean.copy()
    others[rows, given] = -np.inf
    return own - others.max(axis=1)


def audit(probabilities, labels, by: str = "self_confidence") -> pd.DataFrame:
    """The candidate label issues, most suspicious (lowest score) first: index, given, suggested, score, flagged,
    agreement.

    A candidate is an item some network's confident label puts off its given label. `suggested` is the confident
    label most of those networks give (a tie goes to the class of higher mean probability), `flagged` how many
    networks' confident label it is, `agreement` how many networks predict it (argmax).
    attrs: items, networks, score (`by`), thresholds (per network).
    """
    stacked = stack(probabilities)
    given = _given(labels, *stacked.shape[1:])
    confident = _confident_labels(stacked, given)  # (M, N)
    off = (confident != NO_LABEL) & (confident != given[None, :])
    candidates = np.flatnonzero(off.any(axis=0))
    classes = stacked.shape[2]
    votes = np.zeros((len(candidates), classes))
    for network in range(len(stacked)):
        flagged_here = off[network, candidates]
        np.add.at(votes, (np.flatnonzero(flagged_here), confident[network, candidates[flagged_here]]), 1)
    mean = stacked[:, candidates].mean(axis=0)  # (C, K): breaks ties between suggestions
    suggested = np.where(votes == votes.max(axis=1, keepdims=True), mean, -np.inf).argmax(axis=1) \
        if len(candidates) else np.zeros(0, dtype=np.int64)
    score = scores(stacked, given, by)[candidates]
    order = np.argsort(score, kind="stable")
    predictions = stacked.argmax(axis=2)  # (M, N)
    agreement = (predictions[:, candidates] == suggested[None, :]).sum(axis=0)
    flagged = votes[np.arange(len(candidates)), suggested].astype(np.int64)
    frame = pd.DataFrame({"index": candidates, "given": given[candidates], "suggested": suggested, "score": score,
                          "flagged": flagged, "agreement": agreement}, columns=COLUMNS).iloc[order]
    frame.attrs.update(items=int(stacked.shape[1]), networks=int(stacked.shape[0]), score=by,
                       thresholds=_thresholds(stacked, given).round(6).tolist())
    return frame.reset_index(drop=True)


# ---------------------------------------------------------------- using the audit


def _top(frame: pd.DataFrame, top: int | None) -> pd.DataFrame:
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"frame must be an audit() frame with columns {COLUMNS}; it lacks {sorted(missing)}")
    if top is None:
        return frame
    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 0:
        raise ValueError(f"top must be a whole number >= 0 (how many candidates), got {top!r}")
    return frame.head(int(top))


def audit_record(frame: pd.DataFrame, top: int = 20) -> dict:
    """Plain data for metrics.json: how many items, networks and candidates, and the `top` candidates."""
    shown = _top(frame, top)
    rows = [{"index": int(r.index), "given": int(r.given), "suggested": int(r.suggested),
             "score": round(float(r.score), 4), "flagged": int(r.flagged), "agreement": int(r.agreement)}
            for r in shown.itertuples()]
    attrs = frame.attrs
    return {"items": attrs.get("items"), "networks": attrs.get("networks"), "score": attrs.get("score"),
            "candidates": len(frame), "top": rows}


def disputed(indices, frame: pd.DataFrame, top: int | None = None) -> np.ndarray:
    """A bool mask over `indices` (item indices, e.g. a gallery's): True where the item is among the `top`
    candidates of `frame` (all candidates when top is None)."""
    candidates = _top(frame, top)["index"].to_numpy(dtype=np.int64)
    indices = as_numpy(indices).reshape(-1)
    if len(indices) and not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices must be integer item indices, got {indices.dtype}")
    return np.isin(indices, candidates)


def label_issue_gallery(images, frame: pd.DataFrame, classes=None, n: int = 24, columns: int = 8):
    """The `n` most suspicious labels as images, titled "#index  given → suggested?" with score and agreement.

    `images` are the audited items' images (N, H, W) or (N, 1, H, W), or their ImageSet, indexed by the frame's
    `index` column; `classes` names the classes (default: the ImageSet's, else the class indices).
    """
    import matplotlib.pyplot as plt

    from .plots import STYLE, WRONG

    shown = _top(frame, n)
    classes = classes if classes is not None else getattr(images, "classes", None)
    images = as_numpy(images.images if hasattr(images, "images") else images)
    images = images[:, 0] if images.ndim == 4 and images.shape[1] == 1 else images
    names = [str(c) for c in classes] if classes is not None else None
    name = (lambda k: names[k]) if names is not None else str
    networks = frame.attrs.get("networks")
    with plt.rc_context(STYLE):
        if shown.empty:
            fig, ax = plt.subplots(figsize=(4, 1))
            plt.close(fig)
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no candidate label issues", ha="center", va="center")
            return fig
        columns = max(1, min(columns, len(shown)))
        rows = -(-len(shown) // columns)
        title = (f"the {len(shown)} most suspicious labels: given → suggested? "
                 f"({frame.attrs.get('score', 'score').replace('_', '-')}, networks agreeing)")
        width = max(columns * 1.15, 0.075 * len(title))  # the title fits above a narrow grid
        fig, axes = plt.subplots(rows, columns, figsize=(width, rows * 1.25 + 0.35), squeeze=False)
        plt.close(fig)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.4 / fig.get_figheight(), wspace=0.1,
                            hspace=0.6)
        for ax in axes.ravel():
            ax.set_axis_off()
        for ax, item in zip(axes.ravel(), shown.itertuples()):
            image = images[int(item.index)]
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=255 if image.dtype == np.uint8 else None,
                      interpolation="nearest")
            agree = f", {item.agreement}/{networks}" if networks else ""
            ax.set_title(f"#{item.index}  {name(item.given)} → {name(item.suggested)}?\n{item.score:.2f}{agree}",
                         fontsize=7, color=WRONG, pad=2)
        fig.suptitle(title, fontsize=9)
    return fig
