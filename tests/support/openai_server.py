"""An OpenAI-compatible chat server on 127.0.0.1 with latency and fault injection, for provider tests.

Why a hand-written asyncio server: one event loop in a background thread carries hundreds of concurrent slow
requests (latency and hangs are `asyncio.sleep`, not threads) and answers hundreds of requests per second at
0 ms, so it is not the bottleneck of what it measures.

Faults are chosen deterministically from `seed`, the request body's hash and how many times that same body
was seen before (the attempt number): a fault hits one attempt, a retry of the same request can succeed, and
a rerun of a test sees the same faults. `script` forces a fault sequence on the first attempts of every
request (deterministic tests of each kind); the `rate_*` knobs spread faults at given rates (the mixed-fault
soak test).

Fault names: "500", "503", "429" (with Retry-After), "400", "401", "403", "hang" (no answer for `hang_s`),
"drop" (the connection is closed without an answer).

    with OpenAIServer(ServerConfig(latency_ms=200)) as server:
        params = server.params          # {"api_base": "http://127.0.0.1:PORT/v1", "api_key": "test"}
        ...                             # litellm.acompletion(model="openai/fake", messages=..., **params)
        server.log.count                # requests received, each with its body hash and attempt number
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Responder = Callable[[dict[str, Any]], dict[str, Any]]
FAULTS = ("500", "503", "429", "400", "401", "403", "hang", "drop")
# Echoed by 401 answers, as real providers do: the client must scrub it.
LEAKY_KEY = "sk-test-LEAKED0123456789abcdef"


def default_responder(body: dict[str, Any]) -> dict[str, Any]:
    """Call the first tool with {} while tools are offered and no tool result came back; else say "done"."""
    tools = body.get("tools") or []
    messages = body.get("messages") or []
    if tools and not any(m.get("role") == "tool" for m in messages):
        return {"content": None, "tool_calls": [{"name": tools[0]["function"]["name"], "arguments": {}}]}
    return {"content": "done", "tool_calls": []}


@dataclass
class ServerConfig:
    latency_ms: float = 0.0
    rate_500: float = 0.0
    rate_429: float = 0.0
    rate_hang: float = 0.0
    script: tuple[str, ...] = ()  # faults forced on attempts 0, 1, ... of every distinct request body
    retry_after: str | None = "0"  # Retry-After header on 429 answers (seconds); None sends no header
    hang_s: float = 30.0
    seed: int = 0
    responder: Responder = default_responder


@dataclass(frozen=True)
class LoggedRequest:
    body_hash: str
    attempt: int  # how many times this exact body was seen before
    outcome: str  # "ok" or a fault name
    started: float  # time.monotonic() when the request was parsed
    model: str


@dataclass
class RequestLog:
    """What the server saw; appended from the server thread, read from tests after calls finish."""

    entries: list[LoggedRequest] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def count(self) -> int:
        return len(self.entries)

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        return counts

    def per_body(self) -> dict[str, int]:
        """Requests per distinct body: a body sent more times than its attempts would be a duplicate."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.body_hash] = counts.get(entry.body_hash, 0) + 1
        return counts

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.seen.clear()
            self.max_in_flight = self.in_flight


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class OpenAIServer:
    """`POST /v1/chat/completions` on 127.0.0.1, an ephemeral port, in a background thread."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.log = RequestLog()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def params(self) -> dict[str, Any]:
        """litellm params that point an `openai/<name>` model at this server."""
        return {"api_base": self.base_url, "api_key": "test"}

    # ---- lifecycle ----
    def start(self) -> OpenAIServer:
        self._thread = threading.Thread(target=self._run, name="openai-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

    # ---- HTTP ----
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
                    await self._write(writer, 404, {"error": {"message": f"no route {method} {path}"}})
                    continue
                if not await self._answer(body, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return
        finally:
            self._handlers.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, raw: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must be dropped."""
        config = self.config
        try:
            body: dict[str, Any] = json.loads(raw or b"{}")
        except ValueError:
            await self._write(writer, 400, {"error": {"message": "request body is not JSON"}})
            return True
        # the hash of the canonical JSON, not the raw bytes: faults and duplicate counts do not depend on how
        # a client happens to order or space its keys
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        body_hash = hashlib.sha256(canonical).hexdigest()[:16]
        with self.log.lock:
            attempt = self.log.seen.get(body_hash, 0)
            self.log.seen[body_hash] = attempt + 1
            self.log.in_flight += 1
            self.log.max_in_flight = max(self.log.max_in_flight, self.log.in_flight)
        fault = self._fault(body_hash, attempt)
        self.log.entries.append(
            LoggedRequest(body_hash, attempt, fault or "ok", time.monotonic(), str(body.get("model", "")))
        )
        try:
            if config.latency_ms:
                await asyncio.sleep(config.latency_ms / 1000)
            if fault == "hang":
                await asyncio.sleep(config.hang_s)
                return False
            if fault == "drop":
                return False
            if fault is not None:
                status = int(fault)
                extra = {"retry-after": config.retry_after} if status == 429 and config.retry_after else {}
                message = f"injected {status}"
                if status == 401:
                    message = f"Incorrect API key provided: {LEAKY_KEY}. Authorization: Bearer {LEAKY_KEY}"
                await self._write(writer, status, {"error": {"message": message, "type": "injected"}}, extra)
                return True
            answer = config.responder(body)
            if "status" in answer:  # a responder may answer with an error of its own
                await self._write(writer, int(answer["status"]), {"error": {"message": answer.get("message", "")}})
                return True
            await self._write(writer, 200, self._completion(body, answer))
            return True
        finally:
            with self.log.lock:
                self.log.in_flight -= 1

    def _fault(self, body_hash: str, attempt: int) -> str | None:
        config = self.config
        if attempt < len(config.script):
            fault = config.script[attempt]
            return None if fault in ("", "ok") else fault
        roll = _unit(config.seed, body_hash, attempt)
        for name, rate in (("500", config.rate_500), ("429", config.rate_429), ("hang", config.rate_hang)):
            if roll < rate:
                return name
            roll -= rate
        return None

    @staticmethod
    def _completion(body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        calls = []
        for i, call in enumerate(answer.get("tool_calls") or []):
            arguments = call.get("arguments", {})
            calls.append(
                {
                    "id": f"call_{i}_{call['name']}",
                    "type": "function",
                    "function": {
                        "name": call["name"],
                        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                    },
                }
            )
        message: dict[str, Any] = {"role": "assistant", "content": answer.get("content")}
        if calls:
            message["tool_calls"] = calls
        prompt_tokens = max(1, len(json.dumps(body.get("messages", []))) // 4)
        completion_tokens = max(1, len(json.dumps(message)) // 4)
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "test"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        lines = [
            f"HTTP/1.1 {status} X",
            "content-type: application/json",
            f"content-length: {len(data)}",
            "connection: keep-alive",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()


@contextlib.contextmanager
def openai_server(**config: Any) -> Iterator[OpenAIServer]:
    """A running server for the duration of the block; keyword arguments are ServerConfig fields."""
    with OpenAIServer(ServerConfig(**config)) as server:
        yield server


class ServerPool:
    """Servers started on demand and all stopped on exit: `with ServerPool() as pool: pool.start(latency_ms=5)`.

    The `serve` fixture (tests/conftest.py) wraps it, so every server a test starts is stopped at teardown.
    """

    def __init__(self) -> None:
        self.servers: list[OpenAIServer] = []

    def start(self, **config: Any) -> OpenAIServer:
        self.servers.append(OpenAIServer(ServerConfig(**config)).start())
        return self.servers[-1]

    def __enter__(self) -> ServerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.stop()


Serve = Callable[..., OpenAIServer]  # the `serve` fixture: serve(**ServerConfig fields) -> a running server


def main(argv: list[str] | None = None) -> None:
    """Serve from a separate process (benchmarks: the server then does not share the client's GIL).

    Prints the port on stdout, then serves until stdin closes.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with OpenAIServer(ServerConfig(latency_ms=args.latency_ms, seed=args.seed)) as server:
        print(server.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
