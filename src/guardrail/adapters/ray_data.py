"""Ray Data behind two functions; `ray` is imported here only, lazily (the `guardrail[ray]` extra).

A local Ray is started for the call: single-node on 127.0.0.1, without its dashboard, log forwarding, usage stats
(`RAY_USAGE_STATS_ENABLED=0` is among guardrail's offline defaults) or cloud detection; `address` joins an existing
cluster instead. tests/app/test_audit_ray.py runs it under the project's netguard.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from guardrail.errors import CouldNotFinish


def start(address: str | None, workers: int | None) -> int:
    """Start (or join) Ray; the number of policy workers to run."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not address:
        # a single-node Ray on the loopback address (Ray otherwise binds its services to the host's public address)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
        import ray.data
    except ImportError:
        raise CouldNotFinish(
            "--engine ray needs Ray: pip install 'guardrail[ray]'", hint="or audit with the embedded engine"
        ) from None
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING"}
        if address:
            ray.init(address=address, **options)
        else:
            with _quiet_home():
                # one CPU per policy worker, and one for the reading and shuffling tasks (without it the actors hold
                # every CPU and the read never runs)
                ray.init(num_cpus=(workers or os.cpu_count() or 1) + 1, _node_ip_address="127.0.0.1", **options)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    pool = workers or max(1, int(ray.available_resources().get("CPU", 2)) - 1)
    # Ray Data's default of 200 shuffle partitions is sized for clusters: on a few workers the per-partition tasks
    # cost more than the work (measured: 50,000 spans took 12 minutes with 200, see bench/bench_audit.py)
    context.default_hash_shuffle_parallelism = 2 * pool
    context.min_parallelism = 2 * pool
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return pool


_homes: list[Path] = []  # the HOMEs of the local Rays started here


@contextlib.contextmanager
def _quiet_home() -> Iterator[None]:
    """Ray's processes with a HOME holding an empty `ray_bootstrap_config.yaml`.

    Even with usage stats disabled, Ray's dashboard process reads `~/ray_bootstrap_config.yaml` and, when it is
    missing, asks the cloud metadata endpoints (169.254.169.254, metadata.google.internal) which cloud it runs on.
    The processes started here inherit this HOME; the driver's own is restored at once.
    """
    home = Path(tempfile.mkdtemp(prefix="guardrail-ray-home-"))
    (home / "ray_bootstrap_config.yaml").write_text("{}\n", encoding="utf-8")
    _homes.append(home)
    atexit.register(shutil.rmtree, home, True)  # if Ray was never shut down (shutdown() removes it first)
    before = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = before


def grouped_pipeline(
    rows: list[dict[str, Any]],
    *,
    read: Callable[[dict[str, Any]], Iterator[dict[str, Any]]],
    key: str,
    assemble: Callable[..., dict[str, Any]],
    assemble_kwargs: dict[str, Any],
    judge: type,
    judge_kwargs: dict[str, Any],
    batch_size: int,
    workers: int,
    sort: str,
) -> Iterator[dict[str, Any]]:
    """rows -flat_map(read)-> groupby(key).map_groups(assemble) -map_batches(judge actors)-> sorted rows."""
    import ray

    ds = (
        ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
        .flat_map(read)
        .groupby(key, num_partitions=2 * workers)
        .map_groups(assemble, fn_kwargs=assemble_kwargs, batch_format="numpy")
        .map_batches(
            judge,
            fn_constructor_kwargs=judge_kwargs,
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
        )
        .sort(sort)
    )
    yield from ds.iter_rows()


def shutdown() -> None:
    """Ray and the processes it started here stopped, and their HOME removed."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    while _homes:
        shutil.rmtree(_homes.pop(), ignore_errors=True)


__all__ = ["grouped_pipeline", "shutdown", "start"]
