"""guardrail: the governance of an AI agent roster as code.

Importing the package applies the offline defaults first, so no SDK imported later can phone home.
"""

from __future__ import annotations

from guardrail._offline import apply_offline_defaults

apply_offline_defaults()

__version__ = "0.1.0"
__all__ = ["__version__"]
