"""Benchmark the provider layer alone (ModelClient -> throttle -> retry -> transport -> HTTP) against the loopback
server.

    .venv/bin/python bench/bench_provider.py [--n 900] [--latency-ms 200] [--concurrency 64] [--rounds 3]
                                             [--transport auto|litellm]

`--transport auto` (the default, as in an eval spec) sends these `openai/<name>` + api_base requests straight to the
server; `litellm` sends them through litellm.
Prints medians over the rounds:
  * latency-bound: N requests at `--latency-ms` with `--concurrency` slots: wall time and its ratio to the ideal
    N x latency / concurrency (the runner's end-to-end target is <= 1.5 at 900 x 200 ms x 64);
  * throughput: N requests at 0 ms: requests per second (the runner's end-to-end target is >= 200/s with scoring);
  * cached re-run: the same N requests again through the response cache: model calls (must be 0) and wall time.

The server runs in its own process (tests/support/openai_server.py), so it does not share the client's GIL; pass
--in-process to run it in a thread instead. Import and first-call costs are paid before any timing starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import guardrail  # noqa: E402,F401  (offline defaults before litellm)
from guardrail.adapters import llm  # noqa: E402
from guardrail.adapters.cache import ResponseCache  # noqa: E402
from guardrail.adapters.model_client import ModelClient  # noqa: E402
from guardrail.adapters.transport import Mode, Transport  # noqa: E402
from guardrail.core.llm import Completion, CompletionRequest  # noqa: E402


@contextmanager
def server(latency_ms: float, in_process: bool) -> Iterator[dict[str, Any]]:
    """litellm params for a running loopback server."""
    if in_process:
        from tests.support.openai_server import openai_server

        with openai_server(latency_ms=latency_ms) as running:
            yield running.params
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.openai_server", "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield {"api_base": f"http://127.0.0.1:{port}/v1", "api_key": "test"}
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def requests(n: int, params: dict[str, Any], tag: str) -> list[CompletionRequest]:
    return [
        CompletionRequest(
            model="openai/bench",
            messages=[{"role": "system", "content": "You route tickets."}, {"role": "user", "content": f"{tag} {i}"}],
            params=params,
            timeout_s=30,
        )
        for i in range(n)
    ]


async def timed(client: ModelClient, batch: list[CompletionRequest]) -> float:
    start = time.perf_counter()
    results = await asyncio.gather(*(client.complete(r) for r in batch))
    elapsed = time.perf_counter() - start
    failed = sum(1 for r in results if not isinstance(r, Completion))
    if failed:
        raise SystemExit(f"{failed} of {len(batch)} requests failed; the figures would be meaningless")
    return elapsed


async def bare_litellm(batch: list[CompletionRequest], concurrency: int) -> float:
    """The same requests straight through litellm.acompletion with a semaphore: the floor our layer sits on."""
    import litellm

    gate = asyncio.Semaphore(concurrency)

    async def one(request: CompletionRequest) -> None:
        async with gate:
            await litellm.acompletion(
                model=request.model,
                messages=request.messages,
                timeout=30,
                max_retries=0,
                num_retries=0,
                **request.params,
            )

    start = time.perf_counter()
    await asyncio.gather(*(one(r) for r in batch))
    return time.perf_counter() - start


async def server_alone(params: dict[str, Any], n: int, connections: int = 16) -> float:
    """Requests per second the loopback server answers over keep-alive sockets with a minimal raw client.

    A bare-socket client costs almost nothing, so this measures the server, which must not be the bottleneck.
    """
    port = int(params["api_base"].rsplit(":", 1)[1].split("/")[0])
    body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}]}).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: {len(body)}\r\n\r\n".encode()

    async def worker(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            writer.write(head + body)
            headers = await reader.readuntil(b"\r\n\r\n")
            if not headers.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"server answered {headers[:40]!r}")
            length = int(headers.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(n // connections) for _ in range(connections)))
    return (n // connections * connections) / (time.perf_counter() - start)


async def warm(params: dict[str, Any], mode: Mode) -> None:
    llm.preload()
    client = ModelClient(transport=Transport(mode))
    await timed(client, requests(8, params, "warm-up"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=900)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="run the server in a thread of this process")
    parser.add_argument("--transport", choices=("auto", "litellm"), default="auto")
    args = parser.parse_args()
    n, rounds, mode = args.n, args.rounds, args.transport

    print(f"provider layer: {n} requests, concurrency {args.concurrency}, transport {mode}, medians of {rounds} rounds")
    print(f"server: {'in-process thread' if args.in_process else 'separate process'}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")

    with server(args.latency_ms, args.in_process) as params:
        asyncio.run(warm(params, mode))
        walls, bare_walls = [], []
        for r in range(rounds):
            bare_walls.append(asyncio.run(bare_litellm(requests(n, params, f"bare-latency-{r}"), args.concurrency)))
            client = ModelClient(default_concurrency=args.concurrency, transport=Transport(mode))
            walls.append(asyncio.run(timed(client, requests(n, params, f"latency-round-{r}"))))
            assert client.stats.calls_made == n
        wall = statistics.median(walls)
        ideal = n * args.latency_ms / 1000 / args.concurrency
        print(
            f"\n[{args.latency_ms:.0f} ms latency] wall {wall:.2f} s (rounds: {', '.join(f'{w:.2f}' for w in walls)})"
        )
        print(f"  ideal N x latency / concurrency = {ideal:.2f} s -> ratio {wall / ideal:.2f} (e2e target <= 1.5)")
        bare_wall = statistics.median(bare_walls)
        print(f"  bare litellm.acompletion, same requests: {bare_wall:.2f} s -> layer/bare {wall / bare_wall:.2f}")

    with server(0.0, args.in_process) as params, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(warm(params, mode))
        rates, bare_rates, cached_walls, cached_calls = [], [], [], []
        for r in range(rounds):
            bare_rates.append(n / asyncio.run(bare_litellm(requests(n, params, f"bare-round-{r}"), args.concurrency)))
            batch = requests(n, params, f"throughput-round-{r}")
            cache_path = Path(tmp) / f"responses-{r}.sqlite"
            client = ModelClient(
                cache=ResponseCache(cache_path), default_concurrency=args.concurrency, transport=Transport(mode)
            )
            rates.append(n / asyncio.run(timed(client, batch)))
            client.close()
            rerun = ModelClient(
                cache=ResponseCache(cache_path), default_concurrency=args.concurrency, transport=Transport(mode)
            )
            cached_walls.append(asyncio.run(timed(rerun, batch)))
            cached_calls.append(rerun.stats.calls_made)
            rerun.close()
        rate = statistics.median(rates)
        server_rate = statistics.median(asyncio.run(server_alone(params, n)) for _ in range(rounds))
        print(f"\n[0 ms latency] {rate:.0f} requests/s (rounds: {', '.join(f'{x:.0f}' for x in rates)})")
        bare = statistics.median(bare_rates)
        print(f"  bare litellm.acompletion, same requests: {bare:.0f}/s -> layer/bare {rate / bare:.2f}")
        print(f"  the loopback server alone (raw keep-alive sockets): {server_rate:.0f}/s")
        print("  (cache writes included; the runner's e2e target is >= 200 task-evaluations/s with scoring)")
        print(
            f"\n[cached re-run] model calls {max(cached_calls)} (must be 0), "
            f"wall {statistics.median(cached_walls):.3f} s for {n} requests"
        )


if __name__ == "__main__":
    main()
