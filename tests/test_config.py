"""How a run's fields are resolved: tier budgets, per-task defaults, algorithm defaults, command line."""

from pathlib import Path

import pytest

from softflow_bench.config import (
    FAMILY_DEFAULTS,
    TASK_DEFAULTS,
    TIERS,
    ConfigError,
    non_defaults,
    parse_args,
    resolve,
)


def _resolved(*argv):
    return resolve(*parse_args(list(argv)))


def test_task_defaults_apply_over_the_tier_and_only_to_their_task(monkeypatch):
    scissors = TASK_DEFAULTS["scissors_tape"]
    # a family without a search of its own on the scissors takes the task's defaults
    monkeypatch.delitem(FAMILY_DEFAULTS, ("scissors_tape", "gaussian"))
    quick = _resolved("--algo", "sac_chunked", "--env", "scissors_tape", "--tier", "quick")
    assert quick.temperature == scissors["temperature"]
    assert quick.explore_temperature == scissors["explore_temperature"]
    paper = _resolved("--algo", "sac_chunked", "--env", "scissors_tape", "--tier", "paper")
    assert paper.temperature == scissors["temperature"] and paper.bc_steps == TIERS["paper"]["bc_steps"]
    cube = _resolved("--algo", "diffusion", "--env", "cube_pronation", "--tier", "quick")
    assert "cube_pronation" not in TASK_DEFAULTS and cube.bc_steps == TIERS["quick"]["bc_steps"]


def test_family_defaults_apply_to_their_task_and_policy_family_only():
    """What the sampling protocol chose for the flow on the cube reaches every flow algorithm there,
    not the other families, not the other task; an algorithm's own default and the command line win."""
    chosen = FAMILY_DEFAULTS[("cube_pronation", "flow")]
    for algo in ("softflow", "bc_flow", "softflow_nolik", "softflow_stepcritic"):
        cfg = _resolved("--algo", algo, "--env", "cube_pronation")
        assert {k: getattr(cfg, k) for k in chosen} == chosen
    for algo in ("sac_chunked", "diffusion", "bc_diffusion"):
        assert _resolved("--algo", algo, "--env", "cube_pronation").demo_noise == 0.0
    scissors = FAMILY_DEFAULTS[("scissors_tape", "flow")]
    assert scissors != chosen  # the other task searched on its own
    for env in ("scissors_tape", "scissors_tape_dense"):  # one task, two rewards: one search
        cfg = _resolved("--algo", "softflow", "--env", env)
        assert {k: getattr(cfg, k) for k in scissors} == scissors
    assert _resolved("--algo", "diffusion", "--env", "scissors_tape").demo_noise == 0.0
    # sac's per-step Gaussian acts unlike the chunk Gaussian and has a search of its own
    step, chunk = FAMILY_DEFAULTS[("cube_pronation", "gaussian_step")], FAMILY_DEFAULTS[("cube_pronation", "gaussian")]
    assert _resolved("--algo", "sac", "--env", "cube_pronation").temperature == step["temperature"]
    for algo in ("sac_chunked", "bc_gaussian"):
        assert _resolved("--algo", algo, "--env", "cube_pronation").temperature == chunk["temperature"]
    assert _resolved("--algo", "softflow", "--env", "cube_pronation", "--demo-noise", "0.1").demo_noise == 0.1
    assert non_defaults(_resolved("--algo", "softflow", "--env", "cube_pronation", "--demo-noise", "0.05")) == {}


def test_the_command_line_wins_over_task_and_algorithm_defaults():
    cfg = _resolved("--env", "scissors_tape", "--tier", "quick", "--temperature", "0.5", "--bc-steps", "10")
    assert (cfg.temperature, cfg.bc_steps) == (0.5, 10)
    assert _resolved("--algo", "bc_flow", "--env", "scissors_tape").candidates == 1  # algorithm over task


def test_non_defaults_name_only_what_the_command_line_changed_from_algo_task_and_tier():
    """What evaluation tables print beside a run's algo: tier, task and algo defaults and bookkeeping are not
    settings; a value given on the command line equal to its default is not one either."""
    assert non_defaults(_resolved("--algo", "bc_flow", "--env", "scissors_tape", "--tier", "paper")) == {}
    resolved = _resolved("--threads", "1", "--out", "/tmp/x", "--device", "cpu", "--temperature", "0.05")
    assert non_defaults(resolved) == {}
    changed = _resolved("--env", "scissors_tape", "--explore-temperature", "0.5", "--bc-steps", "3000")
    assert non_defaults(changed) == {"explore_temperature": 0.5, "bc_steps": 3000}
    # a field the algo never reads is no setting of it
    assert non_defaults(_resolved("--diffusion-prediction", "eps", "--diffusion-steps", "5")) == {}
    assert non_defaults(_resolved("--algo", "diffusion", "--diffusion-prediction", "eps")) == {
        "diffusion_prediction": "eps"}


def test_every_algorithm_gets_the_tiers_bc_budget_unless_told():
    """Fairness: one stage-1 budget per tier (the diffusion policies once had 10x the flow's)."""
    from softflow_bench.algos import ALGORITHMS

    for tier in TIERS:
        assert {_resolved("--algo", algo, "--tier", tier).bc_steps for algo in ALGORITHMS} == {TIERS[tier]["bc_steps"]}
    assert _resolved("--algo", "diffusion", "--bc-steps", "7").bc_steps == 7


@pytest.mark.parametrize("algo", ["diffusion", "dsrl", "dsrl_na"])
def test_diffusion_policies_explore_at_most_at_their_cap_unless_told(algo, monkeypatch):
    assert _resolved("--algo", algo, "--env", "cube_pronation").explore_temperature == 0.7  # 1.0 capped
    scissors = FAMILY_DEFAULTS[("scissors_tape", "diffusion")]["explore_temperature"]  # DSRL's too
    assert _resolved("--algo", algo, "--env", "scissors_tape").explore_temperature == scissors  # below the cap
    assert _resolved("--algo", algo, "--explore-temperature", "1.0").explore_temperature == 1.0
    # the cap is the diffusion families' own: a Gaussian whose search chose 1.0 explores at 1.0
    monkeypatch.setitem(FAMILY_DEFAULTS, ("cube_pronation", "gaussian"), dict(explore_temperature=1.0))
    assert _resolved("--algo", "sac_chunked", "--env", "cube_pronation").explore_temperature == 1.0


@pytest.mark.parametrize("field", ["--temperature", "--explore-temperature", "--noise-bound"])
def test_a_non_positive_temperature_is_refused(field):
    with pytest.raises(ConfigError, match="explore_temperature"):
        _resolved(field, "0")


def test_a_single_flow_block_is_refused():
    with pytest.raises(ConfigError, match="--flow-blocks must be at least 2"):
        _resolved("--flow-blocks", "1")


def test_policy_width_sizes_the_policy_alone_and_keys_its_own_bc_cache():
    from softflow_bench.agent import Agent
    from softflow_bench.bc_cache import bc_cache_path

    def params(module):
        return sum(p.numel() for p in module.parameters())

    for algo in ("softflow", "diffusion", "sac_chunked"):
        default = _resolved("--algo", algo, "--tier", "smoke")
        narrow = _resolved("--algo", algo, "--tier", "smoke", "--policy-width", "16")
        a, b = Agent(60, 17, default), Agent(60, 17, narrow)
        assert params(b.policy) < params(a.policy) and params(b.critic) == params(a.critic)
        assert bc_cache_path(narrow) != bc_cache_path(default)
    with pytest.raises(ConfigError, match="--policy-width"):
        _resolved("--policy-width", "-1")


def test_diffusion_prediction_is_checked_and_keys_its_own_bc_cache():
    from softflow_bench.bc_cache import bc_cache_path

    x0 = _resolved("--algo", "bc_diffusion", "--tier", "smoke")
    eps = _resolved("--algo", "bc_diffusion", "--tier", "smoke", "--diffusion-prediction", "eps")
    assert x0.diffusion_prediction == "x0" and bc_cache_path(x0) != bc_cache_path(eps)
    with pytest.raises(ConfigError, match="--diffusion-prediction must be eps or x0"):
        _resolved("--diffusion-prediction", "v")


def test_a_saved_config_reads_back_and_one_of_another_format_is_refused():
    from softflow_bench.config import FORMAT_VERSION, saved_config, saved_form

    cfg = _resolved("--algo", "diffusion", "--bc-weight", "3")
    assert saved_config(saved_form(cfg)) == cfg
    # a field added after the run was saved takes its default, the behaviour the code had without it
    without = {k: v for k, v in saved_form(cfg).items() if k != "target_candidates"}
    assert saved_config(without) == cfg
    for version in (None, FORMAT_VERSION - 1, FORMAT_VERSION + 1):
        with pytest.raises(ConfigError, match=f"reads format {FORMAT_VERSION}"):
            saved_config({**saved_form(cfg), "format_version": version})


def test_resume_refuses_a_changed_field_only_where_the_algo_reads_it():
    """A flow run does not read the denoiser's fields: a change in them is no change to it; a
    diffusion run's denoiser would change under it, so it is refused."""
    from softflow_bench.config import saved_form
    from softflow_bench.run import changed_on_resume

    for algo, refused in (("softflow", []), ("diffusion", ["diffusion_prediction (saved 'eps', now 'x0')"])):
        saved = saved_form(_resolved("--algo", algo, "--tier", "smoke", "--diffusion-prediction", "eps"))
        assert changed_on_resume(saved, _resolved("--algo", algo, "--tier", "smoke")) == refused
    saved = saved_form(_resolved("--tier", "smoke"))
    assert changed_on_resume(saved, _resolved("--tier", "smoke", "--gamma", "0.9")) == ["gamma (saved 0.99, now 0.9)"]
    # an imitation-only run never reads the later stages' fields (a task's lambda changing under it)
    saved = saved_form(_resolved("--algo", "bc_flow", "--tier", "smoke"))
    assert changed_on_resume(saved, _resolved("--algo", "bc_flow", "--tier", "smoke", "--bc-weight", "100",
                                              "--gamma", "0.9")) == []
    assert changed_on_resume(saved, _resolved("--algo", "bc_flow", "--tier", "smoke", "--lr", "0.001")) == [
        "lr (saved 0.0003, now 0.001)"]


def test_a_gpu_keys_its_own_bc_cache_and_the_cpu_keeps_its_keys():
    """A BC cache holds its generator's state, which fits only that device type's generator."""
    from softflow_bench.bc_cache import bc_cache_path

    cfg = _resolved("--algo", "softflow", "--tier", "smoke")
    assert bc_cache_path(cfg, "cuda") != bc_cache_path(cfg) == bc_cache_path(cfg, "cpu")


def test_the_demo_anchor_is_the_diffusion_algorithms_alone_and_not_negative():
    assert _resolved("--algo", "diffusion", "--demo-denoise-weight", "3").demo_denoise_weight == 3.0
    for algo in ("softflow", "bc_diffusion", "dsrl"):
        with pytest.raises(ConfigError, match="--demo-denoise-weight is the diffusion algorithm's"):
            _resolved("--algo", algo, "--demo-denoise-weight", "1")
    with pytest.raises(ConfigError, match="demo_denoise_weight, demo_noise and the pessimisms >= 0"):
        _resolved("--algo", "diffusion", "--demo-denoise-weight", "-1")


def test_demo_noise_is_offered_to_every_family_and_not_negative():
    for algo in ("softflow", "sac", "sac_chunked", "diffusion", "bc_flow", "bc_gaussian", "bc_diffusion"):
        assert _resolved("--algo", algo, "--demo-noise", "0.05").demo_noise == 0.05
    with pytest.raises(ConfigError, match="demo_noise and the pessimisms >= 0"):
        _resolved("--demo-noise", "-0.1")


def test_the_final_evaluation_has_its_own_budget():
    assert _resolved("--tier", "quick").final_eval_episodes == 100
    assert _resolved("--tier", "quick").eval_episodes == 20


def test_the_bc_cache_key_follows_what_stage_1_depends_on_and_nothing_else():
    """Runs that would train the same BC policy share it; a change in anything BC reads is a new key."""
    from dataclasses import replace

    from softflow_bench.bc_cache import BC_FIELDS, bc_cache_path

    flow = _resolved("--algo", "softflow", "--tier", "smoke")
    assert bc_cache_path(flow) == bc_cache_path(_resolved("--algo", "bc_flow", "--tier", "smoke", "--candidates", "24"))
    # online-stage fields and another family's fields leave stage 1 alone
    for other in (dict(gamma=0.9), dict(online_episodes=7), dict(diffusion_prediction="eps"), dict(temperature=0.3)):
        assert bc_cache_path(replace(flow, **other)) == bc_cache_path(flow), other
    for name in BC_FIELDS:
        value = getattr(flow, name)
        changed = {bool: lambda v: not v, str: lambda v: "scissors_tape"}.get(type(value), lambda v: v + 1)(value)
        assert bc_cache_path(replace(flow, **{name: changed})) != bc_cache_path(flow), name
    assert bc_cache_path(replace(flow, flow_mixing="lu")) != bc_cache_path(flow)
    assert bc_cache_path(replace(flow, bc_lr_schedule="cosine")) != bc_cache_path(flow)
    assert bc_cache_path(replace(flow, flow_encoder=2)) != bc_cache_path(flow)
    assert bc_cache_path(replace(flow, flow_space="action")) != bc_cache_path(flow)
    assert bc_cache_path(_resolved("--algo", "sac_chunked", "--tier", "smoke")) != bc_cache_path(flow)


def test_the_critics_pick_chosen_for_one_algorithm_on_one_task_reaches_that_algorithm_only():
    from softflow_bench.config import ALGO_TASK_DEFAULTS

    chosen = ALGO_TASK_DEFAULTS[("scissors_tape", "dsrl")]["candidates"]
    assert _resolved("--algo", "dsrl", "--env", "scissors_tape").candidates == chosen
    assert _resolved("--algo", "dsrl", "--env", "scissors_tape_dense").candidates == chosen  # the same task
    assert _resolved("--algo", "dsrl", "--env", "cube_pronation").candidates != chosen
    assert _resolved("--algo", "diffusion", "--env", "scissors_tape").candidates != chosen  # same family, own critic
    assert _resolved("--algo", "dsrl", "--env", "scissors_tape", "--candidates", "8").candidates == 8


def test_runs_of_two_tiers_never_share_a_default_place():
    assert _resolved("--algo", "softflow").out == "results/runs/cube_pronation/softflow/seed0"  # the headline rows'
    assert _resolved("--algo", "softflow", "--tier", "paper", "--seed", "3").out == \
        "results/runs/cube_pronation/softflow/paper/seed3"
    assert _resolved("--tier", "smoke", "--out", "elsewhere").out == "elsewhere"


def test_the_bc_cache_key_holds_the_code_that_makes_stage_1(tmp_path):
    """A cache holds the whole end-of-BC agent: one made by other code (a critic or noise actor set up
    differently, not only another BC loss) must not be reused. Comments and docstrings do not count."""
    import importlib
    import shutil

    from softflow_bench.bc_cache import BC_CODE_MODULES, bc_code_fingerprint, files_fingerprint

    files = [Path(importlib.import_module(m).__file__) for m in BC_CODE_MODULES]
    copies = []
    for i, f in enumerate(files):
        copies.append(tmp_path / f"{i}_{f.name}")
        shutil.copy(f, copies[-1])
    assert files_fingerprint(copies) == files_fingerprint(files)
    agent = copies[0]
    source = agent.read_text()
    agent.write_text("# a comment\n" + source.replace('"""', '"""Reworded. ', 1))
    assert files_fingerprint(copies) == files_fingerprint(files)
    agent.write_text(source + "\nSCALE = 2.0\n")
    assert files_fingerprint(copies) != files_fingerprint(files)
    # what the key holds is that fingerprint over those modules and every module of the baselines
    baselines = sorted(p for p in (Path(files[0]).parents[1] / "baselines").glob("*.py") if p.name != "__init__.py")
    assert bc_code_fingerprint() == files_fingerprint([*files, *baselines])
