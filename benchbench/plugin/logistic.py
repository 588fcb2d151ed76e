"""Cross-validated L2 logistic regression — scikit-learn's ``LogisticRegressionCV(Cs=10,
cv=KFold(5))`` with lbfgs — fitted for many targets at once, on tensors, on any device; and the
same problem at one C (``LogisticRegression``; with the intercept in the L2 term, the binary
problem of its ``liblinear`` solver), as explicitness fits it (:func:`fit_logistic`).

Why: the downstream task fits one such model per factor at each training size: 5 folds × 10
values of C, then a refit, per factor.  scikit-learn runs these 51 L-BFGS problems one after
another on one core, and on a trained model's codes the many-class factors at large C, nearly
unregularised and ill-conditioned, take its whole 1,000 iterations: over a minute a model at
10,000 labels.  Here every target's fold problems at one C are one batch of tensor operations,
and each L-BFGS step starts from the problem's own Hessian, so those problems converge in tens
of iterations, and a GPU does the batch at once.

The problem is scikit-learn's: the mean log loss (multinomial for three classes or more,
binomial — one coefficient vector — for two) plus ``‖W‖² / (2·C·n)`` with the intercept
unpenalised, in float64; each fold's classes are all of the target's classes; the values of C
are ``logspace(-4, 4, 10)``, fitted in increasing order, each from the previous one's
coefficients; a fold's score is its held-out accuracy; the chosen C maximises the sum of the
fold scores (the first on a tie), and the final model is refitted on every point from the mean
of the folds' coefficients at that C.  Each fit stops as scikit-learn's does: when the largest
gradient entry is at most ``tol``, when the objective's relative decrease falls to 64 machine
epsilons, or after ``max_iter`` iterations.

What differs is the path to the stop: L-BFGS (10 corrections, as SciPy's) whose inverse-Hessian
estimate starts from the exact Hessian (estimated on at most :data:`HESSIAN_ROWS` rows, or over
every row at zero coefficients, where it is a Kronecker product; renewed every :data:`REFRESH`
iterations) rather than a multiple of the identity, with a backtracking
line search where SciPy's L-BFGS-B uses the Moré–Thuente search.  Run to a tight tolerance both
reach the same optimum (tested).  At scikit-learn's 1e-4 a gradient that small still leaves a
flat, nearly unregularised problem some way from its optimum, and where scikit-learn runs out of
iterations it is further still, so the two stop at different points and predictions near class
boundaries can differ: the measured spread, beside scikit-learn's own, is in docs/metrics.md
(``downstream_task``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from benchbench.plugin.linear_svm import LinearFit, finite_codes

MEMORY = 10  # L-BFGS corrections kept (SciPy's default ``maxcor``)
EPSILON = float(np.finfo(np.float64).eps)
FTOL = 64 * EPSILON  # scikit-learn's relative-decrease stop
ARMIJO = 1e-4  # sufficient decrease of the backtracking line search
HESSIAN_ROWS = 1024  # rows a preconditioning Hessian is estimated from
REFRESH = 20  # iterations between exact Hessians, for a fit that starts near its optimum (a path of C)
REFRESH_FROM_ZERO = 4  # for a fit from zero, whose first Hessian is far from the optimum's
MAX_BACKTRACKS = 50  # SciPy's ``maxls`` as scikit-learn sets it
FEW_CLASSES = 8  # targets of at most this many classes share a batch (:func:`_class_count_batches`)
HESSIAN_PAIRS = 1 << 22  # entries (class pairs × rows) of a Hessian's products built at once: 32 MiB


@dataclass
class LogisticFit(LinearFit):
    """One target's fitted logistic regression."""

    C: float  # its value of C (the folds' choice, for a cross-validated one)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (rows, classes): the softmax of the scores, or for two classes the
        logistic of the one score for the second class — scikit-learn's.  Computed class-first
        and returned as a view of that layout: the reductions over classes then run along whole
        rows of memory, ten times faster than over each row's few classes.  The product is
        torch's, on the threads of the fits: numpy's BLAS threads spin on after a product, and
        slowed the next fits by half (docs/performance.md)."""
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        scores = torch.addmm(torch.as_tensor(self.intercept)[:, None], torch.as_tensor(self.coef), x.T).numpy()
        if len(self.classes) == 2:
            p = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.stack([1.0 - p, p]).T
        scores -= scores.max(axis=0)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=0)
        return scores.T


@dataclass
class _Batch:
    """Problems side by side, padded to the most rows and classes: problem ``b`` fits rows
    ``weight[b] > 0`` of ``x[b]`` to their labels; ``open[b, k]`` is 0 for its real classes and
    −∞ for padding; ``free`` marks the coefficients it fits (a two-class problem fixes class 0's
    at zero: the binomial model), ``penalised`` those of them in the L2 term (not intercepts).
    The labels enter only through ``moment`` (:func:`_batch`): their part of the objective and
    of its gradient is linear in the coefficients, so it is summed once, not at every step."""

    x: torch.Tensor  # (B, rows, features + 1), the last column ones
    weight: torch.Tensor  # (B, rows): 1 / (the problem's rows), 0 for padding
    open: torch.Tensor  # (B, classes)
    free: torch.Tensor  # (B, classes, features + 1)
    penalised: torch.Tensor  # (B, classes, features + 1)
    l2: torch.Tensor  # (B,): 1 / (C · rows)
    xw: torch.Tensor  # (B, features + 1, rows): x · weight, features-first: the gradient's product is twice as fast
    moment: torch.Tensor  # (B, classes, features + 1): each class's sum of x · weight over its rows

    def with_c(self, c) -> _Batch:
        """These problems at C = ``c`` (one for all, or one per problem): L2 strength 1 / (C · rows)."""
        rows = (self.weight > 0).sum(dim=1).to(self.weight.dtype)
        return replace(self, l2=1.0 / (torch.as_tensor(c, dtype=rows.dtype, device=rows.device) * rows))

    def take(self, keep: torch.Tensor) -> _Batch:
        return _Batch(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))

    def loss_gradient(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The objective of each problem at coefficients ``w`` (B, classes, features + 1), and its
        gradient: the mean over rows of log Σ_k exp z_k − z_label, from one exponential, plus the
        L2 term."""
        z = self.scores(w, self.x)
        top = z.amax(dim=1, keepdim=True)
        e = z.sub_(top).exp_()
        total = e.sum(dim=1, keepdim=True)
        norm = (top + torch.log(total))[:, 0]
        penalty = (self.penalised * w * w).sum(dim=(1, 2))
        loss = (self.weight * norm).sum(dim=1) - (self.moment * w).sum(dim=(1, 2)) + 0.5 * self.l2 * penalty
        grad = torch.bmm(self.xw, e.div_(total).transpose(1, 2)).transpose(1, 2) - self.moment
        return loss, (grad + self.l2[:, None, None] * self.penalised * w) * self.free

    def scores(self, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The class scores of the rows ``x`` under ``w``, class-first (B, classes, rows): the
        reductions over classes then run along whole rows of memory.  −∞ for padded classes."""
        return torch.baddbmm(self.open[:, :, None], w, x.transpose(1, 2))

    def _hessian_on_rows(self, w: torch.Tensor) -> torch.Tensor:
        """Each problem's (B, P, P) mean of (diag p − p pᵀ) ⊗ x xᵀ at ``w``, over at most
        :data:`HESSIAN_ROWS` evenly spaced rows (:func:`_symmetric_hessian`)."""
        stride = -(-self.x.shape[1] // HESSIAN_ROWS)
        x = self.x[:, ::stride]
        prob = torch.softmax(self.scores(w, x), dim=1)
        weight = self.weight[:, ::stride] * stride
        return torch.stack([_symmetric_hessian(x[i], prob[i], weight[i]) for i in range(len(w))])

    def _hessian_at_zero(self) -> torch.Tensor:
        """The same at zero coefficients, where every row has the same probabilities p (uniform
        over a problem's classes): (diag p − p pᵀ) ⊗ (the weighted mean of x xᵀ), over every row
        at the cost of one (features × features) product — the first Hessian of every fit from zero."""
        p = torch.softmax(self.open, dim=1)
        spread = torch.bmm(self.xw, self.x)
        d = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
        b, k, f = *p.shape, spread.shape[1]
        return (d[:, :, None, :, None] * spread[:, None, :, None, :]).reshape(b, k * f, k * f)

    def hessian_factor(self, w: torch.Tensor) -> torch.Tensor:
        """Cholesky factors of each problem's Hessian at ``w`` (B, P, P), P = classes × (features + 1),
        the step's preconditioner: the mean of (diag p − p pᵀ) ⊗ x xᵀ (:meth:`_hessian_at_zero`
        where ``w`` is zero, else over at most :data:`HESSIAN_ROWS` evenly spaced rows), plus the
        L2 term; fixed coefficients get a unit diagonal, and the one flat direction of a
        multinomial (every intercept moved alike) a unit curvature, so the factor exists and a
        step never moves along it (its gradient is zero)."""
        hess = self._hessian_at_zero() if not bool(w.any()) else self._hessian_on_rows(w)
        k, f = self.free.shape[1:]
        free = self.free.flatten(1)
        hess = hess * free[:, :, None] * free[:, None, :]
        hess += torch.diag_embed(self.l2[:, None] * self.penalised.flatten(1) + (1 - free))
        multinomial = self.free[:, 0, -1] > 0  # class 0 fitted too
        flat = torch.zeros_like(self.free)
        flat[:, :, -1] = ((self.open == 0) & multinomial[:, None]).to(w.dtype)
        flat = flat.flatten(1) / flat.flatten(1).norm(dim=1, keepdim=True).clamp(min=1)
        hess += flat[:, :, None] * flat[:, None, :]
        jitter = 1e-10 * hess.diagonal(dim1=1, dim2=2).mean(1)  # curvature lost below rounding stays positive
        return torch.linalg.cholesky(hess + jitter[:, None, None] * torch.eye(k * f, dtype=w.dtype, device=w.device))


def _pairs(n: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The n(n+1)/2 unordered pairs i ≤ j of n indices (i, j), and each ordered pair's place among them (n, n)."""
    i, j = torch.triu_indices(n, n, device=device)
    place = torch.empty(n, n, dtype=torch.long, device=device)
    place[i, j] = place[j, i] = torch.arange(len(i), device=device)
    return i, j, place


def _symmetric_hessian(x: torch.Tensor, prob: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Σ_r weight_r (diag p_r − p_r p_rᵀ) ⊗ x_r x_rᵀ of one problem (P × P, P = classes ×
    features), from its rows ``x`` and their probabilities ``prob`` (classes, rows).  Both factors
    are symmetric, so each entry is a sum over rows of one class pair's term times one feature
    pair's: a (class pairs × rows)·(rows × feature pairs) product over the unordered pairs only —
    about a quarter of the multiplications of the Kronecker rows' — then spread over the ordered
    ones.  The class pairs go in chunks of at most :data:`HESSIAN_PAIRS` entries."""
    k, f = prob.shape[0], x.shape[1]
    ki, kj, kplace = _pairs(k, x.device)
    fi, fj, fplace = _pairs(f, x.device)
    features = x[:, fi] * x[:, fj]  # (rows, feature pairs)
    wp = prob * weight
    chunk = max(1, HESSIAN_PAIRS // x.shape[0])
    cross = torch.cat([(wp[ki[s : s + chunk]] * prob[kj[s : s + chunk]]) @ features for s in range(0, len(ki), chunk)])
    hess = -cross[kplace][:, :, fplace]  # (K, K, F, F)
    hess.diagonal(dim1=0, dim2=1).add_((wp @ features)[:, fplace].permute(1, 2, 0))  # the diag p term
    return hess.transpose(1, 2).reshape(k * f, k * f)


def _correction(s: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A kept L-BFGS correction (B, P) with its ρ = 1 / (y·s), 0 where y·s ≤ 0 (a problem with
    no correction there, whose zero rows the recursion then skips): ρ is computed once, when
    the correction is made, not at every step that uses it."""
    ys = (y * s).sum(1)
    return s, y, torch.where(ys > 0, 1 / ys, torch.zeros_like(ys))


def _direction(grad: torch.Tensor, corrections: list, factor: torch.Tensor) -> torch.Tensor:
    """The L-BFGS step −H·g by the two-loop recursion over the kept corrections (oldest first,
    :func:`_correction`), flattened (B, P), from the inverse of the Hessian whose Cholesky
    ``factor`` is given."""
    q = -grad
    alpha = []
    for si, yi, ri in reversed(corrections):
        a = ri * (si * q).sum(1)
        q = q - a[:, None] * yi
        alpha.append(a)
    q = torch.cholesky_solve(q[..., None], factor)[..., 0]
    for (si, yi, ri), a in zip(corrections, reversed(alpha)):
        b = ri * (yi * q).sum(1)
        q = q + (a - b)[:, None] * si
    return q


def minimise(
    batch: _Batch, w: torch.Tensor, tol: float, max_iter: int, refresh: int = REFRESH
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the preconditioned L-BFGS on every problem of ``batch`` from ``w`` until each stops
    (see the module's docstring), with an exact Hessian every ``refresh`` iterations; returns
    the coefficients and each problem's iteration count.  A problem that stops leaves the batch,
    so the rest run on smaller tensors."""
    out, iterations = w.clone(), torch.zeros(len(w), dtype=torch.long, device=w.device)
    index = torch.arange(len(w), device=w.device)  # the running problems' places in ``out``
    f, g = batch.loss_gradient(w)
    running = g.abs().flatten(1).amax(1) > tol
    factor, corrections = None, []
    for it in range(max_iter):
        if not bool(running.all()):
            out[index[~running]] = w[~running]
            index, w, f, g, batch = index[running], w[running], f[running], g[running], batch.take(running)
            corrections = [tuple(h[running] for h in kept) for kept in corrections]
            factor = None if factor is None else factor[running]
        if len(index) == 0:
            break
        if it % refresh == 0:  # a fresh Hessian: the corrections start again from it
            factor, corrections = batch.hessian_factor(w), []
        d = _direction(g.flatten(1), corrections, factor).reshape(w.shape)
        new_w, new_f, new_g = _line_search(batch, w, f, (d * g).sum((1, 2)), d)
        iterations[index] += 1
        s, y = (new_w - w).flatten(1), (new_g - g).flatten(1)
        stalled = (f - new_f) <= FTOL * torch.clamp(torch.maximum(f.abs(), new_f.abs()), min=1.0)
        curved = ((s * y).sum(1) > EPSILON * (y * y).sum(1))[:, None]  # L-BFGS-B's test to keep a correction
        corrections = [*corrections, _correction(torch.where(curved, s, 0.0), torch.where(curved, y, 0.0))][-MEMORY:]
        w, f, g = new_w, new_f, new_g
        running = (g.abs().flatten(1).amax(1) > tol) & ~stalled
    out[index] = w
    return out, iterations


def _line_search(batch: _Batch, w, f, slope, d):
    """From the full step along ``d``, backtrack each problem until its objective falls enough
    (Armijo), each retry at the minimum of the quadratic through what is known, kept within
    [0.1, 0.5] of the last step; a problem that finds no such step stays where it is."""
    step = torch.ones_like(f)
    new_w = w + d
    new_f, new_g = batch.loss_gradient(new_w)
    for _ in range(MAX_BACKTRACKS):
        bad = ~(new_f <= f + ARMIJO * step * slope)
        if not bool(bad.any()):
            break
        curve = new_f - f - slope * step
        trial = torch.where(curve > 0, -slope * step * step / (2 * curve), 0.5 * step)
        step = torch.where(bad, torch.clamp(trial, min=0.1 * step, max=0.5 * step), step)
        trial_w = w[bad] + step[bad, None, None] * d[bad]
        new_w[bad] = trial_w
        new_f[bad], new_g[bad] = batch.take(bad).loss_gradient(trial_w)
    failed = ~(new_f <= f + ARMIJO * step * slope)
    if bool(failed.any()):
        new_w[failed], new_f[failed] = w[failed], f[failed]
        new_g[failed] = batch.take(failed).loss_gradient(w[failed])[1]
    return new_w, new_f, new_g


def kfold(n: int, folds: int) -> list[np.ndarray]:
    """The held-out rows of each fold: scikit-learn's ``KFold(folds)`` (contiguous, unshuffled,
    the first ``n % folds`` folds one row longer)."""
    sizes = np.full(folds, n // folds) + (np.arange(folds) < n % folds)
    ends = np.cumsum(sizes)
    return [np.arange(end - size, end) for size, end in zip(sizes, ends)]


def _batch(
    x: np.ndarray, problems: list[tuple[np.ndarray, np.ndarray, int]], c, device, penalise_intercept: bool = False
) -> _Batch:
    """Problems (rows, their class indices, the target's class count) over the codes ``x``, at C =
    ``c``; the intercepts are free of the L2 term unless ``penalise_intercept`` (liblinear's)."""
    rows, classes = max(len(r) for r, _, _ in problems), max(max(k, 2) for _, _, k in problems)
    b, features = len(problems), x.shape[1] + 1
    xs, labels = np.zeros((b, rows, features)), np.zeros((b, rows), dtype=np.int64)
    weight, open_ = np.zeros((b, rows)), np.full((b, classes), -np.inf)
    free = np.zeros((b, classes, features))
    for i, (r, y, k) in enumerate(problems):
        xs[i, : len(r), :-1], xs[i, : len(r), -1] = x[r], 1.0
        labels[i, : len(r)], weight[i, : len(r)] = y, 1.0 / len(r)
        open_[i, :k] = 0.0
        free[i, 1 if k == 2 else 0 : k] = 1.0  # two classes: the binomial model, class 0's scores fixed at 0
    penalised = free.copy()
    if not penalise_intercept:
        penalised[:, :, -1] = 0.0
    as_t = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    xs, labels, weight = as_t(xs), as_t(labels), as_t(weight)
    xw = xs * weight[..., None]
    moment = torch.zeros_like(as_t(free)).scatter_add_(1, labels[..., None].expand(-1, -1, features), xw)
    unset = torch.empty(0)
    xw_first = xw.transpose(1, 2).contiguous()
    return _Batch(xs, weight, as_t(open_), as_t(free), as_t(penalised), unset, xw_first, moment).with_c(c)


def _predict(w: torch.Tensor, x: np.ndarray, classes: int) -> np.ndarray:
    """Class indices of ``x`` under one problem's coefficients (the first largest score)."""
    z = torch.as_tensor(x, device=w.device) @ w[:classes, :-1].T + w[:classes, -1]
    return z.argmax(dim=1).cpu().numpy()


def _class_count_batches(encoded: list[tuple[np.ndarray, np.ndarray]]) -> list[list[int]]:
    """The targets (their classes and indices, ``np.unique``'s) grouped by their number of classes,
    each group a batch, but for those of at most :data:`FEW_CLASSES`, which share one: padding a
    few classes to many costs more than it saves (a problem's Hessian grows with the square of
    its classes), while a step of a batch costs a fixed ~1 ms of calls, more than the arithmetic
    of a problem with a few classes."""
    keys = [max(len(cls), FEW_CLASSES) for cls, _ in encoded]
    return [[t for t, key in enumerate(keys) if key == k] for k in sorted(set(keys))]


def fit_logistic_cv(
    x: np.ndarray, ys: np.ndarray, *, cs: int = 10, folds: int = 5, tol: float = 1e-4, max_iter: int = 1000, device=None
) -> list[LogisticFit]:
    """One cross-validated logistic regression per column of ``ys`` (each with at least two
    classes) on the codes ``x``, the folds of the columns that :func:`_class_count_batches` groups
    fitted together (see the module's docstring)."""
    x = finite_codes(x, "logistic regression")
    encoded = [np.unique(y, return_inverse=True) for y in np.asarray(ys).T]
    device = torch.device(device or "cpu")
    fits: dict[int, LogisticFit] = {}
    for targets in _class_count_batches(encoded):
        fits.update(zip(targets, _fit_cv(x, [encoded[t] for t in targets], cs, folds, tol, max_iter, device)))
    return [fits[t] for t in range(len(encoded))]


def _fit_cv(x: np.ndarray, encoded: list, cs: int, folds: int, tol: float, max_iter: int, device) -> list[LogisticFit]:
    """:func:`fit_logistic_cv` of the targets ``encoded`` (``np.unique``'s classes and indices), all at once."""
    grid = np.logspace(-4, 4, cs)
    held_out = kfold(len(x), folds)
    every = np.arange(len(x))
    problems = [(np.setdiff1d(every, out), inv, len(cls)) for cls, inv in encoded for out in held_out]
    fold_problems = [(r, inv[r], k) for r, inv, k in problems]
    batch = _batch(x, fold_problems, grid[0], device)
    w = torch.zeros_like(batch.free)
    path, scores = [], np.zeros((len(encoded), folds, cs))
    for i, c in enumerate(grid):
        w, _ = minimise(batch.with_c(c), w, tol, max_iter)
        path.append(w)
        for p, (_, inv, k) in enumerate(problems):
            t, f = divmod(p, folds)
            scores[t, f, i] = np.mean(_predict(w[p], x[held_out[f]], k) == inv[held_out[f]])
    best = scores.sum(axis=1).argmax(axis=1)  # the first C of the largest summed accuracy, per target
    chosen = [torch.stack([path[best[t]][t * folds + f] for f in range(folds)]) for t in range(len(encoded))]
    start = torch.stack([fold_coefficients.mean(0) for fold_coefficients in chosen])
    refit = _batch(x, [(every, inv, len(cls)) for cls, inv in encoded], grid[best], device)
    w, _ = minimise(refit, start, tol, max_iter)
    return [_fit(cls, w[t], grid[best[t]]) for t, (cls, _) in enumerate(encoded)]


def fit_logistic(
    x: np.ndarray,
    ys: np.ndarray,
    *,
    C: float = 1.0,
    tol: float = 1e-4,
    max_iter: int = 1000,
    penalise_intercept: bool = False,
    device=None,
) -> list[LogisticFit]:
    """One logistic regression at ``C`` per column of ``ys`` (each with at least two classes) on
    the codes ``x``, all fitted together: scikit-learn's ``LogisticRegression(C=C)`` with lbfgs
    (the problem and stops of the module's docstring), or with ``penalise_intercept`` the
    binary problem of its ``liblinear`` solver (the intercept in the L2 term).  Targets share
    batches as :func:`_class_count_batches` groups them."""
    x = finite_codes(x, "logistic regression")
    encoded = [np.unique(y, return_inverse=True) for y in np.asarray(ys).T]
    if any(len(cls) < 2 for cls, _ in encoded):  # scikit-learn's refusal: nothing to tell apart
        raise ValueError("a logistic regression needs at least two classes in each target; one has a single class")
    every, device = np.arange(len(x)), torch.device(device or "cpu")
    fits: dict[int, LogisticFit] = {}
    for targets in _class_count_batches(encoded):
        batch = _batch(x, [(every, encoded[t][1], len(encoded[t][0])) for t in targets], C, device, penalise_intercept)
        w, _ = minimise(batch, torch.zeros_like(batch.free), tol, max_iter, REFRESH_FROM_ZERO)
        fits.update({t: _fit(encoded[t][0], w[i], C) for i, t in enumerate(targets)})
    return [fits[t] for t in range(len(encoded))]


def _fit(classes: np.ndarray, w: torch.Tensor, c: float) -> LogisticFit:
    """A problem's coefficients as scikit-learn keeps them (one row for two classes)."""
    coefficients = w.cpu().numpy()
    kept = coefficients[1:2] if len(classes) == 2 else coefficients[: len(classes)]
    return LogisticFit(classes, kept[:, :-1].copy(), kept[:, -1].copy(), float(c))


@dataclass
class OneVsRestFit:
    """scikit-learn's ``OneVsRestClassifier`` over binary fits: one per class (a single one for
    two classes)."""

    classes: np.ndarray
    fits: list[LogisticFit]

    def predict(self, x: np.ndarray) -> np.ndarray:
        if len(self.fits) == 1:  # two classes: the one fit's rule picks the second where it says True
            return self.classes[self.fits[0].predict(x).astype(int)]
        scores = np.stack([f.decision_function(x)[:, 0] for f in self.fits], axis=1)
        last = scores.shape[1] - 1 - scores[:, ::-1].argmax(axis=1)  # scikit-learn keeps the last of equal maxima
        return self.classes[last]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Each class's fit's probability of its class, normalised over the classes (for two
        classes the one fit's) — scikit-learn's."""
        if len(self.fits) == 1:
            return self.fits[0].predict_proba(x)
        p = np.stack([f.predict_proba(x)[:, 1] for f in self.fits], axis=1)
        return p / p.sum(axis=1, keepdims=True)


def fit_one_vs_rest(x: np.ndarray, ys: np.ndarray, fit=fit_logistic, **options) -> list[OneVsRestFit]:
    """``fit`` (:func:`fit_logistic`, or :func:`fit_logistic_cv`) of one class against the rest,
    for each column of ``ys``, every binary problem of every column fitted together."""
    classes = [np.unique(y) for y in np.asarray(ys).T]
    columns = [[y == c for c in cls] if len(cls) > 2 else [y == cls[1]] for y, cls in zip(np.asarray(ys).T, classes)]
    fits = iter(fit(x, np.stack([c for cols in columns for c in cols], axis=1), **options))
    return [OneVsRestFit(cls, [next(fits) for _ in cols]) for cls, cols in zip(classes, columns)]


def fit_one_vs_rest_cv(x: np.ndarray, ys: np.ndarray, **options) -> list[OneVsRestFit]:
    """:func:`fit_logistic_cv` one class against the rest (:func:`fit_one_vs_rest`)."""
    return fit_one_vs_rest(x, ys, fit_logistic_cv, **options)
