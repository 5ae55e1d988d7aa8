"""Ray backend: one actor per GPU (or per CPU worker) holding a warm engine, one task per target.

Lost workers are Ray's to handle: actors restart and their unfinished tasks are retried.
Outputs are written by the actors, so the output folder must be shared by every node.
"""

from __future__ import annotations

from rau.batch.worker import WarmWorker
from rau.options import EngineOptions

RETRIES = 3


def run_on_ray(items, engine_name: str, options: EngineOptions, address: str, workers: int | None, gpus_per_worker: float,
               cpus_per_worker: float, on_row) -> None:
    """Run ``items`` on the Ray cluster at ``address`` (``auto``: the one this machine belongs to; ``local``: start one)."""
    import ray
    from ray.util import ActorPool

    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, log_to_driver=False)
    if workers is None:
        resources = ray.cluster_resources()
        workers = int(resources.get("GPU", 0) // gpus_per_worker) if gpus_per_worker else int(resources.get("CPU", 1) // cpus_per_worker)
    actor_class = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker, max_restarts=RETRIES, max_task_retries=RETRIES)(WarmWorker)
    actors = [actor_class.remote(engine_name, options) for _ in range(max(1, workers))]
    try:
        for row in ActorPool(actors).map_unordered(lambda actor, item: actor.run.remote(item), items):
            on_row(row)
    finally:
        for actor in actors:
            ray.kill(actor)
