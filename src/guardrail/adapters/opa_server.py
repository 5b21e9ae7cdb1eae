"""The OPA-server backend: push the same policies and data to a running OPA, ask it the same questions.

For organisations that already run OPA (`--opa-url`). `OpaServerEngine` offers the calls the rest of
guardrail makes on `EngineWorker` (`query`, `packages`, `close`), so roster checks, the gate and replays can
be decided by that server instead of the embedded regorus engine. On construction it pushes the bundle through
OPA's REST API: `PUT /v1/policies/<id>` per module and `PUT /v1/data/<stem>` per data key; queries are
`POST /v1/data/<path>`.

Modules are stored under ids `guardrail/<path>`, so a shared server's other policies are left alone, and
modules an earlier push stored but this bundle no longer has are deleted. Pushed policies stay on the server
after `close()`: serving them is the point of an organisation's OPA.

HTTP goes through `opa-python-client` (sync, requests-based, one timeout per request). The tests run against a
loopback fake of these endpoints (tests/support/opa_fake.py) backed by the embedded engine, because no OPA
binary can be installed on the build machines: the client path is exercised end to end, OPA's own compiler
is not.

Errors: a module OPA rejects (400 with `errors[].location`) is a PolicyError `path:line:col: message`; an
unreachable server, a timeout or a 5xx is an EngineError, so a gate fails closed.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from guardrail.adapters.rego import DEFAULT_TIMEOUT_S, UNDEFINED, PolicyBundle, to_json
from guardrail.errors import ConfigError, EngineError, PolicyError

POLICY_ID_PREFIX = "guardrail/"
_DATA_PATH = re.compile(r"^data(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
# OPA error codes that mean the server, not the user's files, is at fault.
_SERVER_FAULTS = ("internal_error", "unavailable", None)
# Parse errors first: a module that only failed because it calls a broken or unpushed one is the least useful.
_ERROR_ORDER = {
    "rego_parse_error": 0,
    "rego_compile_error": 1,
    "rego_unsafe_var_error": 2,
    "rego_type_error": 3,
}


class OpaServerEngine:
    """Policies and data pushed to an OPA server; queries answered by it."""

    def __init__(
        self,
        url: str,
        bundle: PolicyBundle,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        token: str | None = None,
        retries: int = 2,
    ) -> None:
        from opa_client import OpaClient

        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{url!r} is not an http(s)://host:port URL", field="opa-url")
        if parts.path not in ("", "/") or parts.query:
            raise ConfigError(f"{url!r}: OPA's API must be at the URL's root (no path)", field="opa-url")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise ConfigError(f"{url!r}: {exc}", field="opa-url") from None
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.bundle, self.timeout_s = bundle, timeout_s
        self._paths = {POLICY_ID_PREFIX + path: path for path, _ in bundle.modules}
        self._client: Any = OpaClient(
            host=parts.hostname,
            port=port,
            ssl=parts.scheme == "https",
            token=token,
            retries=retries,
            timeout=timeout_s,
        )
        try:
            self._remove_stale()
            self._push_data()
            self._push_policies()
        except BaseException:
            self.close()
            raise

    # --- pushing the bundle ---------------------------------------------------------------------------------

    def _remove_stale(self) -> None:
        """Delete modules an earlier push stored that this bundle lacks: a removed file must stop deciding."""
        for policy_id in self._call("get_policies_list", what="listing policies"):
            if policy_id.startswith(POLICY_ID_PREFIX) and policy_id not in self._paths:
                self._call("delete_policy", policy_id, what=f"deleting stale policy {policy_id}")

    def _push_data(self) -> None:
        from opa_client.errors import RegoParseError

        for stem, value in _jsonable(self.bundle.data).items():  # dates become strings, as embedded
            what = f"pushing data.{stem}"
            try:
                if isinstance(value, dict):
                    self._call("update_or_create_data", value, stem, what=what)
                else:  # the client's PUT takes objects only; a JSON patch at the root sets any value
                    patch = [{"op": "add", "path": f"/{stem}", "value": value}]
                    self._call("patch_data", "", patch, what=what)
            except RegoParseError as exc:
                message = f"OPA server {self.url} refused data.{stem}: {exc.expression}: {exc.message}"
                if exc.expression in _SERVER_FAULTS:
                    raise EngineError(message) from None
                hint = "a data file's name may clash with a policy package"
                raise PolicyError(message, hint=hint) from None

    def _push_policies(self) -> None:
        """PUT every module. OPA compiles each against what it already holds, so a module calling a package
        not pushed yet is rejected: rejected modules are retried after the rest until a pass gains nothing."""
        from opa_client.errors import RegoParseError

        pending = [(POLICY_ID_PREFIX + path, source) for path, source in self.bundle.modules]
        while pending:
            rejected: list[tuple[str, str, RegoParseError]] = []
            for policy_id, source in pending:
                try:
                    self._call(
                        "update_policy_from_string",
                        source,
                        policy_id,
                        rego_compat=False,
                        what=f"pushing {self._paths[policy_id]}",
                    )
                except RegoParseError as exc:
                    rejected.append((policy_id, source, exc))
            if len(rejected) == len(pending):
                raise self._push_error([exc for _, _, exc in rejected])
            pending = [(policy_id, source) for policy_id, source, _ in rejected]

    def _push_error(self, rejections: list[Any]) -> PolicyError | EngineError:
        """OPA's 400 carries located compile errors (the user's to fix); anything else is the server's."""
        located: list[tuple[int, str]] = []
        for exc in rejections:
            for error in exc.errors or []:
                location = error.get("location") if isinstance(error, dict) else None
                if not location:
                    continue
                file = str(location.get("file", ""))
                where = f"{self._paths.get(file, file)}:{location.get('row', 0)}:{location.get('col', 0)}"
                rank = _ERROR_ORDER.get(str(error.get("code")), 1)
                located.append((rank, f"{where}: {error.get('message', 'rejected by OPA')}"))
        if located:
            best = min(rank for rank, _ in located)
            return PolicyError("\n".join(dict.fromkeys(text for rank, text in located if rank == best)))
        first = rejections[0]
        message = f"OPA server {self.url} rejected the policies: {first.expression}: {first.message}"
        return EngineError(message) if first.expression in _SERVER_FAULTS else PolicyError(message)

    # --- the engine interface -------------------------------------------------------------------------------

    def query(self, query: str, input: Any = None) -> Any:
        """The value of a data-path query (`data.a.b`), or UNDEFINED when OPA has no result."""
        text = query.strip()
        if not _DATA_PATH.match(text):
            raise PolicyError(
                f"{query!r}: the OPA backend answers data-path queries only (data.pkg.rule)",
                hint="use the embedded engine (no --opa-url) for ad-hoc expressions",
            )
        body = self._call(
            "query_rule",
            input_data=None if input is None else _jsonable(input),
            package_path=text.removeprefix("data").removeprefix("."),
            what=f"evaluating {query}",
        )
        if not isinstance(body, dict) or "result" not in body:
            return UNDEFINED
        return body["result"]

    def packages(self) -> list[str]:
        """The packages of the modules this engine pushed, spelled `data.a.b` like the embedded engine's."""
        info = self._call("get_policies_info", what="listing packages")
        prefix = f"{self._client.root_url}/"  # the client reports each package as <root_url>/data/a/b
        return sorted(
            {
                entry["path"].removeprefix(prefix).replace("/", ".")
                for policy_id, entry in info.items()
                if policy_id in self._paths and isinstance(entry, dict) and "path" in entry
            }
        )

    def close(self) -> None:
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            client.close_connection()

    def __enter__(self) -> OpaServerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- error translation ----------------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, what: str, **kwargs: Any) -> Any:
        """One client call; transport failures and server errors become EngineError naming the step."""
        import requests
        from opa_client.errors import ConnectionsError, DeleteDataError, DeletePolicyError, PatchDataError

        if self._client is None:
            raise EngineError(f"the OPA backend for {self.url} is closed (while {what})")
        server = f"OPA server {self.url}"
        try:
            return getattr(self._client, method)(*args, **kwargs)
        except requests.Timeout:
            raise EngineError(
                f"{server} did not answer within {self.timeout_s:g}s while {what}",
                hint="raise --policy-timeout if the server is just slow",
            ) from None
        except requests.ConnectionError as exc:
            raise EngineError(f"{server} is unreachable while {what}: {_reason(exc)}") from None
        except requests.HTTPError as exc:
            raise EngineError(f"{server} failed while {what}: {_opa_message(exc.response)}") from None
        except requests.RequestException as exc:  # e.g. a proxy's HTML error page where OPA JSON was expected
            raise EngineError(f"{server} gave an unusable answer while {what}: {exc}") from None
        except (ConnectionsError, DeleteDataError, DeletePolicyError, PatchDataError) as exc:
            raise EngineError(f"{server} refused while {what}: {exc.expression}: {exc.message}") from None


def _jsonable(value: Any) -> Any:
    return json.loads(to_json(value))


def _reason(exc: Exception) -> str:
    """The innermost cause, without urllib3's pool and retry wrapping."""
    text = str(exc)
    match = re.search(r"Connection refused|Name or service not known|timed out|No route to host", text)
    return match.group(0) if match else text.splitlines()[0][:200]


def _opa_message(response: Any) -> str:
    """OPA's error body says what went wrong (`{"code": ..., "message": ...}`); fall back to the status."""
    if response is None:
        return "no response"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return f"HTTP {response.status_code} {body.get('code') or 'error'}: {body['message']}"
    return f"HTTP {response.status_code}"


__all__ = ["POLICY_ID_PREFIX", "OpaServerEngine"]
