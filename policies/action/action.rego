# The per-call decision the runner asks for on every tool call during replay (data.action.decision).
#
# input: {"agent": <roster agent>, "tools": <roster tools>, "data_classes": <roster data classes>,
#         "call": {"name": ..., "args": {...}}, "approvals": [tools a person approved in this task],
#         "history": [earlier calls in the task, {"name": ..., "args": {...}, "allowed": bool}]}
# decision: {"allow": bool, "violations": [{"rule": "ACT-00N", "msg": ..., "severity": ...}]}; allow iff no violations.
# Violations carry their own severity because the runner reads them directly, without the METADATA pass.
package action

import rego.v1

import data.lib.tools

decision := {"allow": count(deny) == 0, "violations": [v | some v in deny]}

call := object.get(input, "call", {})

agent := object.get(input, "agent", {})

roster_tools := object.get(input, "tools", {})

approved(name) if name in object.get(input, "approvals", [])

incomplete contains sprintf("the action decision input has no %s object: refusing the call", [field]) if {
	some field in ["agent", "call"]
	not is_object(object.get(input, field, null))
}

incomplete contains "the action decision input names no tool in call.name: refusing the call" if {
	is_object(object.get(input, "call", null))
	not is_string(object.get(call, "name", null))
}

# METADATA
# title: The decision input is complete
# description: Without the agent or the call the policy cannot judge the action, so it is refused rather than allowed by default.
# custom:
#   id: ACT-006
#   severity: critical
#   controls: ["NIST AI RMF MANAGE 2.4", "SOC 2 CC6.1"]
deny contains {"rule": "ACT-006", "severity": "critical", "msg": msg} if {
	some msg in incomplete
}

# METADATA
# title: Agents call only tools granted to them
# description: An agent may call only the tools the roster grants it; a call to any other tool is refused.
# custom:
#   id: ACT-001
#   severity: high
#   controls: ["EU AI Act Art. 14", "NIST AI RMF MANAGE 2.4", "ISO/IEC 42001 A.9.4", "SOC 2 CC6.3"]
deny contains {"rule": "ACT-001", "severity": "high", "msg": msg} if {
	is_string(call.name)
	not call.name in object.get(agent, "tools", [])
	msg := sprintf("%s called %s, which is not granted to it", [object.get(agent, "name", "the agent"), call.name])
}

# METADATA
# title: Checkpointed tools are called only with an approval
# description: A call to a tool listed in the agent's approval_required_for, or to any high-risk tool, needs a person's approval granted in this task before it runs.
# custom:
#   id: ACT-002
#   severity: high
#   controls: ["EU AI Act Art. 14", "NIST AI RMF MAP 3.5", "NIST AI RMF MANAGE 2.4", "ISO/IEC 42001 A.9.2"]
deny contains {"rule": "ACT-002", "severity": "high", "msg": msg} if {
	is_string(call.name)
	needs_approval(call.name)
	not approved(call.name)
	msg := sprintf("%s called %s without a human approval in this task", [object.get(agent, "name", "the agent"), call.name])
}

needs_approval(name) if name in object.get(agent, "approval_required_for", [])

needs_approval(name) if tools.high_risk(name, roster_tools)

# What personal data in a string argument looks like: data.personal_data, generated from the redactor's own
# definition (src/guardrail/core/personal_data.py), so the policy and the redactor agree on every string. Each
# shape's `group` is the personal data; a card number also needs a network's prefix and the Luhn checksum, a phone
# number 7 to 15 digits, so order numbers, amounts and dates do not count.
found contains [arg_path, shape.what] if {
	walk(object.get(call, "args", {}), [path, value])
	is_string(value)
	some shape in data.personal_data.shapes
	# a shape that matches nowhere in the value matches nowhere in what searched() cuts from it: skip it at once
	regex.match(shape.pattern, value)
	some text in searched(shape, value)
	some match in regex.find_all_string_submatch_n(shape.pattern, text, -1)
	accepted(shape.accept, regex.replace(match[shape.group], `[^0-9]`, ""))
	arg_path := concat(".", [sprintf("%v", [p]) | some p in path])
}

# Without the generated patterns nothing can be recognised: every unapproved external call is refused (fail closed).
found contains ["all arguments", "data it cannot check: data.personal_data (policies/data/personal_data.yaml) is missing"] if {
	not data.personal_data.shapes
}

# The text, and what follows each candidate the digits reject: a shape's edges are consumed characters (no
# look-around in the regex subset Python and Rego share), so a rejected candidate can hold the edge the next one
# starts with. The redactor searches on from each candidate's end the same way (core/redact.py).
searched(shape, value) := {value} | {substring(value, after, -1) |
	some match in regex.find_all_string_submatch_n(shape.pattern, value, -1)
	not accepted(shape.accept, regex.replace(match[shape.group], `[^0-9]`, ""))
	after := (indexof(value, match[0]) + indexof(match[0], match[shape.group])) + count(match[shape.group])
}

accepted(null, _) := true

accepted("phone", digits) if {
	[low, high] := data.personal_data.phone_digits
	low <= count(digits)
	count(digits) <= high
}

accepted("card", digits) if {
	[low, high] := data.personal_data.card_digits
	low <= count(digits)
	count(digits) <= high
	card_network(digits)
	luhn_valid(digits)
}

card_network(digits) if {
	some prefix in data.personal_data.card_prefixes
	startswith(digits, prefix)
}

card_network(digits) if {
	some [n, low, high] in data.personal_data.card_ranges
	lead := digits_value(substring(digits, 0, n))
	low <= lead
	lead <= high
}

# The number a string of digits spells: the embedded engine's to_number refuses a leading zero ("01" is an error, not
# 1 as in OPA), and a card-shaped "0123 ..." would stop the whole evaluation.
digits_value(text) := to_number(trim_left(text, "0")) if regex.match(`[1-9]`, text)

digits_value(text) := 0 if not regex.match(`[1-9]`, text)

luhn_valid(number) if {
	digits := [to_number(c) | some c in split(number, "")]
	n := count(digits)
	total := sum([luhn_digit(d, (n - 1 - i) % 2) | some i, d in digits])
	total % 10 == 0
}

luhn_digit(d, position) := d if position == 0

luhn_digit(d, position) := d * 2 if {
	position == 1
	d < 5
}

luhn_digit(d, position) := (d * 2) - 9 if {
	position == 1
	d >= 5
}

# METADATA
# title: No personal data leaves through an external tool unapproved
# description: A call to an external tool whose arguments carry personal data (email addresses, phone numbers, card numbers) is refused unless a person approved that tool in this task, whatever data scopes the agent declares.
# custom:
#   id: ACT-003
#   severity: high
#   controls: ["GDPR Art. 32", "NIST AI RMF MEASURE 2.10", "ISO/IEC 42001 A.7.2", "SOC 2 CC6.7"]
deny contains {"rule": "ACT-003", "severity": "high", "msg": msg} if {
	is_string(call.name)
	tools.external(call.name, roster_tools)
	count(found) > 0
	not approved(call.name)
	kinds := concat(", ", sort({sprintf("%s (%s)", [what, arg]) | some [arg, what] in found}))
	msg := sprintf(
		"%s sent personal data to external tool %s without approval %s: %s",
		[object.get(agent, "name", "the agent"), call.name, holding, kinds],
	)
}

# Who holds what changes the story, not the verdict: personal data leaving an agent that declares no such scope is
# a scope breach as well as a leak.
holding := sprintf("while holding %s", [concat(", ", scopes)]) if {
	scopes := tools.sensitive_scopes(object.union({"data_scopes": []}, agent), object.get(input, "data_classes", {}))
	count(scopes) > 0
} else := "although it declares no personal-data scope"

# METADATA
# title: Autonomous agents do not call high-risk write tools
# description: An agent running autonomously is refused any call to a high-risk tool that writes, even if the roster granted it; such actions need a human-supervised agent.
# custom:
#   id: ACT-004
#   severity: critical
#   controls: ["EU AI Act Art. 14", "NIST AI RMF MANAGE 2.4", "ISO/IEC 42001 A.9.2", "SOC 2 CC6.3"]
deny contains {"rule": "ACT-004", "severity": "critical", "msg": msg} if {
	is_string(call.name)
	object.get(agent, "autonomy", "") == "autonomous"
	tools.high_risk(call.name, roster_tools)
	tools.writes(call.name, roster_tools)
	msg := sprintf("%s is autonomous and called high-risk write tool %s", [object.get(agent, "name", "the agent"), call.name])
}

# METADATA
# title: A write is not repeated with the same arguments
# description: Calling a writing tool again with identical arguments in one task after the first call went through (a second refund for the same order) is refused as a duplicate action.
# custom:
#   id: ACT-005
#   severity: medium
#   controls: ["SOC 2 PI1.3", "NIST AI RMF MEASURE 2.5"]
deny contains {"rule": "ACT-005", "severity": "medium", "msg": msg} if {
	is_string(call.name)
	tools.writes(call.name, roster_tools)
	some earlier in object.get(input, "history", [])
	earlier.name == call.name
	object.get(earlier, "allowed", true) != false
	object.get(earlier, "args", {}) == object.get(call, "args", {})
	msg := sprintf("%s called %s again with the same arguments in this task", [object.get(agent, "name", "the agent"), call.name])
}
