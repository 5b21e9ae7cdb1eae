"""What the CI gate trusts: the base's policies, policy data, eval specs and suites, never the change's own.

With `--base-ref`, the policy folder, `evals/` and the suites the official specs name are read from the base ref
into a temporary folder (`git archive`): the gate evaluates those policies (with their catalog, approvals and
waivers), finds official specs there and binds evidence to their hashes. What the change does to those files is
reported: an edited policy, policy data file, policy test or eval spec is a `policy change` that needs its own
approval (naming the exact proposed content by hash); edited approvals or waivers take effect only once merged.
With `--base FILE` there is no ref to trust, so the working tree's files are used and the report says so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from guardrail.adapters.git import export_tree
from guardrail.app.eval_specs import EVALS_DIR, EvalSpecs
from guardrail.app.evidence import CurrentHashes
from guardrail.core.hashing import GOVERNANCE_RECORDS, POLICY_SUFFIXES, sha256_file, tree_files
from guardrail.errors import ConfigError, PolicyError
from guardrail.project import Project

WORKING_TREE = "working tree"
SPEC_SUFFIXES = (".yaml", ".yml")


class FileChange(BaseModel):
    path: str  # relative to the project
    status: Literal["added", "modified", "deleted"]


def _files(folder: Path, suffixes: tuple[str, ...]) -> dict[str, str]:
    """Relative path -> sha256 of every file a hash of `folder` covers."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in tree_files(folder, suffixes)}


def _compare(base: dict[str, str], head: dict[str, str], prefix: str, *, added: bool = True) -> list[FileChange]:
    out = [FileChange(path=prefix + p, status="deleted") for p in base if p not in head]
    out += [FileChange(path=prefix + p, status="modified") for p in base if p in head and base[p] != head[p]]
    if added:
        out += [FileChange(path=prefix + p, status="added") for p in head if p not in base]
    return sorted(out, key=lambda c: c.path)


@dataclass
class TrustedTree:
    """Where the trusted inputs live (`root`, `policies_dir`), where they came from, and what the change edits."""

    project: Project
    root: Path
    policies_dir: Path
    head_policies: Path  # the working tree's policy folder, for what the change edits
    source: str  # the base ref, or "working tree"
    policy_changes: list[FileChange] = field(default_factory=list)
    governance_changes: list[FileChange] = field(default_factory=list)
    proposal: dict[str, str] = field(default_factory=dict)  # edited file -> sha256 of its proposed content
    specs: EvalSpecs = field(init=False)  # the trusted specs
    head_specs: EvalSpecs = field(init=False)  # the working tree's (the same reader without a ref)
    current: CurrentHashes = field(init=False)  # the hashes evidence must match: the trusted inputs'

    def __post_init__(self) -> None:
        self.specs = EvalSpecs(self.root)
        self.head_specs = EvalSpecs(self.project.root) if self.trusted else self.specs
        self.current = CurrentHashes(self.root, self.policies_dir, self.specs.suite_dirs)
        self._here = CurrentHashes(self.project.root, self.head_policies, self.head_specs.suite_dirs)

    @property
    def trusted(self) -> bool:
        return self.source != WORKING_TREE

    def proposal_key(self) -> str | None:
        """The approval key of the policy change: a hash of exactly the proposed content of every edited file, so an
        approval cannot be reused for a different edit."""
        if not self.policy_changes:
            return None
        digest = hashlib.sha256()
        for change in self.policy_changes:
            digest.update(f"{change.path}\0{change.status}\0{self.proposal.get(change.path, '')}\n".encode())
        return f"policy_change:sha256:{digest.hexdigest()}"

    def fetch_suites(self, spec_paths: list[str], names: list[str]) -> None:
        """Bring the suites the official specs (and the roster's suite names) point at from the base."""
        if not self.trusted:
            return
        wanted = {f"suites/{name}" for name in names}
        for spec_path in spec_paths:
            wanted |= {
                p.relative_to(self.root).as_posix()
                for p in self.specs.suite_dirs(spec_path).values()
                if p.resolve().is_relative_to(self.root.resolve())
            }
        if wanted:
            export_tree(self.source, self.project.root, sorted(wanted), self.root)

    def drift(self, spec_path: str) -> list[str]:
        """The inputs evidence for `spec_path` is bound to that the working tree has changed against the base."""
        if not self.trusted:
            return []
        here, there = self._here, self.current
        out = [spec_path] if here.spec(spec_path) != there.spec(spec_path) else []
        out += ["policies"] if here.policies != there.policies else []
        for name in sorted(self.specs.suite_dirs(spec_path)):
            if here.suite(spec_path, name) != there.suite(spec_path, name):
                out.append(f"suites/{name}")
        return out


def open_trusted(project: Project, policies_dir: Path, base_ref: str | None, scratch: Path) -> TrustedTree:
    """The trusted tree for this gate: the base ref's files copied under `scratch`, or the working tree."""
    if base_ref is None:
        return TrustedTree(project, project.root, policies_dir, policies_dir, WORKING_TREE)
    try:
        rel = policies_dir.resolve().relative_to(project.root).as_posix()
    except ValueError:
        raise ConfigError(
            "with --base-ref the policies are read at the base ref, so they must be inside the project",
            path=str(policies_dir),
            field="--policies",
        ) from None
    present = export_tree(base_ref, project.root, [rel, EVALS_DIR], scratch)
    if rel not in present:
        raise PolicyError(
            f"{base_ref} has no {rel}/: the gate decides with the base's policies, never the change's own",
            hint="land the policies on the base branch first (a reviewed change the gate cannot judge)",
        )
    tree = TrustedTree(project, scratch, scratch / rel, policies_dir, base_ref)
    base_files, head_files = _files(scratch / rel, POLICY_SUFFIXES), _files(policies_dir, POLICY_SUFFIXES)
    changes = _compare(base_files, head_files, f"{rel}/")
    governance = {f"{rel}/{g}" for g in GOVERNANCE_RECORDS}
    tree.governance_changes = [c for c in changes if c.path in governance]
    tree.policy_changes = [c for c in changes if c.path not in governance]
    # an existing eval spec is trusted too (its thresholds decide); a new one is official nowhere yet
    base_specs = _files(scratch / EVALS_DIR, SPEC_SUFFIXES)
    head_specs = _files(project.root / EVALS_DIR, SPEC_SUFFIXES)
    tree.policy_changes += _compare(base_specs, head_specs, f"{EVALS_DIR}/", added=False)
    tree.proposal = {f"{rel}/{p}": h for p, h in head_files.items()}
    tree.proposal |= {f"{EVALS_DIR}/{p}": h for p, h in head_specs.items()}
    return tree


__all__ = ["WORKING_TREE", "FileChange", "TrustedTree", "open_trusted"]
