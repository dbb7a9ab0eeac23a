"""Training a fused group: N trials in lockstep, one batched step for all, events per trial.

Every epoch each trial draws its own batch order from its own generator (as alone), so trial k's
batch t is ``x_train[order_k[t*B:(t+1)*B]]``; one forward, backward and optimizer step serve all
N. At the epoch's end each trial is evaluated and gets its ``EpochEnded``; a trial whose loss
became NaN or infinite ends ``diverged`` and a trial at the end of its segment ends with its own
``SegmentEnded`` (its ``TrainState`` in the unfused layout); both leave the group and the rest
train on, unchanged (nothing mixes trials: each one's rows of every batched op are its own).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from hpsearch.runs.records import EpochMetrics, TrialStatus
from hpsearch.training.fused import masks
from hpsearch.training.fused.compat import bucket_width
from hpsearch.training.fused.dropout import ChunkedDropout
from hpsearch.training.fused.members import Member, new_member
from hpsearch.training.fused.model import FusedMLP
from hpsearch.training.fused.optim import FusedOptimizer
from hpsearch.training.segments import EpochEnded, Event, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData, _fast_matmul, epoch_batches

EVAL_ROWS = 2048  # evaluation rows per batched forward (fixed, so a trial's figures do not depend on its group's size)


class FusedGroup:
    """Segments of compatible trials (equal ``fusion_key``) trained as one batched model."""

    def __init__(self, segments: list[Segment], data: DeviceData) -> None:
        self.data, self.device = data, data.x_train.device
        h = segments[0].trial.hyperparameters
        self.batch_size, self.batchnorm = h["batch_size"], h["batchnorm"]
        self.members: list[Member] = [new_member(s, data.input_dim, data.num_classes, self.device) for s in segments]
        layers = h["layers"]
        widths = [m.h["hidden_units"] if layers else 1 for m in self.members]
        padded = max(bucket_width(w) for w in widths)
        self.model = FusedMLP(widths, padded, layers, data.input_dim, data.num_classes, self.batchnorm, h["activation"],
                              [m.h["dropout"] for m in self.members], self.device, data.x_train.dtype)
        self.optimizer = FusedOptimizer(h["optimizer"], self.model.params, [m.h for m in self.members],
                                        [m.param_groups for m in self.members])
        for k, m in enumerate(self.members):
            start = m.segment.start
            self.model.load_state_dict(k, m.initial if start is None else start.model)
            if start is not None:
                self.optimizer.load_state_dict(k, start.optimizer)
            m.initial = None

    def train(self) -> Iterator[Event]:
        with _fast_matmul(self.device):
            yield from self._leave(None)  # a segment with nothing left to train
            while self.members:
                began = time.perf_counter()
                self.optimizer.lrs = [m.h["lr"] / (1 + m.h["lr_decay"] * m.epoch) for m in self.members]
                running = self._train_epoch()
                evaluated = time.perf_counter()
                figures = self._evaluate()
                done = time.perf_counter()
                share, eval_share = (done - began) / len(self.members), (done - evaluated) / len(self.members)
                for k, m in enumerate(self.members):
                    t_loss, t_acc, v_loss, v_acc = figures[k]
                    metrics = EpochMetrics(m.epoch + 1, self.optimizer.lrs[k], _finite(t_loss), t_acc, _finite(v_loss), v_acc,
                                           share, eval_share)
                    m.epochs.append(metrics)
                    m.seconds += share
                    if v_acc > m.best.value:
                        m.best.value, m.best.weights = v_acc, self.model.state_dict(k)
                    yield EpochEnded(m.trial_id, metrics)
                yield from self._leave(running)

    def _leave(self, running: list[float] | None) -> Iterator[Event]:
        """End the segments of members that diverged (``running``: this epoch's training losses)
        or reached their segment's end; the others stay in the group."""
        stay: list[int] = []
        for k, m in enumerate(self.members):
            diverged = running is not None and _diverged(running[k], m)
            if not (diverged or m.epoch >= m.segment.until):
                stay.append(k)
                continue
            size = sum(math.prod(slot.true(k)) for slot in self.model.params)
            if diverged:
                yield SegmentEnded(m.trial_id, TrialStatus.DIVERGED, m.seconds, size,
                                   error=f"training loss became {running[k]} in epoch {m.epoch}", best_weights=m.best.cpu_weights())
                continue
            state = None
            if m.segment.keep_state:
                state = m.train_state(self.model.state_dict(k), self.optimizer.state_dict(k), self.device)
            yield SegmentEnded(m.trial_id, TrialStatus.COMPLETED, m.seconds, size, state=state, best_weights=m.best.cpu_weights())
        if len(stay) < len(self.members):
            self.members = [self.members[k] for k in stay]
            if stay:
                self.model.keep(stay)
                self.optimizer.params = self.model.params
                self.optimizer.keep(stay)

    def _noise(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """Dropout multipliers, step by step (where ``ChunkedDropout`` cannot draw ahead): trial k's
        from its own stream, a Bernoulli(1 - p) mask of its true width divided by 1 - p (what
        ``nn.Dropout`` draws); 1 where p is 0."""
        noise = torch.ones(x.shape, dtype=x.dtype, device=x.device)
        for k, m in enumerate(self.members):
            p, width = self.model.dropouts[k], self.model.widths[k]
            if p > 0:
                noise[k, :, :width].bernoulli_(1 - p, generator=m.dropout)
        keep = torch.tensor([1 - p for p in self.model.dropouts], dtype=x.dtype, device=x.device)
        return noise.div_(keep.view(-1, 1, 1))

    def _train_epoch(self) -> list[float]:
        """One pass over the training split for every member; their mean training losses."""
        data, n, size = self.data, len(self.data.y_train), len(self.members)
        order = torch.stack([torch.randperm(n, device=self.device, generator=m.order) for m in self.members])
        batches = epoch_batches(n, self.batch_size, self.batchnorm)
        noise: Callable[[int, torch.Tensor], torch.Tensor] | None = None
        if any(p > 0 for p in self.model.dropouts):
            noise = self._noise
            if self.device.type == "cpu" and masks.exact():  # this epoch's masks, drawn a run of steps at a time
                noise = ChunkedDropout([m.dropout for m in self.members], self.model.dropouts, self.model.widths,
                                       self.model.padded, self.model.layers, data.x_train.dtype, batches)
        advance = noise.advance if isinstance(noise, ChunkedDropout) else lambda: None
        losses: list[torch.Tensor] = []
        for step, batch in enumerate(batches):
            rows = order[:, step * self.batch_size : step * self.batch_size + batch]
            advance()
            flat = rows.reshape(-1)  # index_select: one gather of whole rows, faster than advanced indexing
            x = torch.index_select(data.x_train, 0, flat).view(size, batch, *data.x_train.shape[1:])
            logits = self.model.forward(x, True, noise)
            loss = F.cross_entropy(logits.reshape(size * batch, -1), torch.index_select(data.y_train, 0, flat), reduction="none")
            per_trial = loss.view(size, batch).mean(1)
            self.optimizer.zero_grad()
            per_trial.sum().backward()
            self.optimizer.step()
            losses.append(per_trial.detach())
        if not losses:
            return [0.0] * size
        weights = torch.tensor(batches, device=self.device, dtype=losses[0].dtype)
        return ((torch.stack(losses) * weights[:, None]).sum(0) / n).tolist()

    def _evaluate(self) -> list[tuple[float, float, float, float]]:
        """Per member (train_loss, train_acc, val_loss, val_acc) in eval mode, one read from the device."""
        data, size = self.data, len(self.members)
        totals = torch.zeros(2, 2, size, device=self.device)
        with torch.inference_mode():
            for which, (x, y) in enumerate(((data.x_train_eval, data.y_train_eval), (data.x_val, data.y_val))):
                for start in range(0, len(y), EVAL_ROWS):
                    rows, target = x[start : start + EVAL_ROWS], y[start : start + EVAL_ROWS]
                    logits = self.model.forward(rows.expand(size, *rows.shape), False)
                    loss = F.cross_entropy(logits.reshape(size * len(target), -1), target.repeat(size), reduction="none")
                    # one sum per trial: a batched row sum's order can depend on the number of rows
                    totals[which, 0] += torch.stack([row.sum() for row in loss.view(size, len(target))]).float()
                    totals[which, 1] += (logits.argmax(dim=2) == target).sum(1).float()
        t_loss, t_correct, v_loss, v_correct = totals.view(4, size).tolist()
        n_train, n_val = len(data.y_train_eval), len(data.y_val)
        return [(t_loss[k] / n_train, t_correct[k] / n_train, v_loss[k] / n_val, v_correct[k] / n_val) for k in range(size)]


def _diverged(running: float, member: Member) -> bool:
    return not (math.isfinite(running) and member.epochs[-1].train_loss is not None)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
