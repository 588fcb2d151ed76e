"""scikit-learn's ``LinearSVC`` (squared hinge, L2, one-vs-rest, liblinear's penalised intercept)
on a single feature, fitted for every feature and target at once, exactly.

Why: the SAP score fits one such classifier per latent and factor — on dSprites' codes 10 × 5
classifiers of 1 to 40 binary problems, 1,130 problems in all — and scikit-learn runs them one
after another.  With one feature a problem has two coefficients, the slope ``a`` and the
intercept ``b``, and the rows inside its margin are a run of the rows sorted by the feature: a
positive row is inside where ``a·x + b < 1``, a negative one where ``a·x + b > −1``, each a
threshold on x.  So with the rows of each latent (and of each class) sorted once and their
running sums of (1, x, x²) kept, the objective's gradient and Hessian at any (a, b) are a few
binary searches, and Newton's method, which minimises this piecewise quadratic in a few steps,
runs on every problem at once at no cost proportional to the rows.

The problem is liblinear's, read from scikit-learn's copy of it (``linear.cpp``: ``train`` and
``l2r_l2_svc_fun``): the intercept is the weight of a constant feature 1 (``intercept_scaling =
1``) and is penalised like the slope, and each binary problem minimises
``½(a² + b²) + Σᵢ Cᵢ max(0, 1 − yᵢ(a·xᵢ + b))²`` with yᵢ = ±1.  Classes are the sorted values
seen.  With more than two, class k's problem gives its own rows ``C · weight_k`` and every other
row plain ``C`` (liblinear weights only the positive side); with two, one problem, the second
class positive, each side with its own class's ``C · weight``.  ``class_weight="balanced"``
weighs class k by ``rows / (classes · count_k)``.  A prediction is the class of the largest
score, the first on a tie; with two classes, the second where the score is positive.

Where it differs from scikit-learn is only where each stops: liblinear's primal Newton solver
stops at a relative gradient tolerance of 1e-4, this one at the minimum itself (a gradient
1e-10 of its first), so a point whose score is within that tolerance of a class boundary can be
classified differently (the measured effect is in docs/metrics.md, ``sap``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

MAX_NEWTON = 100  # steps; a piecewise quadratic in two coefficients needs far fewer
GRAD_TOL = 1e-10  # the minimum: every gradient entry this small, relative to the start's
MAX_SEARCH = 60  # regula falsi steps of one line search
WOLFE = 0.1  # a line search stops where the slope is this small a part of its start's


@dataclass
class LinearFit:
    """A fitted linear classifier for one target as scikit-learn holds one (``LinearSVC``, and
    :class:`~benchbench.plugin.logistic.LogisticFit` for a logistic regression)."""

    classes: np.ndarray  # the sorted class values seen in training
    coef: np.ndarray  # (classes, features), or (1, features) for two classes, as scikit-learn's ``coef_``
    intercept: np.ndarray  # (classes,) or (1,)

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ self.coef.T + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The class of the largest score (the first on a tie), or for two classes the second class
        where the score is positive — scikit-learn's rule."""
        scores = self.decision_function(x)
        if len(self.classes) == 2:
            return self.classes[(scores[:, 0] > 0).astype(int)]
        return self.classes[scores.argmax(axis=1)]


def finite_codes(x: np.ndarray, solver: str) -> np.ndarray:
    """``x`` as float64, refused as scikit-learn refuses it where it holds NaN or infinity: a NaN
    has no place in sorted rows, and stops a logistic fit at its start, silently."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{solver}: the codes contain NaN or infinity")
    return x


def _running(values: torch.Tensor) -> torch.Tensor:
    """Running sums (G, L + 1, 3) of (1, x, x²) along each row of ``values`` (G, L)."""
    powers = torch.stack([torch.ones_like(values), values, values * values], dim=-1)
    return torch.cat([torch.zeros_like(powers[:, :1]), torch.cumsum(powers, dim=1)], dim=1)


def _between(cum: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Sums (G, M, 3) of the rows at places [lo, hi) (G, M) of running sums ``cum`` (G, L + 1, 3)."""
    at = lambda i: torch.gather(cum, 1, i[..., None].expand(*i.shape, 3))  # noqa: E731
    return at(hi) - at(lo)


class _Problems:
    """The binary problems of every target on every feature (G features × M problems), each
    the rows of one class (its positives) against the rest.  Rows are ranked by each feature;
    the rows inside a problem's margin are a range of ranks, and the sums over them come from
    running sums: of every row in rank order, and of every class's rows grouped by class (key
    class × (N + 1) + rank), so no per-problem copy of the rows is made."""

    def __init__(self, x: torch.Tensor, classes: torch.Tensor, positives: torch.Tensor, cp, cn):
        """``x`` (G, N); ``classes`` (N, T): each row's class per target, numbered across targets;
        ``positives`` (M,): each problem's class; ``cp``, ``cn`` (M,): its positives' and negatives' C."""
        self.xs, order = torch.sort(x, dim=1)
        n = x.shape[1]
        self.every = _running(self.xs)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(n, device=x.device).expand_as(order))
        keys = (classes.T[None] * (n + 1) + rank[:, None, :]).flatten(1)  # (G, T·N)
        self.keys, grouped = torch.sort(keys, dim=1)
        self.grouped = _running(torch.gather(x.repeat(1, classes.shape[1]), 1, grouped))
        self.base = (positives * (n + 1))[None, :]
        self.cp, self.cn = cp[None, :, None], cn[None, :, None]

    def _inside(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sums over the rows where ``a·x + b < 1`` (G, M, 3): of every row, and of the problem's
        positives.  A negative row is inside where ``(−a)·x + (−b) < 1``."""
        n = self.xs.shape[1]
        thr = ((1 - b) / torch.where(a == 0, 1.0, a)).contiguous()
        below = torch.searchsorted(self.xs, thr)  # rows with x < thr: ranks [0, below)
        above = torch.searchsorted(self.xs, thr, right=True)  # rows with x > thr: ranks [above, n)
        every_row = torch.where(b < 1, n, 0)  # a = 0
        lo = torch.where(a < 0, above, 0)
        hi = torch.where(a > 0, below, torch.where(a < 0, n, every_row))
        key = lambda r: torch.searchsorted(self.keys, (self.base + r).contiguous())  # noqa: E731
        return _between(self.every, lo, hi), _between(self.grouped, key(lo), key(hi))

    def gradient_hessian(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """At coefficients w (G, M, 2) = (a, b): the gradient (G, M, 2), the Hessian (G, M, 2, 2)
        and the right side (G, M, 2) of the quadratic that holds where the rows inside stay."""
        a, b = w[..., 0], w[..., 1]
        pos = self.cp * self._inside(a, b)[1]
        every, own = self._inside(-a, -b)
        neg = self.cn * (every - own)
        s = pos + neg  # cost-weighted (count, Σx, Σx²) of the rows inside
        rows = [torch.stack([s[..., 2], s[..., 1]], -1), torch.stack([s[..., 1], s[..., 0]], -1)]
        hessian = 2 * torch.stack(rows, -2) + torch.eye(2, dtype=w.dtype, device=w.device)
        target = 2 * torch.stack([pos[..., 1] - neg[..., 1], pos[..., 0] - neg[..., 0]], -1)
        return (hessian @ w[..., None])[..., 0] - target, hessian, target


def _line_minimum(problems: _Problems, w: torch.Tensor, d: torch.Tensor, slope0: torch.Tensor) -> torch.Tensor:
    """A step t ∈ (0, 1] along ``d`` from ``w`` for each problem: 1 where the objective still
    falls there, else where its slope φ'(t) = ∇f(w + t d)·d — piecewise linear and increasing —
    has come within :data:`WOLFE` of zero from φ'(0) = ``slope0`` < 0 (the strong Wolfe
    condition), by the Illinois regula falsi.  Slopes, not objective values: near the minimum
    the decrease is below the objective's rounding."""

    def slope(t):
        return (problems.gradient_hessian(w + t[..., None] * d)[0] * d).sum(-1)

    lo, hi = torch.zeros_like(slope0), torch.ones_like(slope0)
    s_lo, s_hi = slope0, slope(hi)
    open_ = s_hi > 0
    t = hi.clone()
    for _ in range(MAX_SEARCH):
        if not bool(open_.any()):
            break
        t = torch.where(open_, lo - s_lo * (hi - lo) / (s_hi - s_lo), t)
        s_t = slope(t)
        right = s_t > 0
        open_ = open_ & (s_t.abs() > WOLFE * slope0.abs()) & (hi - lo > 1e-15)
        s_lo, lo = torch.where(right, s_lo / 2, s_t), torch.where(right, lo, t)  # Illinois: halve the end kept
        s_hi, hi = torch.where(right, s_t, s_hi / 2), torch.where(right, t, hi)
    return t


def minimise(problems: _Problems, shape: tuple[int, int], dtype, device) -> torch.Tensor:
    """Every problem's minimiser (G, M, 2): Newton's method — the minimum of the quadratic that
    holds at w gives the direction, searched exactly — until each gradient has fallen below
    :data:`GRAD_TOL` of where it started."""
    w = torch.zeros(*shape, 2, dtype=dtype, device=device)
    start = None
    for _ in range(MAX_NEWTON):
        grad, hessian, target = problems.gradient_hessian(w)
        size = grad.abs().amax(-1)
        start = size if start is None else start
        done = size <= GRAD_TOL * start
        if bool(done.all()):
            break
        d = torch.where(done[..., None], 0.0, torch.linalg.solve(hessian, target) - w)
        t = _line_minimum(problems, w, d, torch.where(done, -1.0, (grad * d).sum(-1)))
        w = w + t[..., None] * d
    return w


def fit_one_feature_svc(
    x: np.ndarray, ys: np.ndarray, *, C: float = 1.0, class_weight: str | None = None, device=None
) -> list[list[LinearFit]]:
    """``LinearSVC(C=C, class_weight=class_weight)`` fitted on each column of ``x`` (N, G) alone
    for each column of ``ys`` (N, T): ``fits[g][t]``, a one-feature classifier (it scores ``x[:, g:g+1]``;
    see the module's docstring)."""
    x = finite_codes(x, "linear SVM")
    device = torch.device(device or "cpu")
    columns, positives, cp, cn, first = [], [], [], [], 0
    for y in np.asarray(ys).T:
        classes, index, counts = np.unique(y, return_inverse=True, return_counts=True)
        if len(classes) < 2:  # scikit-learn's refusal: nothing to tell apart
            raise ValueError("a linear SVM needs at least two classes in each target; one has a single class")
        weight = C * (len(y) / (len(classes) * counts) if class_weight == "balanced" else np.ones(len(classes)))
        if len(classes) == 2:  # one problem: the second class positive, each side its own class's cost
            positives.append([first + 1]), cp.append(weight[1:]), cn.append(weight[:1])
        else:  # one per class: its rows at their class's cost, every other row at plain C
            positives.append(first + np.arange(len(classes))), cp.append(weight), cn.append(np.full(len(classes), C))
        columns.append((classes, first + index))
        first += len(classes)
    as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), device=device)  # noqa: E731
    problems = _Problems(
        as_t(x.T),
        as_t(np.stack([index for _, index in columns], axis=1)),
        *(as_t(np.concatenate(p)) for p in (positives, cp, cn)),
    )
    w = minimise(problems, (x.shape[1], sum(map(len, positives))), torch.float64, device).cpu().numpy()
    ends = np.cumsum([len(p) for p in positives])[:-1]
    return [
        [LinearFit(cls, c[:, :1].copy(), c[:, 1].copy()) for c, (cls, _) in zip(np.split(feature, ends), columns)]
        for feature in w
    ]
