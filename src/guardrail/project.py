"""Where a project keeps its things. One place, so every command agrees on the layout.

The project root is the nearest ancestor of the starting point holding `policies/` or `.git`; outputs live under it
(never in the working directory), so running from a subfolder does not scatter `mlruns/` and caches around.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        here = (start or Path.cwd()).resolve()
        if here.is_file():
            here = here.parent
        for candidate in (here, *here.parents):
            if (candidate / "policies").is_dir() or (candidate / ".git").exists():
                return cls(candidate)
        return cls(Path.cwd().resolve())

    @property
    def policies(self) -> Path:
        return self.root / "policies"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def state(self) -> Path:
        """Tool state that is not a deliverable: response cache, MLflow store."""
        return self.root / ".guardrail"

    @property
    def cache(self) -> Path:
        return self.state / "cache"

    @property
    def evidence(self) -> Path:
        """Evidence records meant to be committed next to the roster, so CI can check them."""
        return self.root / "evidence"

    @property
    def mlflow_uri(self) -> str:
        return f"sqlite:///{self.state / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.state / "mlartifacts"

    def display(self, path: Path) -> str:
        """A path as users should read it: relative to the project when inside it."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)
