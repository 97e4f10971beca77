"""The training progress bar on stderr: step, loss, tokens/s, learning rate, ETA.

    with TrainProgress(total=100, start=0) as bar:
        bar.update(state, {"loss": 2.3, "lr": 3e-5, "tokens_per_s": 850.0})
"""

from __future__ import annotations

from typing import Any

from ..console import err


class TrainProgress:
    """A rich progress bar, silent on non-main processes. Tokens/s is averaged over the last steps."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True, window: int = 20):
        self.total, self.start, self.enabled, self.window = total, start, enabled, window
        self._recent: list[tuple[int, float]] = []
        self._progress = None

    def __enter__(self) -> "TrainProgress":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]train[/bold] step"), MofNCompleteColumn(), BarColumn(),
                TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[tps]} tok/s"),
                TextColumn("lr {task.fields[lr]}"), TextColumn("ETA"), TimeRemainingColumn(),
                console=err, transient=False)
            self._progress.__enter__()
            self._task = self._progress.add_task("train", total=self.total, completed=self.start,
                                                 loss="-", tps="-", lr="-")
        return self

    def update(self, state: Any, row: dict[str, Any]) -> None:
        if self._progress is None:
            return
        self._recent = (self._recent + [(row["tokens"], row["tokens"] / row["tokens_per_s"]
                                         if row.get("tokens_per_s") else 0.0)])[-self.window:]
        tokens, secs = sum(n for n, _ in self._recent), sum(t for _, t in self._recent)
        self._progress.update(self._task, completed=state.step, loss=f"{row['loss']:.4f}",
                              tps=f"{tokens / secs:,.0f}" if secs else "-", lr=f"{row['lr']:.2e}")

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
