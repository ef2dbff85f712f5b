"""The diagnostic tools (`noise_steering`, `imitation_error`, `expert_starts`, `modes`) read real smoke runs
of the CLI."""

import json
import shutil
import subprocess
import sys

import pytest

RUN = [sys.executable, "-m", "softflow_bench.run", "--env", "cube_pronation", "--tier", "smoke"]
STEERING = [sys.executable, "-m", "softflow_bench.tools.noise_steering"]
IMITATION = [sys.executable, "-m", "softflow_bench.tools.imitation_error"]
EXPERT_STARTS = [sys.executable, "-m", "softflow_bench.tools.expert_starts"]
MODES = [sys.executable, "-m", "softflow_bench.tools.modes"]


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory, smoke_cube_run):
    """The shared softflow smoke run and a dsrl_na one on its dataset; (run dirs by algo, environment)."""
    softflow, env = smoke_cube_run
    dsrl_na = tmp_path_factory.mktemp("diagnostics") / "dsrl_na"
    subprocess.run(RUN + ["--algo", "dsrl_na", "--out", str(dsrl_na)], env=env, check=True, capture_output=True,
                   timeout=300)
    return {"softflow": softflow, "dsrl_na": dsrl_na}, env


def test_noise_steering_reports_each_saved_policy_and_refuses_other_runs(smoke_runs, tmp_path):
    runs, env = smoke_runs
    proc = subprocess.run(STEERING + [str(runs["dsrl_na"]), "--states", "64"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].endswith("| Q noise: prior → actor |") and len(lines) == 2 + 3
    bc, offline, final = (line.split(" | ") for line in lines[2:])
    assert [bc[1], offline[1], final[1]] == ["bc_policy.pt", "offline_policy.pt", "final_policy.pt"]
    # the noise actor starts as N(0, I) exactly (zero-initialised last layer): the BC diffusion policy
    assert bc[2:4] == ["0.00", "1.00"]
    assert offline[4] != bc[4] and final[5] != bc[5]  # the critics learned in stages 2-4 (smoke: few updates)

    bad = ([str(runs["softflow"])], [str(tmp_path / "missing")], [str(runs["dsrl_na"]), "--states", "0"])
    for args in bad:
        proc = subprocess.run(STEERING + args, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and proc.stderr.startswith("error:"), proc.stderr
        assert proc.stdout == ""


def test_imitation_error_is_a_deterministic_row_per_run(smoke_runs, tmp_path):
    runs, env = smoke_runs
    args = [str(runs["softflow"]), str(runs["dsrl_na"]), "--states", "64"]
    first, again = (subprocess.run(IMITATION + args, env=env, capture_output=True, text=True, timeout=300)
                    for _ in range(2))
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout == again.stdout  # fixed states and sampling seed
    rows = [line.split(" | ") for line in first.stdout.strip().splitlines()[2:]]
    assert [r[1] for r in rows] == ["softflow", "dsrl_na"] and all(r[2] == "bc_policy.pt" for r in rows)
    errors = [float(r[i].strip(" |")) for r in rows for i in (3, 4, 6, 7)]
    assert all(0.0 <= e <= 2.0 for e in errors)  # actions lie in [-1, 1]
    for r in rows:  # the worst 1 % of states is no better than the average state
        assert float(r[8].strip(" |")) >= float(r[6])

    for bad in ([str(tmp_path / "missing")], [str(runs["softflow"]), "--policy", "nope.pt"],
                [str(runs["softflow"]), "--states", "0"]):
        proc = subprocess.run(IMITATION + bad, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and proc.stderr.startswith("error:"), proc.stderr
        assert proc.stdout == ""


def test_expert_starts_splits_each_run_by_the_experts_outcome_from_the_same_start(smoke_runs, tmp_path):
    import gymnasium as gym

    from softflow_bench.demos import rollout_expert
    from softflow_bench.tools.expert_starts import start_pose

    runs, env = smoke_runs
    results = tmp_path / "evals"
    proc = subprocess.run(EXPERT_STARTS + [str(runs["softflow"]), str(runs["dsrl_na"]), "--name", "starts",
                                           "--results", str(results)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = json.loads((results / "starts.json").read_text())
    # the expert's outcome is the one it has when played directly from that start
    cube = gym.make("softflow_bench/CubePronation-v0")
    for seed, solved in table["expert"].items():
        assert rollout_expert("cube_pronation", cube, int(seed))[2]["success"] == solved
    # each start's pose is the cube's after that reset
    first = min(table["start_pose"], key=int)
    cube.reset(seed=int(first))
    assert table["start_pose"][first] == start_pose(cube) and set(table["start_pose"]) == set(table["expert"])
    text = (results / "starts.md").read_text()
    assert table["never_solved"]  # smoke runs solve few starts: the unsolved ones are listed with their poses
    for unsolved in table["never_solved"]:
        assert f"| {unsolved} | {table['start_pose'][str(unsolved)]['x_mm']:+.2f} |" in text
    for row, run in zip(table["rows"], (runs["softflow"], runs["dsrl_na"])):
        summary = json.loads((run / "summary.json").read_text())
        records = [json.loads(line) for line in (run / summary["final"]["episodes_file"]).read_text().splitlines()]
        assert row["solved"]["episodes"] + row["failed"]["episodes"] == len(records) == row["episodes"]
        assert row["solved"]["successes"] + row["failed"]["successes"] == sum(r["success"] for r in records)
        on_failed = [r["success"] for r in records if not table["expert"][str(r["seed"])]]
        assert row["failed"]["successes"] == sum(on_failed)
        # every success is on a start some run solves
        assert row["solvable"]["successes"] == sum(r["success"] for r in records)
        assert row["solvable"]["episodes"] == sum(r["seed"] not in table["never_solved"] for r in records)
    assert [g["algo"] for g in table["pooled"]] == ["dsrl_na", "softflow"]
    assert {g["tier"] for g in table["pooled"]} == {"smoke"}  # a row says which tier its runs are of
    assert "Regenerate: `python -m softflow_bench.tools.expert_starts" in (results / "starts.md").read_text()
    # the offline evaluation is read from the curve's point before online RL
    proc = subprocess.run(EXPERT_STARTS + [str(runs["softflow"]), "--evaluation", "offline", "--name", "offline",
                                           "--results", str(results)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]

    for bad in ([str(tmp_path / "missing")], [str(runs["softflow"]), "--evaluation", "first"]):
        proc = subprocess.run(EXPERT_STARTS + bad + ["--name", "bad", "--results", str(results)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "error:" in proc.stderr, proc.stderr
        assert not (results / "bad.md").exists()


def test_modes_splits_every_evaluation_by_the_mode_each_episode_follows(smoke_runs, tmp_path):
    runs, env = smoke_runs
    run = runs["softflow"]
    proc = subprocess.run(MODES + [str(run)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    points = [json.loads(line)["eval"] for line in (run / "metrics.jsonl").read_text().splitlines()
              if "eval" in json.loads(line)]
    assert len(lines) == 2 + len(points) >= 4  # the offline point and the online ones
    modes = [col.split(":")[0] for col in lines[0].strip("| ").split(" | ")[3:]]
    assert modes == ["thumb_fingers", "thumb_index"]  # the cube expert's two gaits
    for line, point in zip(lines[2:], points):
        cells = line.strip("| ").split(" | ")
        assert int(cells[1]) == point["online_episodes"] and float(cells[2]) == pytest.approx(point["success_rate"],
                                                                                                abs=0.005)
        shares = 0.0
        for mode, cell in zip(modes, cells[3:]):
            if cell.endswith("/ – / –"):  # no episode followed it
                assert point[f"mode_share_{mode}"] == 0 and point[f"success_{mode}"] is None
                continue
            share, success, _ = (float(x) for x in cell.split(" / "))
            shares += share
            assert share == pytest.approx(point[f"mode_share_{mode}"], abs=0.005)
            assert success == pytest.approx(point[f"success_{mode}"], abs=0.005)
        assert shares == pytest.approx(1.0, abs=0.01)

    damaged = tmp_path / "damaged"  # a copy whose last evaluation file was cut off mid-line
    shutil.copytree(run, damaged)
    last = damaged / points[-1]["episodes_file"]
    last.write_text(last.read_text()[:-20])
    for bad in ([str(tmp_path / "missing")], [str(run), str(tmp_path)], [str(damaged)]):
        proc = subprocess.run(MODES + bad, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and proc.stderr.startswith("error:"), proc.stderr
        assert proc.stdout == ""


def test_outcome_returns_pools_every_evaluation_by_outcome(smoke_runs, tmp_path):
    import numpy as np

    runs, env = smoke_runs
    run = runs["softflow"]
    tool = [sys.executable, "-m", "softflow_bench.tools.outcome_returns"]
    proc = subprocess.run(tool + [str(run), str(runs["dsrl_na"])], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    episodes = [json.loads(line) for r in (run, runs["dsrl_na"]) for f in sorted((r / "evaluations").glob("*.jsonl"))
                for line in f.read_text().splitlines()]
    assert f"Outcomes over {len(episodes)} evaluation episodes of 2 runs" in proc.stdout
    for name, chosen in (("success", [e for e in episodes if e["success"]]),
                         ("failed, object kept", [e for e in episodes if not e["success"] and not e["dropped"]]),
                         ("failed, dropped", [e for e in episodes if e["dropped"]])):
        row = f"| {name} | {len(chosen)} | {np.mean([e['return'] for e in chosen]):.2f} |" if chosen else f"| {name} |"
        assert (row in proc.stdout) == bool(chosen), (name, len(chosen))
    finals = []
    for r in (run, runs["dsrl_na"]):
        summary = json.loads((r / "summary.json").read_text())
        final = [json.loads(line) for line in (r / summary["final"]["episodes_file"]).read_text().splitlines()]
        ok, ret = np.mean([e["success"] for e in final]), np.mean([e["return"] for e in final])
        assert f"| {r} | {ok:.2f} | {ret:.2f} | {np.mean([e['dropped'] for e in final]):.2f} |" in proc.stdout
        finals.append((ok, ret))
    points = [json.loads(line)["eval"]["episodes_file"] for line in (run / "metrics.jsonl").read_text().splitlines()
              if "eval" in json.loads(line)]
    counts = []
    for point in points:
        records = [json.loads(line) for line in (run / point).read_text().splitlines()]
        ok, dropped = sum(e["success"] for e in records), sum(e["dropped"] for e in records)
        counts.append(f"{ok} / {len(records) - ok - dropped} / {dropped}")
    assert f"| {run} | {' → '.join(counts)} |" in proc.stdout  # the offline point first, the final last
    (ok_a, ret_a), (ok_b, ret_b) = finals
    apart = abs(ok_a - ok_b) >= 0.05
    assert (f"Of {int(apart)} pairs of runs whose final success differs by 0.05 or more, the return ranks "
            f"{int(apart and (ok_a - ok_b) * (ret_a - ret_b) < 0)} the other way round.") in proc.stdout

    other_task = tmp_path / "other"
    shutil.copytree(run, other_task)
    config = json.loads((other_task / "config.json").read_text())
    (other_task / "config.json").write_text(json.dumps({**config, "env": "scissors_tape"}))
    for bad in ([str(tmp_path / "missing")], [str(run), str(other_task)], [str(run), "--evaluation", "first"]):
        proc = subprocess.run(tool + bad, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "error:" in proc.stderr, proc.stderr
        assert proc.stdout == ""
