# GR-006: a roster is reviewed, diffed and committed; a credential in it is a leaked credential.
#
# What a credential looks like is stated once, in Python (src/guardrail/core/secrets.py), and generated into
# policies/data/credentials.yaml (data.credentials): the runner, the redactor and this rule give one answer.
package roster.secrets

import rego.v1

import data.credentials

# regorus pays per evaluation step, and walking a 1,000-agent roster visits ~20k nodes: so distinct strings are
# collected once and screened with one literal-alternation regex; only the few that pass meet the patterns.
strings := {value | walk(input, [_, value]); is_string(value)}

suspects := {value | some value in strings; regex.match(credentials.prefilter, value)}

hits contains [path, what] if {
	count(suspects) > 0
	walk(input, [path, value])
	value in suspects
	some what, pattern in credentials.shapes
	regex.match(pattern, value)
}

# Keys whose value is a credential whatever it looks like (compared lower-cased, "-" as "_"), unless the value
# points at the environment (os.environ/NAME) or is a "no key needed" placeholder. Agent params are the roster's
# only free-form mapping (the schema rejects unknown keys elsewhere), so that is where such keys can be.
hits contains [array.concat(["agents", i, "params"], path), "a credential under a secret-named key"] if {
	some i, agent in input.agents
	walk(object.get(agent, "params", {}), [path, value])
	is_string(value)
	count(path) > 0
	key := path[count(path) - 1]
	is_string(key)
	name := replace(lower(key), "-", "_")
	regex.match(credentials.secret_name, name)
	not regex.match(credentials.not_secret_name, name)
	not placeholder(value)
}

placeholder(value) if regex.match(credentials.env_reference, value)

placeholder(value) if lower(trim_space(value)) in {p | some p in credentials.placeholders}

# METADATA
# title: No credentials in the roster
# description: No value anywhere in the roster (descriptions, parameters, headers, URLs with user:password@) may look like an API key, token or password, and no secret-named parameter (api_key, Authorization...) may hold a literal value; reference secrets from the environment instead (os.environ/NAME, resolved when a request is sent).
# custom:
#   id: GR-006
#   severity: critical
#   controls: ["EU AI Act Art. 15", "NIST AI RMF MEASURE 2.7", "ISO/IEC 27001 A.5.17", "SOC 2 CC6.1"]
deny contains f if {
	some path in {p | some [p, _] in hits}
	what := concat(" and ", sort({w | some [q, w] in hits; q == path}))
	f := object.union(subject(path), {
		"rule": "GR-006",
		"msg": sprintf(
			"%s holds what looks like %s at %s: remove it and reference a secret from the environment (os.environ/NAME)",
			[holder(path), what, path_text(path)],
		),
	})
}

# The agent a path belongs to, when it is inside one.
subject(path) := {"agent": input.agents[path[1]].name} if path[0] == "agents"

subject(path) := {} if path[0] != "agents"

holder(path) := object.get(subject(path), "agent", "the roster")

# agents[2].params.api_key: the way a user finds the value in the file.
path_text(path) := concat("", [segment(i, part) | some i, part in path])

segment(_, part) := sprintf("[%d]", [part]) if is_number(part)

segment(i, part) := part if {
	is_string(part)
	i == 0
}

segment(i, part) := sprintf(".%s", [part]) if {
	is_string(part)
	i > 0
}
