"""An evaluation report: Markdown with ROC, precision-recall and confusion-matrix plots."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["write_report"]


def _figure() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_report(
    folder: str | Path,
    result: dict[str, Any],
    labels: npt.ArrayLike,
    probs: npt.ArrayLike,
    data_name: str,
) -> Path:
    """Write report.md and its PNG plots into `folder`; returns the Markdown file."""
    from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

    plt = _figure()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    y, p = np.asarray(labels), np.asarray(probs)
    task, threshold = result["task"], result["threshold"]

    fig, ax = plt.subplots(figsize=(5, 4.5))
    fpr, tpr, _ = roc_curve(y, p)
    ax.plot(fpr, tpr, label=f"ROC AUC {result['roc_auc']}")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{task}: ROC")
    ax.legend(loc="lower right")
    fig.savefig(out / "roc.png", dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4.5))
    precision, recall, _ = precision_recall_curve(y, p)
    ax.plot(recall, precision, label=f"AP {result['average_precision']}")
    ax.set(xlabel="recall", ylabel="precision", title=f"{task}: precision-recall", ylim=(0, 1.02))
    ax.legend(loc="lower left")
    fig.savefig(out / "precision_recall.png", dpi=100, bbox_inches="tight")
    plt.close(fig)

    matrix = confusion_matrix(y, p >= threshold, labels=[0, 1])
    fig, ax = plt.subplots(figsize=(4, 3.5))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center")
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["ok", task],
        yticklabels=["ok", task],
        xlabel=f"predicted (score >= {threshold:.3f})",
        ylabel="labeled",
        title="confusion matrix",
    )
    fig.savefig(out / "confusion_matrix.png", dpi=100, bbox_inches="tight")
    plt.close(fig)

    rows = "\n".join(
        f"| {key} | {result[key]} |"
        for key in ("n", "positives", "roc_auc", "average_precision", "precision", "recall", "f1")
    )
    report = out / "report.md"
    report.write_text(
        f"# {task} evaluation of model {result['model_version']}\n\n"
        f"Data: `{data_name}`. Precision, recall, F1 and the confusion matrix at score "
        f"{threshold:.4f}.\n\n| metric | value |\n| --- | --- |\n{rows}\n\n"
        "![ROC curve](roc.png)\n\n![Precision-recall curve](precision_recall.png)\n\n"
        "![Confusion matrix](confusion_matrix.png)\n",
        encoding="utf-8",
    )
    return report
