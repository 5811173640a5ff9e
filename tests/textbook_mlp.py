"""The floor for the loops backend: an MLP training step as a textbook writes it in pure Python.

Lists of lists, nested index loops, one accumulator per output, the SGD update in place. No
vecbench code: it is what ``loops`` must be at least as fast as (issue 13), and an independent
check of what ``loops`` computes (tests/test_textbook_floor.py). relu hidden layers, softmax
cross-entropy, SGD with momentum and no weight decay, as ``architectures.mlp`` with its defaults.
"""

from __future__ import annotations

from math import exp, log


class TextbookMLP:
    """``weights[l][j][i]`` (out, in) and ``biases[l][j]`` per layer, as lists; a batch is a list of rows."""

    def __init__(self, weights: list[list[list[float]]], biases: list[list[float]], lr: float = 0.01,
                 momentum: float = 0.9):
        self.weights = [[list(row) for row in w] for w in weights]
        self.biases = [list(b) for b in biases]
        self.lr, self.momentum = lr, momentum
        self.w_velocity = [[[0.0] * len(row) for row in w] for w in self.weights]
        self.b_velocity = [[0.0] * len(b) for b in self.biases]

    def step(self, x: list[list[float]], labels: list[int]) -> float:
        """One forward, loss, backward and SGD update; returns the batch's mean loss."""
        n = len(x)
        layers = len(self.weights)
        activations = [x]
        for l in range(layers):
            w, b, h = self.weights[l], self.biases[l], activations[-1]
            out = []
            for s in range(n):
                row = []
                for j in range(len(w)):
                    total = b[j]
                    for i in range(len(h[s])):
                        total += w[j][i] * h[s][i]
                    if l < layers - 1 and total < 0.0:
                        total = 0.0
                    row.append(total)
                out.append(row)
            activations.append(out)

        loss = 0.0
        grad = []
        for s in range(n):
            logits = activations[-1][s]
            peak = max(logits)
            exps = [exp(v - peak) for v in logits]
            norm = sum(exps)
            loss += log(norm) + peak - logits[labels[s]]
            row = [e / norm / n for e in exps]
            row[labels[s]] -= 1.0 / n
            grad.append(row)

        for l in range(layers - 1, -1, -1):
            w, h = self.weights[l], activations[l]
            fan_out, fan_in = len(w), len(w[0])
            dw = [[0.0] * fan_in for _ in range(fan_out)]
            db = [0.0] * fan_out
            for j in range(fan_out):
                for i in range(fan_in):
                    total = 0.0
                    for s in range(n):
                        total += grad[s][j] * h[s][i]
                    dw[j][i] = total
                for s in range(n):
                    db[j] += grad[s][j]
            if l > 0:
                below = []
                for s in range(n):
                    row = []
                    for i in range(fan_in):
                        total = 0.0
                        for j in range(fan_out):
                            total += grad[s][j] * w[j][i]
                        row.append(total if h[s][i] > 0.0 else 0.0)  # relu's gradient
                    below.append(row)
            for j in range(fan_out):
                v_row, w_row = self.w_velocity[l][j], w[j]
                for i in range(fan_in):
                    v_row[i] = self.momentum * v_row[i] + dw[j][i]
                    w_row[i] -= self.lr * v_row[i]
                self.b_velocity[l][j] = self.momentum * self.b_velocity[l][j] + db[j]
                self.biases[l][j] -= self.lr * self.b_velocity[l][j]
            if l > 0:
                grad = below
        return loss / n
