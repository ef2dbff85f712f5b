"""docs/development.md's worked example: a task added as one module and one registration runs end to
end through the real CLI entry point, with demonstrations from its expert in a real Minari dataset."""

import json

from softflow_bench.envs import ENV_IDS, EXPERTS, TASK_METRICS, TASKS, ExpertSpec, Task, register


def test_a_task_added_in_one_module_and_one_registration_trains_and_reports_its_metrics(tmp_path):
    from softflow_bench import demos
    from softflow_bench.run import main

    register("slider_reach", Task("example/SliderReach-v0", "example_task:SliderReachEnv",
                                  (("distance", "distance_mean"),),
                                  ExpertSpec("slider-v1", "example_task", "SliderExpert", "example_task")))
    try:
        out = tmp_path / "run"
        assert main(["--algo", "bc_flow", "--env", "slider_reach", "--tier", "smoke", "--threads", "1",
                     "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["env_id"] == "example/SliderReach-v0"
        assert 0.0 <= summary["final"]["distance_mean"] <= 1.0  # the task's own metric, aggregated
        # its demonstrations: the expert's, both modes, in a Minari dataset keyed by its code
        dataset = demos.load_dataset("slider_reach", summary["config"]["demo_episodes"], 0)
        episodes = list(dataset.iterate_episodes())
        assert len(episodes) == summary["config"]["demo_episodes"]
        assert set(dataset.storage.metadata["softflow_modes"].split(",")) == {"straight", "overshoot"}
        assert sum(bool(e.infos["success"][-1]) for e in episodes) >= len(episodes) // 2
    finally:
        for table in (TASKS, ENV_IDS, EXPERTS, TASK_METRICS):
            table.pop("slider_reach", None)
