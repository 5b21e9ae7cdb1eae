# GR-006: a roster is reviewed, diffed and committed; a credential in it is a leaked credential.
package roster.secrets

import rego.v1

# What a value looks like, and the pattern that says so.
patterns := {
	"an OpenAI/Anthropic-style API key (sk-...)": `\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}`,
	"an AWS access key id (AKIA...)": `\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`,
	"a GitHub token (ghp_...)": `\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})`,
	"a Slack token (xox...)": `\bxox[abposr]-[A-Za-z0-9-]{10,}`,
	"a bearer token": `(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}`,
	"a password assignment (password=...)": `(?i)\b(?:password|passwd|pwd)\s*=\s*\S+`,
	"a private key": `-----BEGIN [A-Z ]*PRIVATE KEY-----`,
}

# regorus pays per evaluation step, and walking a 1,000-agent roster visits ~20k nodes: so distinct strings are
# collected once and screened with one literal-alternation regex; only the few that pass meet the patterns.
prefilter := `(?i)sk-|akia|asia|gh[pousr]_|github_pat_|xox|bearer|passw|pwd|private key`

strings := {value | walk(input, [_, value]); is_string(value)}

suspects := {value | some value in strings; regex.match(prefilter, value)}

hits contains [path, what] if {
	count(suspects) > 0
	walk(input, [path, value])
	value in suspects
	some what, pattern in patterns
	regex.match(pattern, value)
}

# Keys whose value is a credential whatever it looks like (compared lower-cased, "-" as "_"), unless the value
# points at the environment instead. Agent params are the roster's only free-form mapping (the schema rejects
# unknown keys elsewhere), so that is where such keys can be.
secret_keys := {
	"api_key", "apikey", "x_api_key", "access_token", "auth_token", "client_secret", "secret",
	"password", "passwd", "authorization",
}

env_reference := `^(?:os\.environ/[A-Za-z_][A-Za-z0-9_]*|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|env:[A-Za-z_][A-Za-z0-9_]*)$`

hits contains [array.concat(["agents", i, "params"], path), "a credential under a secret-named key"] if {
	some i, agent in input.agents
	walk(object.get(agent, "params", {}), [path, value])
	is_string(value)
	value != ""
	count(path) > 0
	key := path[count(path) - 1]
	is_string(key)
	replace(lower(key), "-", "_") in secret_keys
	not regex.match(env_reference, value)
}

# METADATA
# title: No credentials in the roster
# description: No value anywhere in the roster (descriptions, parameters, headers) may look like an API key, token or password; reference secrets from the environment instead (for litellm, os.environ/NAME).
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
