"""Task drift, measured: does a sample of recent production inputs still look like the eval set?

Three comparisons, each with a stated threshold (:class:`vocabulary.measured.DriftThresholds`,
defaults in ``docs/measured-facts.md``); the sample has drifted when any one is over its
threshold:

* **Input length** (words per input): two-sample Kolmogorov-Smirnov test. Drifted when the
  KS statistic exceeds ``length_ks_max`` *and* its p-value is under ``length_p_max`` (a
  statistic alone is noisy on small samples; a p-value alone flags trivial shifts on big ones).
* **Label mix**: the labels the fine-tune assigns to the sample against those it assigned to
  the eval set this quarter (answered items only), chi-square test of homogeneity. Drifted
  when the total variation distance exceeds ``label_shift_max`` and the p-value is under
  ``label_p_max``. Skipped (said so) when the outputs are free text (more than
  :data:`MAX_LABELS` distinct answers).
* **Vocabulary**: the share of the sample's word tokens that occur anywhere in the eval set.
  Drifted when under ``token_coverage_min``. The Jaccard index of the two vocabularies is
  reported alongside.

Drift is a caveat, never a reason to retire: the gate it gives fails as a *caveat*
(``verdict.py`` rule 6: ``watch``), asking for a fresher eval set.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from tasks.decision.gates import GateOutcome
from vocabulary.measured import DriftThresholds

MAX_LABELS = 20
"""More distinct outputs than this: the task is not a labelling task; the mix is skipped."""
_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True, slots=True)
class LengthShift:
    """Input length (words) of eval set and sample, and the KS test between them."""

    eval_median: float
    sample_median: float
    ks_statistic: float
    p_value: float
    drifted: bool


@dataclass(frozen=True, slots=True)
class LabelShift:
    """The fine-tune's label mix on the eval set and on the sample."""

    eval_mix: dict[str, float]
    sample_mix: dict[str, float]
    total_variation: float
    p_value: float
    drifted: bool


@dataclass(frozen=True, slots=True)
class TokenOverlap:
    """How much of the sample's vocabulary the eval set covers."""

    coverage: float
    """Share of the sample's tokens (with repeats) that occur in the eval set."""
    jaccard: float
    """Distinct tokens in both / distinct tokens in either."""
    drifted: bool


@dataclass(frozen=True, slots=True)
class DriftReport:
    """The comparison of a production sample with the eval set."""

    source: str
    """Where the sample came from (no secrets)."""
    n_eval: int
    n_sample: int
    length: LengthShift
    labels: LabelShift | None
    """None when not compared; ``labels_note`` says why."""
    labels_note: str | None
    tokens: TokenOverlap
    thresholds: DriftThresholds

    @property
    def drifted(self) -> bool:
        """Any comparison over its threshold."""
        return (
            self.length.drifted or self.tokens.drifted or bool(self.labels and self.labels.drifted)
        )

    def findings(self) -> list[str]:
        """The comparisons over threshold, one phrase each."""
        t, out = self.thresholds, []
        if self.length.drifted:
            out.append(
                f"input length shifted (median {self.length.eval_median:g} -> "
                f"{self.length.sample_median:g} words, KS {self.length.ks_statistic:.2f} > "
                f"{t.length_ks_max:g}, p {_p(self.length.p_value)})"
            )
        if self.labels is not None and self.labels.drifted:
            out.append(
                f"label mix shifted (total variation {self.labels.total_variation:.2f} > "
                f"{t.label_shift_max:g}, chi-square p {_p(self.labels.p_value)})"
            )
        if self.tokens.drifted:
            out.append(
                f"only {self.tokens.coverage:.0%} of the sample's tokens occur in the eval set "
                f"(< {t.token_coverage_min:.0%})"
            )
        return out


def _p(x: float) -> str:
    return f"= {x:.2g}" if x >= 0.001 else "< 0.001"


def compare_length(
    eval_texts: Sequence[str], sample_texts: Sequence[str], t: DriftThresholds
) -> LengthShift:
    """Two-sample KS test on words per input."""
    a = np.array([len(tokens(x)) for x in eval_texts], dtype=float)
    b = np.array([len(tokens(x)) for x in sample_texts], dtype=float)
    result = stats.ks_2samp(a, b)
    d, p = float(result.statistic), float(result.pvalue)
    return LengthShift(
        eval_median=float(np.median(a)),
        sample_median=float(np.median(b)),
        ks_statistic=d,
        p_value=p,
        drifted=d > t.length_ks_max and p < t.length_p_max,
    )


def _label(x: str) -> str:
    return " ".join(x.strip().lower().split())


def compare_labels(
    eval_labels: Sequence[str], sample_labels: Sequence[str], t: DriftThresholds
) -> tuple[LabelShift | None, str | None]:
    """Chi-square test of homogeneity on the fine-tune's labels; None and why when skipped."""
    a, b = Counter(map(_label, eval_labels)), Counter(map(_label, sample_labels))
    if not a or not b:
        return None, "no answered outputs on one side; label mix not compared"
    labels = sorted(set(a) | set(b))
    if len(labels) > MAX_LABELS:
        return None, (
            f"outputs are free text ({len(labels)} distinct > {MAX_LABELS}); label mix not compared"
        )
    na, nb = sum(a.values()), sum(b.values())
    mix_a = {k: a[k] / na for k in labels}
    mix_b = {k: b[k] / nb for k in labels}
    tv = 0.5 * sum(abs(mix_a[k] - mix_b[k]) for k in labels)
    if len(labels) < 2:
        p = 1.0
    else:
        table = np.array([[a[k] for k in labels], [b[k] for k in labels]], dtype=float)
        p = float(stats.chi2_contingency(table).pvalue)
    shift = LabelShift(mix_a, mix_b, tv, p, drifted=tv > t.label_shift_max and p < t.label_p_max)
    return shift, None


def compare_tokens(
    eval_texts: Sequence[str], sample_texts: Sequence[str], t: DriftThresholds
) -> TokenOverlap:
    """Share of sample tokens seen in the eval set, and the vocabularies' Jaccard index."""
    eval_vocab = {w for x in eval_texts for w in tokens(x)}
    sample_tokens = [w for x in sample_texts for w in tokens(x)]
    sample_vocab = set(sample_tokens)
    coverage = (
        sum(w in eval_vocab for w in sample_tokens) / len(sample_tokens) if sample_tokens else 1.0
    )
    union = eval_vocab | sample_vocab
    jaccard = len(eval_vocab & sample_vocab) / len(union) if union else 1.0
    return TokenOverlap(coverage, jaccard, drifted=coverage < t.token_coverage_min)


def compare(
    *,
    source: str,
    eval_texts: Sequence[str],
    sample_texts: Sequence[str],
    eval_labels: Sequence[str],
    sample_labels: Sequence[str],
    thresholds: DriftThresholds,
) -> DriftReport:
    """Compare a production sample with the eval set (see the module docstring).

    Raises:
        ValueError: either side has no inputs.
    """
    if not eval_texts or not sample_texts:
        raise ValueError(
            f"drift needs inputs on both sides (eval set {len(eval_texts)}, sample "
            f"{len(sample_texts)})"
        )
    labels, note = compare_labels(eval_labels, sample_labels, thresholds)
    return DriftReport(
        source=source,
        n_eval=len(eval_texts),
        n_sample=len(sample_texts),
        length=compare_length(eval_texts, sample_texts, thresholds),
        labels=labels,
        labels_note=note,
        tokens=compare_tokens(eval_texts, sample_texts, thresholds),
        thresholds=thresholds,
    )


def drift_gate(report: DriftReport) -> GateOutcome:
    """The measured stability check: a caveat that fails on drift (``watch``, never retire)."""
    found = report.findings()
    if found:
        evidence = (
            f"production sample ({report.n_sample} inputs from {report.source}) drifted from "
            f"the eval set: {'; '.join(found)}. The eval set no longer looks like production: "
            "refresh it"
        )
    else:
        evidence = (
            f"production sample ({report.n_sample} inputs from {report.source}) matches the "
            f"eval set: length KS {report.length.ks_statistic:.2f}, token coverage "
            f"{report.tokens.coverage:.0%}"
            + (
                f", label shift {report.labels.total_variation:.2f}"
                if report.labels is not None
                else ""
            )
        )
    return GateOutcome(
        name="task_drift",
        status="fail" if found else "pass",
        evidence=evidence,
        threshold=None,
        observed=float(len(found)),
        kind="caveat",
        rule="frame: stability threshold, measured on a production sample",
    )


def drift_lines(report: DriftReport) -> list[str]:
    """The memo's table of the comparison."""
    t, ln, tk, lb = report.thresholds, report.length, report.tokens, report.labels
    yes = {True: "**drifted**", False: "ok"}
    rows = [
        "| Check | Eval set | Production sample | Statistic | Threshold | Result |",
        "|---|---|---|---|---|---|",
        f"| Input length (median words) | {ln.eval_median:g} | {ln.sample_median:g} | KS "
        f"{ln.ks_statistic:.3f}, p {_p(ln.p_value)} | KS > {t.length_ks_max:g} and p < "
        f"{t.length_p_max:g} | {yes[ln.drifted]} |",
    ]
    if lb is not None:
        rows.append(
            f"| Label mix (fine-tune's labels) | {_mix(lb.eval_mix)} | {_mix(lb.sample_mix)} | "
            f"TV {lb.total_variation:.3f}, chi-square p {_p(lb.p_value)} | TV > "
            f"{t.label_shift_max:g} and p < {t.label_p_max:g} | {yes[lb.drifted]} |"
        )
    rows.append(
        f"| Vocabulary | {report.n_eval} inputs | {report.n_sample} inputs | coverage "
        f"{tk.coverage:.1%}, Jaccard {tk.jaccard:.2f} | coverage < {t.token_coverage_min:.0%} "
        f"| {yes[tk.drifted]} |"
    )
    lines = [f"Production sample: {report.source}.", "", *rows]
    if report.labels_note:
        lines += ["", f"Label mix: {report.labels_note}."]
    return lines


def _mix(mix: dict[str, float]) -> str:
    top = sorted(mix.items(), key=lambda kv: -kv[1])[:4]
    return ", ".join(f"{k} {v:.0%}" for k, v in top)
