from __future__ import annotations

import json
from importlib import resources

import jsonschema
from tests.support.policies import ROSTER

from guardrail.core.roster import roster_json_schema


def test_published_schema_matches_the_model() -> None:
    shipped = json.loads(resources.files("guardrail").joinpath("schemas/roster.schema.json").read_text())
    assert shipped == roster_json_schema(), (
        "regenerate: guardrail roster schema > src/guardrail/schemas/roster.schema.json"
    )


def test_schema_accepts_a_valid_roster_and_rejects_a_typo() -> None:
    import yaml

    schema = roster_json_schema()
    document = yaml.safe_load(ROSTER)
    jsonschema.validate(document, schema)
    document["agents"][0]["ownr"] = "x"
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(document))
