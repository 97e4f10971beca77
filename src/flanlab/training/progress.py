"""Training progress on stderr: step, loss, tokens/s, learning rate, ETA.

    with TrainProgress(total=100, start=0) as bar:
        bar.update(state, {"loss": 2.3, "lr": 3e-5, "tokens_per_s": 850.0, "tokens": 4096})

On a terminal a live rich bar; otherwise (a batch job, stderr to a file) a plain line every
FLANLAB_PROGRESS_INTERVAL seconds (default 30) and one at the last step:

    train step 120/30000 loss 1.2345 tokens/s 8,410 lr 3.00e-05 ETA 2:41:07
"""

from __future__ import annotations

import time
from typing import Any

from ..console import Ticker, err, fmt_eta, plain, plain_progress


class TrainProgress:
    """A rich progress bar or plain lines, silent on non-main processes. Tokens/s is averaged over the last steps."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True, window: int = 20):
        self.total, self.start, self.enabled, self.window = total, start, enabled, window
        self._recent: list[tuple[int, float]] = []
        self._progress = None
        self._ticker: Ticker | None = None
        self._t0 = time.monotonic()

    def __enter__(self) -> "TrainProgress":
        if self.enabled and plain_progress():
            self._ticker = Ticker()
            self._ticker.due()  # the first line comes after one interval (or at the last step)
        elif self.enabled:
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
        if self._progress is None and self._ticker is None:
            return
        self._recent = (self._recent + [(row["tokens"], row["tokens"] / row["tokens_per_s"]
                                         if row.get("tokens_per_s") else 0.0)])[-self.window:]
        tokens, secs = sum(n for n, _ in self._recent), sum(t for _, t in self._recent)
        tps = f"{tokens / secs:,.0f}" if secs else "-"
        if self._ticker is not None:
            if self._ticker.due() or state.step >= self.total:
                done = state.step - self.start
                eta = (time.monotonic() - self._t0) / done * (self.total - state.step) if done else None
                plain(f"train step {state.step}/{self.total} loss {row['loss']:.4f} tokens/s {tps} "
                      f"lr {row['lr']:.2e} ETA {fmt_eta(eta)}")
            return
        self._progress.update(self._task, completed=state.step, loss=f"{row['loss']:.4f}", tps=tps,
                              lr=f"{row['lr']:.2e}")

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
