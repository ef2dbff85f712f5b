"""The flow-fidelity pieces: noise on the demonstration chunks, the temperature of the chunks the
updates use, per-episode records (seam coherence, the critic's pick) and the validation-seed
temperature search, each on small real things (a toy dataset, a real smoke run, the CLI)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from softflow_bench.agent import Agent
from softflow_bench.config import RunConfig, resolve
from softflow_bench.rollout import Episode
from softflow_bench.tools.tune_temperature import choose


def _agent(**fields) -> Agent:
    cfg = resolve(RunConfig(tier="smoke", **fields), {"tier", *fields})
    torch.manual_seed(0)
    return Agent(obs_dim=3, action_dim=2, cfg=cfg)


def _batch(n=32, chunk_dim=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"obs": torch.randn(n, 3, generator=g), "actions": torch.rand(n, chunk_dim, generator=g) * 2 - 1,
            "next_obs": torch.randn(n, 3, generator=g), "rewards": torch.randn(n, 10, generator=g),
            "steps": torch.full((n,), 10), "terminated": torch.zeros(n, dtype=torch.bool)}


def test_demo_noise_draws_only_when_set_and_changes_the_imitation_loss():
    batch = _batch()
    plain, noisy = _agent(demo_noise=0.0), _agent(demo_noise=0.1)
    g = torch.Generator().manual_seed(3)
    before = g.get_state()
    loss_plain = plain.bc_loss(batch, g)
    assert torch.equal(g.get_state(), before)  # a run without it keeps its random stream
    loss_noisy = noisy.bc_loss(batch, torch.Generator().manual_seed(3))
    assert not torch.isclose(loss_plain, loss_noisy)
    again = noisy.bc_loss(batch, torch.Generator().manual_seed(3))
    assert torch.equal(loss_noisy, again)  # seeded: reproducible


def _spread_after_bc(sigma: float) -> float:
    """A 4-dim flow fitted through Agent.bc_loss to one demonstrated chunk: its samples' std."""
    cfg = resolve(RunConfig(tier="smoke", chunk=1, flow_blocks=4, width=32, demo_noise=sigma),
                  {"tier", "chunk", "flow_blocks", "width", "demo_noise"})
    torch.manual_seed(0)
    agent = Agent(obs_dim=1, action_dim=4, cfg=cfg)
    opt = torch.optim.Adam(agent.policy.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    batch = {"obs": torch.zeros(256, 1), "actions": torch.full((256, 4), 0.3)}
    for _ in range(400):
        loss = agent.bc_loss(batch, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        x, _ = agent.policy.sample(agent.normalizer(torch.zeros(4000, 1)), 1.0,
                                   generator=torch.Generator().manual_seed(0), with_log_prob=False)
    return x.std(0).mean().item()


def test_a_flow_trained_with_demo_noise_spreads_its_samples_by_about_that_noise():
    """One demonstrated chunk: without noise the flow's density collapses onto it as far as its
    bounded scales allow (measured 0.018); with sigma 0.1 its samples spread by about sigma
    (measured 0.100)."""
    assert _spread_after_bc(0.0) < 0.03
    assert 0.08 < _spread_after_bc(0.1) < 0.12


def test_the_critics_target_chunk_is_drawn_at_the_target_temperature():
    """At a vanishing target temperature the flow's bootstrap chunk is its (deterministic) base
    point, so the critic loss no longer depends on the generator; at 1 it does."""
    batch = _batch()
    for temperature, same in ((1e-6, True), (1.0, False)):
        agent = _agent(target_temperature=temperature, critics=2, target_subset=2)
        with torch.no_grad():  # a flow at its identity init samples its base noise: move it off it
            for p in agent.policy.parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
        losses = [agent.critic_loss(batch, torch.Generator().manual_seed(s)) for s in (0, 1)]
        assert torch.isclose(losses[0], losses[1]).item() is same


def test_best_of_n_targets_bootstrap_from_the_candidate_the_target_ensemble_rates_best():
    """The same generator draws the same N candidates per state in both computations: the best-of-N
    target is, per state, the candidate with the highest ensemble-mean Q, above one drawn chunk's."""
    agent = _agent(target_candidates=6, critics=3, target_subset=2)
    s = agent.normalizer(_batch()["next_obs"])
    n, b = 6, s.shape[0]
    with torch.no_grad():
        picked = agent._next_q(s, torch.Generator().manual_seed(4))  # (E, B)
        chunks, _ = agent.policy.sample(s.repeat_interleave(n, 0), 1.0, generator=torch.Generator().manual_seed(4),
                                        with_log_prob=False)
        q = agent.q(s.repeat_interleave(n, 0), chunks, target=True).view(-1, b, n)
    best = q.mean(0).argmax(-1)
    assert torch.equal(picked, q[:, torch.arange(b), best])
    assert torch.all(picked.mean(0) >= q.mean(0)[:, 0])
    one = _agent(critics=3, target_subset=2)
    assert one._next_q(s, torch.Generator().manual_seed(4)).shape == picked.shape


def test_a_pessimistic_pick_trades_the_ensembles_mean_for_its_agreement():
    """Candidate 0 has the higher mean but members that disagree; candidate 1 a little less, agreed
    on. The mean picks 0; a lower confidence bound (k = 1) picks 1, in acting and in TD targets alike."""
    q = torch.tensor([[1.5, 0.9], [0.5, 0.9]])  # (E=2, N=2): means 1.0 and 0.9, spreads 0.5 and 0
    assert _agent().pick_score(q).argmax() == 0
    lcb = _agent(pick_pessimism=1.0).pick_score(q)
    assert lcb.argmax() == 1 and torch.allclose(lcb, torch.tensor([0.5, 0.9]))
    # acting: a real ensemble's pick follows the same rule
    agent = _agent(pick_pessimism=2.0, critics=3, candidates=8)
    obs = np.zeros(3, np.float32)
    g = torch.Generator().manual_seed(5)
    chunk = agent.act(obs, 1.0, 8, torch.Generator().manual_seed(5))
    with torch.no_grad():
        s = agent.normalizer(torch.zeros(1, 3)).expand(8, -1)
        chunks, _ = agent.policy.sample(s, 1.0, generator=g, with_log_prob=False)
        q = agent.q(s, chunks)
    assert np.allclose(chunk, chunks[(q.mean(0) - 2.0 * q.std(0, correction=0)).argmax()].numpy())


def test_a_pessimistic_actor_maximises_the_ensembles_lower_bound():
    """The actor's Q term at its own chunk: the ensemble's mean, or with actor_pessimism k its mean less
    k times its spread (the same chunk, drawn from the same generator)."""
    batch, data = _batch(), _batch(seed=1)
    mean_agent, lcb_agent = _agent(critics=3), _agent(critics=3, actor_pessimism=1.0)
    _, _, mean_terms = mean_agent.actor_loss(batch, data, torch.Generator().manual_seed(2))
    _, _, lcb_terms = lcb_agent.actor_loss(batch, data, torch.Generator().manual_seed(2))
    with torch.no_grad():
        s = lcb_agent.normalizer(batch["obs"])
        chunk, _ = lcb_agent.policy.sample(s, lcb_agent.cfg.target_temperature,
                                           generator=torch.Generator().manual_seed(2))
        q = lcb_agent.q(s, chunk)
    assert torch.isclose(mean_terms["q_policy"], q.mean(0).mean())
    assert torch.isclose(lcb_terms["q_policy"], (q.mean(0) - q.std(0, correction=0)).mean())


def test_the_actor_loss_reports_its_terms():
    loss, log_pi, terms = _agent(demo_noise=0.05).actor_loss(_batch(), _batch(seed=1), torch.Generator())
    assert set(terms) == {"q_policy", "nll_policy", "nll_data"}
    assert all(torch.isfinite(v) for v in terms.values()) and log_pi is not None


def test_the_protocol_acts_at_the_best_temperature_and_explores_at_the_highest_that_keeps_its_success():
    def rows(rates):
        return [{"temperature": t, "success_rate": p, "return_mean": p} for t, p in rates.items()]

    acting, exploring, _ = choose(rows({0.1: 0.80, 0.2: 0.84, 0.3: 0.78, 0.5: 0.52, 0.7: 0.05}))
    assert (acting, exploring) == (0.2, 0.3)  # 0.78 >= 0.9 * 0.84; 0.52 is not
    acting, exploring, _ = choose(rows({0.1: 0.3, 0.7: 0.0, 1.0: 0.0}))
    assert (acting, exploring) == (0.1, 0.1)
    # a temperature below the acting one never explores, however well it does
    assert choose(rows({0.05: 0.79, 0.1: 0.80, 0.5: 0.1}))[:2] == (0.1, 0.1)


def test_an_episode_record_measures_the_jumps_at_chunk_seams_apart_from_those_inside():
    actions = np.array([[0.0], [0.0], [1.0], [1.0], [3.0], [3.0]])  # chunks of 2: jumps at the seams only
    ep = Episode(seed=7, chunks={}, info={"success": True, "turns": 0.3}, ret=1.5, actions=actions, chunk=2,
                 picks=[{"q_gap": 1.0, "q_disagreement": 0.5}, {"q_gap": 3.0, "q_disagreement": 0.1}])
    rec = ep.record()
    assert rec["seam_jump"] == pytest.approx(1.5) and rec["step_jump"] == 0.0
    assert rec["q_gap"] == pytest.approx(2.0) and rec["q_disagreement"] == pytest.approx(0.3)
    assert rec["seed"] == 7 and rec["success"] is True and rec["turns"] == 0.3 and rec["length"] == 6


@pytest.fixture(scope="module")
def smoke_run(shared_env):
    root, env = shared_env
    out = root / "run"
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.run", "--algo", "softflow", "--tier", "smoke",
                           "--demo-noise", "0.05", "--final-eval-episodes", "3", "--out", str(out), "--threads", "1"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, env


def test_every_evaluation_point_keeps_its_episodes(smoke_run):
    out, _ = smoke_run
    summary = json.loads((out / "summary.json").read_text())
    for i, point in enumerate(summary["curve"]):
        records = [json.loads(line) for line in (out / point["episodes_file"]).read_text().splitlines()]
        last = i == len(summary["curve"]) - 1  # the row's number: over final_eval_episodes
        assert len(records) == (3 if last else summary["config"]["eval_episodes"])
        assert np.mean([r["success"] for r in records]) == point["success_rate"]
        assert np.mean([r["return"] for r in records]) == pytest.approx(point["return_mean"])
        assert [r["seed"] for r in records] == [1_000_000 + i for i in range(len(records))]
        assert all("q_gap" in r and "seam_jump" in r for r in records)  # best of N: the critic's pick
        modes = sorted(r["mode"] for r in records)
        assert set(modes) <= {"thumb_fingers", "thumb_index"}  # the cube expert's two gaits
        assert sum(point[f"mode_share_{m}"] for m in ("thumb_fingers", "thumb_index")) == pytest.approx(1.0)
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    online = [entry["online_episode"] for entry in logged if "online_episode" in entry]
    assert len(online) == summary["online_episodes"] and all("return" in r for r in online)


def test_tune_temperature_searches_on_validation_seeds_and_names_its_choice(smoke_run, tmp_path):
    out, env = smoke_run
    cmd = [sys.executable, "-m", "softflow_bench.tools.tune_temperature", str(out), "--name", "t",
           "--results", str(tmp_path), "--episodes", "2", "--temperatures", "0.1", "0.7"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = json.loads((tmp_path / "t.json").read_text())
    assert table["chosen"] in (0.1, 0.7) and [r["temperature"] for r in table["rows"]] == [0.1, 0.7]
    assert table["explore"] >= table["chosen"]
    assert "Chosen temperature" in (tmp_path / "t.md").read_text()
    bad = subprocess.run(cmd[:-2] + ["0", "nan"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "positive and finite" in bad.stderr


def test_an_interrupted_temperature_search_resumes_and_its_episodes_compare_paired(smoke_run, tmp_path):
    out, env = smoke_run
    cmd = [sys.executable, "-m", "softflow_bench.tools.tune_temperature", str(out), "--name", "t",
           "--results", str(tmp_path), "--episodes", "2", "--temperatures", "0.1", "0.7", "1.0"]
    from softflow_bench.tools.tune_temperature import finished_rows

    def killed_after(temperature: str) -> None:  # killed for real once that temperature is done
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in proc.stdout:
            if f"T={temperature}:" in line:
                proc.kill()
                break
        proc.wait(timeout=60)

    killed_after("0.1")
    partial = tmp_path / "t.partial.jsonl"
    assert not (tmp_path / "t.json").exists() and len(partial.read_text().splitlines()) == 1
    with partial.open("a") as f:
        f.write('{"run": "cut short')  # a line the kill interrupted is dropped, not fatal
    killed_after("0.7")  # kept 0.1, made 0.7 on a line of its own
    assert sorted(t for _, _, t, _ in finished_rows(partial)) == [0.1, 0.7]
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert resumed.stdout.count("kept from the interrupted search") == 2
    assert not partial.exists()
    table = json.loads((tmp_path / "t.json").read_text())
    fresh = subprocess.run(cmd[:-6] + ["--name", "u", "--results", str(tmp_path), "--episodes", "2",
                                       "--temperatures", "0.1", "0.7", "1.0"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    uninterrupted = json.loads((tmp_path / "u.json").read_text())
    drop = ("episode_records",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in table["rows"]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in uninterrupted["rows"]]
    for row in table["rows"]:
        assert [r["seed"] for r in row["episode_records"]] == [2_000_000, 2_000_001]  # validation seeds
    # the episodes kept: two temperatures of one search compare start by start
    paired = subprocess.run([sys.executable, "-m", "softflow_bench.tools.paired", str(tmp_path / "t.json"),
                             str(tmp_path / "u.json"), "--before-temperature", "0.1", "--after-temperature", "0.7"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert paired.returncode == 0, paired.stderr[-2000:]
    assert "over 2 episode pairs" in paired.stdout
    unnamed = subprocess.run([sys.executable, "-m", "softflow_bench.tools.paired", str(tmp_path / "t.json"),
                              str(tmp_path / "u.json")], env=env, capture_output=True, text=True, timeout=120)
    assert unnamed.returncode == 2 and "several temperatures" in unnamed.stderr


def test_held_out_demonstrations_leave_training_and_their_loss_is_logged_during_bc(shared_env):
    root, env = shared_env
    out = root / "held_out"
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.run", "--algo", "bc_flow", "--tier", "smoke",
                           "--validation-episodes", "1", "--bc-steps", "40", "--out", str(out), "--threads", "1"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "4 episodes" in proc.stdout and "3 used" in proc.stdout
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    held_out = [entry["validation_loss"] for entry in logged if "validation_loss" in entry]
    assert len(held_out) == 1 and np.isfinite(held_out[0])  # at the stage's last update
    refused = subprocess.run([sys.executable, "-m", "softflow_bench.run", "--tier", "smoke",
                              "--validation-episodes", "4", "--out", str(root / "none")],
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "must leave some" in refused.stderr


def test_bc_stops_once_the_held_out_loss_has_not_improved_for_its_patience():
    from types import SimpleNamespace

    from softflow_bench.learner import Learner

    learner = SimpleNamespace(state={}, cfg=SimpleNamespace(bc_patience=2))
    spent = [Learner._patience_spent(learner, loss) for loss in (3.0, 2.0, 2.5, 1.5, 1.6, 1.7, 1.4)]
    assert spent == [False, False, False, False, False, True, False]
    assert learner.state["bc_best_validation"] == 1.4


def test_bc_with_a_moving_average_ends_with_the_average_as_its_policy(shared_env):
    root, env = shared_env
    runs = {}
    for name, extra in (("plain", []), ("ema", ["--bc-ema", "0.9"])):
        out = root / f"bc_{name}"
        proc = subprocess.run([sys.executable, "-m", "softflow_bench.run", "--algo", "bc_flow", "--tier", "smoke",
                               "--out", str(out), *extra], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[name] = torch.load(out / "bc_policy.pt", weights_only=True)["agent"]
        if name == "ema":
            ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
            averaged = {k.removeprefix("module."): v for k, v in ckpt["ema"].items() if k.startswith("module.")}
            assert all(torch.equal(runs["ema"][f"policy.{k}"], v) for k, v in averaged.items())
    policy_keys = [k for k in runs["plain"] if k.startswith("policy.")]
    assert not all(torch.equal(runs["plain"][k], runs["ema"][k]) for k in policy_keys)


@pytest.mark.parametrize("task, modes", [("cube_pronation", ["thumb_fingers", "thumb_index"]),
                                         ("scissors_tape", ["index", "middle"])])
def test_the_mode_classifier_tells_held_out_demonstrations_apart(task, modes):
    """Fitted on the even episodes of a real dataset, it names the mode of every odd one (measured on
    the 100-episode datasets: 50 of 50 on both tasks)."""
    from softflow_bench import demos
    from softflow_bench.modes import from_dataset

    dataset, _ = demos.get_or_collect(task, 12, 0, progress=False)
    labels = dataset.storage.metadata["softflow_modes"].split(",")
    classifier = from_dataset(dataset, list(range(0, 12, 2)))
    assert classifier.modes == modes
    held_out = list(range(1, 12, 2))
    predicted = [classifier(ep.actions) for ep in dataset.iterate_episodes(held_out)]
    assert predicted == [labels[i] for i in held_out]


def test_bc_with_the_cosine_schedule_warms_up_decays_to_zero_and_leaves_the_later_stages_at_lr(shared_env):
    from softflow_bench.config import BC_WARMUP_STEPS, RunConfig

    root, env = shared_env
    out = root / "bc_cosine"
    steps = 2 * BC_WARMUP_STEPS
    proc = subprocess.run([sys.executable, "-m", "softflow_bench.run", "--algo", "softflow", "--tier", "smoke",
                           "--bc-lr-schedule", "cosine", "--bc-steps", str(steps), "--out", str(out),
                           "--threads", "1"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    lrs = {entry["stage_step"]: entry["lr"] for entry in logged if entry["stage"] == "bc" and "lr" in entry}
    lr = RunConfig.lr
    # logged after update k (1-based) with the rate that update used
    assert lrs[50] == pytest.approx(lr * 50 / BC_WARMUP_STEPS)
    assert lrs[BC_WARMUP_STEPS] == pytest.approx(lr)
    assert lrs[BC_WARMUP_STEPS + BC_WARMUP_STEPS // 2] == pytest.approx(lr / 2, rel=0.01)  # half-way down
    assert lrs[steps] < lr * 1e-4
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert all(group["lr"] == lr for group in ckpt["actor_opt"]["param_groups"])
    assert not any("lr" in entry for entry in logged if entry["stage"] != "bc")
