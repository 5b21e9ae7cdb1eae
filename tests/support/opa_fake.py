"""A loopback fake of the few OPA REST endpoints guardrail's OPA backend uses, backed by the embedded engine.

No OPA binary can be installed on the build machines, so the OPA backend is tested against this instead: an
HTTP server on 127.0.0.1 (ephemeral port) that stores pushed modules and data, compiles them with regorus
(guardrail.adapters.rego.RegoEngine) and answers in OPA's JSON shapes:

    GET    /health                     200 {}
    GET    /v1/policies                {"result": [{"id", "raw", "ast": {"package": {"path": [...]}}}]}
    PUT    /v1/policies/<id>           200 {} | 400 {"code": "invalid_parameter", "errors": [{code, message,
                                       location: {file, row, col}}]}
    DELETE /v1/policies/<id>           200 {} | 404
    PUT    /v1/data/<path>             204
    PATCH  /v1/data/<path>             204 (JSON Patch "add"/"replace"/"remove")
    POST   /v1/data/<path>             {"result": value} | {} when undefined | 500 on an evaluation error

Like OPA, it compiles each pushed module against what it already holds: a module importing a package that is
not loaded yet is rejected with a rego_type_error (OPA rejects calls to functions of packages it lacks; the
fake approximates that with imports). Knobs: `fail_status` makes every API call fail with that status,
`delay_s` holds every answer back (for timeouts). All requests are served on one thread, as regorus engines
are bound to the thread that made them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from guardrail.adapters.rego import UNDEFINED, PolicyBundle, RegoEngine
from guardrail.errors import GuardrailError

_LOCATED = re.compile(r"^(?P<file>.+?):(?P<row>\d+):(?P<col>\d+): (?P<msg>.*)$", re.DOTALL)
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_IMPORT = re.compile(r"^import\s+data\.([\w.]+)", re.MULTILINE)


class FakeOpa:
    """Start with `with FakeOpa() as opa:`; `opa.url` is the base URL to hand to OpaServerEngine."""

    def __init__(self) -> None:
        self.modules: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_status: int | None = None
        self.delay_s = 0.0
        self._engine: RegoEngine | None = None
        self._engine_has_input = False
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.02)
        finally:
            self._engine = None  # a regorus engine must be dropped on the thread that made it

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeOpa:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- what OPA does with each request --------------------------------------------------------------------

    def put_policy(self, policy_id: str, source: str) -> tuple[int, Any]:
        problem = self._missing_import(policy_id, source) or self._compile({**self.modules, policy_id: source})
        if problem is not None:
            return 400, {
                "code": "invalid_parameter",
                "message": "error(s) occurred while compiling module(s)",
                "errors": [problem],
            }
        self.modules[policy_id] = source
        self._engine = None
        return 200, {}

    def delete_policy(self, policy_id: str) -> tuple[int, Any]:
        if self.modules.pop(policy_id, None) is None:
            return 404, {
                "code": "resource_not_found",
                "message": f"storage_not_found_error: policy id {policy_id!r}",
            }
        self._engine = None
        return 200, {}

    def list_policies(self) -> tuple[int, Any]:
        result = []
        for policy_id, source in self.modules.items():
            match = _PACKAGE.search(source)
            segments = match.group(1).split(".") if match else []
            path = [{"type": "var", "value": "data"}] + [{"type": "string", "value": s} for s in segments]
            result.append({"id": policy_id, "raw": source, "ast": {"package": {"path": path}}})
        return 200, {"result": result}

    def put_data(self, path: list[str], value: Any) -> tuple[int, Any]:
        if not path:
            self.data = value
        else:
            node = self.data
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
        self._engine = None
        return 204, None

    def patch_data(self, path: list[str], patches: list[dict[str, Any]]) -> tuple[int, Any]:
        for patch in patches:
            target = path + [p for p in str(patch["path"]).split("/") if p]
            if patch["op"] in ("add", "replace"):
                self.put_data(target, patch["value"])
            elif patch["op"] == "remove":
                node = self.data
                for key in target[:-1]:
                    node = node[key]
                node.pop(target[-1], None)
        self._engine = None
        return 204, None

    def query(self, path: list[str], body: dict[str, Any]) -> tuple[int, Any]:
        query = ".".join(["data", *path])
        has_input = body.get("input") is not None
        if self._engine is None or (self._engine_has_input and not has_input):
            bundle = PolicyBundle(modules=list(self.modules.items()), data=self.data)
            self._engine, self._engine_has_input = RegoEngine(bundle), False
        try:
            value = self._engine.query(query, body.get("input"))
        except GuardrailError as exc:
            return 500, {"code": "internal_error", "message": str(exc)}
        self._engine_has_input = self._engine_has_input or has_input
        return 200, ({} if value is UNDEFINED else {"result": value})

    # --- compile emulation ----------------------------------------------------------------------------------

    def _compile(self, modules: dict[str, str]) -> dict[str, Any] | None:
        try:
            RegoEngine(PolicyBundle(modules=list(modules.items()), data=self.data))
        except GuardrailError as exc:
            match = _LOCATED.match(exc.message)
            if match is None:
                return {"code": "rego_compile_error", "message": exc.message}
            code = "rego_unsafe_var_error" if "unsafe" in match["msg"] else "rego_parse_error"
            location = {"file": match["file"], "row": int(match["row"]), "col": int(match["col"])}
            return {"code": code, "message": match["msg"], "location": location}
        return None

    def _missing_import(self, policy_id: str, source: str) -> dict[str, Any] | None:
        packages = {m.group(1) for text in [*self.modules.values(), source] for m in _PACKAGE.finditer(text)}
        for match in _IMPORT.finditer(source):
            ref = match.group(1)
            known = ref.split(".")[0] in self.data or any(
                ref == pkg or pkg.startswith(ref + ".") or ref.startswith(pkg + ".") for pkg in packages
            )
            if not known:
                row = source.count("\n", 0, match.start()) + 1
                return {
                    "code": "rego_type_error",
                    "message": f"undefined ref: data.{ref}",
                    "location": {"file": policy_id, "row": row, "col": 1},
                }
        return None


class _QuietServer(HTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is expected in the timeout tests


def _handler_for(fake: FakeOpa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _answer(self, status: int, body: Any) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _route(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            raw = self._body()
            fake.requests.append((method, path))
            if fake.delay_s:
                time.sleep(fake.delay_s)
            if path == "/health":
                return self._answer(200, {})
            if fake.fail_status is not None:
                return self._answer(fake.fail_status, {"code": "internal_error", "message": "injected failure"})
            parts = [p for p in path.split("/") if p]
            if parts[:2] == ["v1", "policies"]:
                policy_id = "/".join(parts[2:])
                if method == "GET" and not policy_id:
                    return self._answer(*fake.list_policies())
                if method == "PUT":
                    return self._answer(*fake.put_policy(policy_id, raw.decode("utf-8")))
                if method == "DELETE":
                    return self._answer(*fake.delete_policy(policy_id))
            if parts[:2] == ["v1", "data"]:
                data_path = parts[2:]
                value = json.loads(raw) if raw else None
                if method == "PUT":
                    return self._answer(*fake.put_data(data_path, value))
                if method == "PATCH":
                    return self._answer(*fake.patch_data(data_path, value or []))
                if method == "POST":
                    return self._answer(*fake.query(data_path, value or {}))
            return self._answer(404, {"code": "resource_not_found", "message": f"{method} {path}"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_PUT(self) -> None:
            self._route("PUT")

        def do_DELETE(self) -> None:
            self._route("DELETE")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


__all__ = ["FakeOpa"]
