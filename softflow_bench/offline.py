"""A run's offline data: the task's demonstrations (a Minari dataset, generated and cached by
softflow_bench.demos) as chunk transitions for training and held-out validation, and the
classifier that tells which demonstrated mode an episode follows."""

from __future__ import annotations

from softflow_bench.config import RunConfig


def demonstrations(cfg: RunConfig, say=print):
    """The task's demonstrations as a Minari dataset (generated and cached if missing); None for a task
    without an expert or with --demo-episodes 0."""
    from softflow_bench import demos

    if cfg.env not in demos.EXPERT_ENVS or cfg.demo_episodes == 0:
        return None
    dataset, cached = demos.get_or_collect(cfg.env, cfg.demo_episodes, cfg.demo_seed)
    say(f"offline data: {dataset.spec.dataset_id} ({'cached' if cached else 'generated'}, "
        f"{dataset.total_episodes} episodes, expert success "
        f"{dataset.storage.metadata['softflow_success_rate']:.2f}; "
        f"{dataset.total_episodes - cfg.validation_episodes} used)")
    return dataset


def _training_episodes(cfg: RunConfig, dataset) -> range:
    """All but the last cfg.validation_episodes episodes of the dataset."""
    return range(dataset.total_episodes - cfg.validation_episodes)


def offline_chunks(cfg: RunConfig, say=print, split: str = "train", dataset=None):
    """Chunk transitions of the task's demonstrations (`dataset`, else `demonstrations(cfg)`): those of
    the episodes that train (`split="train"`), or of the last cfg.validation_episodes ones, held out
    (`"validation"`; None when none are)."""
    from softflow_bench import demos
    from softflow_bench.chunks import ChunkBuffer, episode_chunks

    if split == "validation" and not cfg.validation_episodes:
        return None
    dataset = demonstrations(cfg, say) if dataset is None else dataset
    if dataset is None:
        return None
    train = _training_episodes(cfg, dataset)
    wanted = train if split == "train" else range(train.stop, dataset.total_episodes)
    buf = ChunkBuffer()
    with demos.reading(dataset.spec.dataset_id):
        for ep in dataset.iterate_episodes(list(wanted)):
            buf.add(episode_chunks(ep.observations, ep.actions, ep.rewards, bool(ep.terminations[-1]), cfg.chunk))
    return buf


def mode_classifier(cfg: RunConfig, dataset):
    """A ModeClassifier fitted on the training episodes of the task's demonstrations (None without
    demonstrations or recorded modes)."""
    from softflow_bench import demos
    from softflow_bench.modes import from_dataset

    if dataset is None:
        return None
    with demos.reading(dataset.spec.dataset_id):
        return from_dataset(dataset, list(_training_episodes(cfg, dataset)))


