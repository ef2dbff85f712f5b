"""softflow-bench: SOFT-FLOW reproductions, baselines and a real-hand adapter for the ORCA hand."""

from softflow_bench import envs  # noqa: F401  (registers the Gymnasium ids)

__version__ = "0.1.0"
