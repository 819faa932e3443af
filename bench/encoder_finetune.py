"""Does fine-tuning MiniLM's top layers on the project's labels help out of source? (issue 10; a one-off experiment)

Usage: .venv/bin/python bench/encoder_finetune.py [--frozen-layers 4] [--epochs 2]   (needs ../shared/data; about 2 h on 2 cores)

The lower layers stay frozen and their outputs are cached; the top layers train end to end with a three-axis logistic
head (class-weighted, masked where a label is unknown) on the seed, a random half of the arXiv-sample labels and the
title labels (not the lists' titles, so the newsletter and the bibliography stay unseen). The frozen and the tuned
vectors then each train plain logistic regression and the shipped design (bench/loso.py), scored on the other arXiv
half and on the two lists. Prints AUROC (share of positives found at a 5% false-positive rate) per case.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loso  # noqa: E402
from bench.report import SHARED_DATA  # noqa: E402

MAX_TOKENS = 256  # the bundled model's limit, as the product embeds


def _half(source: loso.Source, keep: np.ndarray, name: str) -> loso.Source:
    assert source.texts is not None and source.word_rows is not None
    return replace(
        source, name=name, vectors=source.vectors[keep], labels=source.labels[keep], groups=source.groups[keep],
        evaluate=source.evaluate[keep], texts=[t for t, k in zip(source.texts, keep) if k], word_rows=source.word_rows[keep],
    )


class Encoder:
    """MiniLM split at `frozen` layers: `lower` once per text (cached), `upper` trained and run per batch."""

    def __init__(self, frozen: int):
        from transformers import AutoModel, AutoTokenizer

        from models.embedders import bundled_model_path

        path = str(bundled_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
        self.frozen = frozen

    @staticmethod
    def _mask(attention):
        import torch

        return (1.0 - attention[:, None, None, :].float()) * torch.finfo(torch.float32).min

    def _layers(self, hidden, attention, layers):
        mask = self._mask(attention)
        for layer in layers:
            hidden = layer(hidden, attention_mask=mask)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        return hidden

    def lower(self, texts: list[str], batch: int = 64) -> list:
        """Each text's hidden states after the frozen layers (float16, padding cut off)."""
        import torch

        out: list = [None] * len(texts)
        order = np.argsort([len(t) for t in texts])
        with torch.no_grad():
            for i in range(0, len(texts), batch):
                idx = order[i:i + batch]
                enc = self.tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
                hidden = self.model.embeddings(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"])
                hidden = self._layers(hidden, enc["attention_mask"], self.model.encoder.layer[:self.frozen])
                for row, j in enumerate(idx):
                    out[j] = hidden[row, :int(enc["attention_mask"][row].sum())].half().clone()
        return out

    def upper(self, cached: list):
        """The trained layers on a batch of cached states, mean-pooled and normalised as sentence-transformers does."""
        import torch

        length = max(h.shape[0] for h in cached)
        hidden, attention = torch.zeros(len(cached), length, cached[0].shape[1]), torch.zeros(len(cached), length)
        for i, h in enumerate(cached):
            hidden[i, :h.shape[0]], attention[i, :h.shape[0]] = h.float(), 1
        hidden = self._layers(hidden, attention, self.model.encoder.layer[self.frozen:])
        pooled = (hidden * attention[..., None]).sum(1) / attention.sum(1, keepdim=True)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def vectors(self, cached: list, batch: int = 128) -> np.ndarray:
        import torch

        order = np.argsort([h.shape[0] for h in cached])
        out = np.zeros((len(cached), cached[0].shape[1]), np.float32)
        with torch.no_grad():
            for i in range(0, len(cached), batch):
                idx = order[i:i + batch]
                out[idx] = self.upper([cached[j] for j in idx]).numpy()
        return out

    def fine_tune(self, cached: list, labels: np.ndarray, epochs: int, rng: np.random.Generator, batch: int = 32):
        """Train the upper layers with a logistic head per axis; returns the head."""
        import torch

        head = torch.nn.Linear(cached[0].shape[1], labels.shape[1])
        layers = self.model.encoder.layer[self.frozen:]
        optimiser = torch.optim.AdamW(
            [{"params": [p for layer in layers for p in layer.parameters()], "lr": 3e-5}, {"params": head.parameters(), "lr": 1e-3}],
            weight_decay=0.01,
        )
        y = torch.tensor(labels)
        known = ~torch.isnan(y)
        positives = torch.nansum(y, 0)
        balance = (known.sum(0) - positives) / positives
        layers.train()
        for epoch in range(epochs):
            started, total = time.perf_counter(), 0.0
            order = rng.permutation(len(cached))
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                logits = head(self.upper([cached[j] for j in idx]) * 10)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.nan_to_num(y[idx]), pos_weight=balance, reduction="none")
                loss = (loss * known[idx]).sum() / known[idx].sum().clamp(min=1)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += loss.item()
            print(f"epoch {epoch}: loss {total / (len(order) / batch):.3f}, {time.perf_counter() - started:.0f} s", flush=True)
        layers.eval()
        return head


def _report(name: str, label: str, y: np.ndarray, scores: np.ndarray) -> None:
    from sklearn.metrics import roc_auc_score

    for h, axis in enumerate(loso.AXES):
        known = ~np.isnan(y[:, h]) & ~np.isnan(scores[:, h])
        target = y[known, h]
        if known.sum() >= 10 and target.min() != target.max():
            print(f"{name} | {label} | {axis} | {roc_auc_score(target, scores[known, h]):.3f} ({loso.tpr_at_fpr(target, scores[known, h]):.2f})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frozen-layers", type=int, default=4, help="lower layers kept frozen, of 6 (default 4)")
    parser.add_argument("--epochs", type=int, default=2, help="passes over the training texts (default 2)")
    args = parser.parse_args()
    if not SHARED_DATA.is_dir():
        print(f"skipped: {SHARED_DATA} is not available (the benchmark needs the shared data sets)")
        return 0
    import torch

    torch.set_num_threads(2)
    seed, arxiv, titles, _lists, newsletter, bibliography = loso.load_sources()
    rng = np.random.default_rng(0)
    items = np.unique(arxiv.groups)
    first_half = np.isin(arxiv.groups, rng.choice(items, len(items) // 2, replace=False))
    train = [seed, _half(arxiv, first_half, "arXiv A"), titles]
    splits = {held.name: loso._split(train, held) for held in (_half(arxiv, ~first_half, "arXiv B"), newsletter, bibliography)}

    encoder = Encoder(args.frozen_layers)
    train_cache = encoder.lower([t for s in train for t in s.texts or []])
    test_cache = {name: encoder.lower(split.test_texts) for name, split in splits.items()}
    frozen = encoder.vectors(train_cache), {name: encoder.vectors(c) for name, c in test_cache.items()}
    shipped = np.concatenate([s.vectors for s in train])
    print(f"untuned pipeline against the shipped vectors: lowest cosine {float((frozen[0] * shipped).sum(1).min()):.5f}", flush=True)

    head = encoder.fine_tune(train_cache, np.concatenate([s.labels[:, : len(loso.AXES)] for s in train]), args.epochs, rng)
    tuned = encoder.vectors(train_cache), {name: encoder.vectors(c) for name, c in test_cache.items()}
    for name, split in splits.items():
        for label, (train_x, test_x) in (("frozen", frozen), ("tuned", tuned)):
            for design in ("logreg C=1", loso.SHIPPED):
                _report(name, f"{label}, {design}", split.test_y, loso.DESIGNS[design](replace(split, x=train_x, test_x=test_x[name])))
        with torch.no_grad():
            _report(name, "the tuned head alone", split.test_y, head(torch.tensor(tuned[1][name]) * 10).numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
