"""`api_key: os.environ/NAME` (litellm's form) is resolved when the request is sent, by both transports, over real
HTTP on 127.0.0.1: the server sees the variable's value, never the reference, and the request record, the cache
key and any error keep only the reference."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from guardrail.adapters.cache import cache_key
from guardrail.adapters.transport import Transport
from guardrail.core.llm import Completion, CompletionRequest

KEY = "sk-" + "env-" + "resolved0123456789abcd"  # assembled so no key-shaped literal is committed


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["litellm", "auto"])
def test_environment_references_are_resolved_on_the_wire_only(
    server: str, mode: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GR_TEST_KEY", KEY)
    monkeypatch.setenv("GR_TEST_BASE", server)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    params = {
        "api_key": "os.environ/GR_TEST_KEY",
        "api_base": "os.environ/GR_TEST_BASE",
        "extra_headers": {"X-Org": "os.environ/GR_TEST_KEY"},
    }
    request = CompletionRequest(model="openai/local", messages=[{"role": "user", "content": "hi"}], params=params)
    result, _ = asyncio.run(Transport(mode).send(request))
    assert isinstance(result, Completion), result
    (headers,) = _Recorder.seen
    assert headers["authorization"] == f"Bearer {KEY}" and headers["x-org"] == KEY
    assert request.params["api_key"] == "os.environ/GR_TEST_KEY"  # the record keeps the reference
    other = {**params, "api_key": "os.environ/GR_OTHER_KEY"}
    assert cache_key(request) == cache_key(request.model_copy(update={"params": other}))  # keys never shape it
