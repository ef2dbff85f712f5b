"""Are an expert's action chunks multimodal? Held-out likelihood under one diagonal Gaussian
against a mixture with one diagonal Gaussian per expert mode (shared by the expert tests)."""

import numpy as np


def diag_gaussian_loglik(mu: np.ndarray, var: np.ndarray, x: np.ndarray) -> np.ndarray:
    var = var + 1e-4
    return (-0.5 * ((x - mu) ** 2 / var + np.log(2 * np.pi * var))).sum(-1)


def mixture_vs_single(chunks: np.ndarray, modes: np.ndarray, pooled_variance: bool) -> tuple[float, float]:
    """Mean held-out log-likelihood (nats per chunk) of the mixture and of the single Gaussian,
    both fitted on the even-indexed chunks and scored on the odd ones. `pooled_variance`: the
    components share the within-mode variance (for few chunks in many dimensions, where
    per-component variances are too noisy); otherwise each mode has its own."""
    train, test = np.arange(len(chunks)) % 2 == 0, np.arange(len(chunks)) % 2 == 1
    single = diag_gaussian_loglik(chunks[train].mean(0), chunks[train].var(0), chunks[test]).mean()
    kinds = sorted(set(modes))
    means = {k: chunks[train & (modes == k)].mean(0) for k in kinds}
    if pooled_variance:
        within = np.mean([(x - means[m]) ** 2 for x, m in zip(chunks[train], modes[train])], axis=0)
        variances = {k: within for k in kinds}
    else:
        variances = {k: chunks[train & (modes == k)].var(0) for k in kinds}
    comps = np.stack([diag_gaussian_loglik(means[k], variances[k], chunks[test]) + np.log(np.mean(modes[train] == k))
                      for k in kinds])
    return float(np.logaddexp.reduce(comps, axis=0).mean()), float(single)
