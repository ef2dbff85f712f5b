"""Hand-computed chunked TD targets: a full chunk, a termination inside one, a truncation."""

import pytest
import torch

from softflow_bench.chunk_target import chunk_td_target

GAMMA = 0.9


def test_full_chunk_bootstraps_with_gamma_to_the_h():
    y = chunk_td_target(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([3]), torch.tensor([False]),
                        torch.tensor([10.0]), GAMMA)
    assert y.item() == pytest.approx(1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 10)


def test_termination_inside_the_chunk_stops_the_sum_and_the_bootstrap():
    # executed 2 of 4 steps, then the cube dropped; padding after step 2 must not count
    y = chunk_td_target(torch.tensor([[1.0, -5.0, 99.0, 99.0]]), torch.tensor([2]), torch.tensor([True]),
                        torch.tensor([10.0]), GAMMA)
    assert y.item() == pytest.approx(1 + 0.9 * -5)


def test_truncation_inside_the_chunk_bootstraps_with_the_discount_reached():
    y = chunk_td_target(torch.tensor([[1.0, 1.0, 0.0, 0.0]]), torch.tensor([2]), torch.tensor([False]),
                        torch.tensor([10.0]), GAMMA)
    assert y.item() == pytest.approx(1 + 0.9 + 0.81 * 10)


def test_batch_rows_are_independent():
    rewards = torch.tensor([[1.0, 2.0, 3.0], [1.0, -5.0, 0.0]])
    y = chunk_td_target(rewards, torch.tensor([3, 2]), torch.tensor([False, True]), torch.tensor([10.0, 10.0]), GAMMA)
    assert y.tolist() == pytest.approx([1 + 1.8 + 2.43 + 7.29, 1 - 4.5])
