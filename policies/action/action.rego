# The action policy: the decision on each tool call, asked by replay (before every call an agent makes in an eval),
# the live hook (before every call a running agent makes) and the audit (for every call recorded in production).
#
# input: {"contexts": {<agent name>: {"agent": <roster agent>, "tools": <roster tools>, "data_classes": <...>}},
#         "logs": [[{"name": ..., "args": {...}, "allowed": bool}, ...], ...],
#         "calls": [{"context": <agent name>, "name": <tool>, "args": {...}, "approvals": [tools a person approved
#                    in this task], "history": [log, start, end], "personal_data": [[argument path, what], ...]}, ...]}
# A call's earlier calls in its task are logs[log][start:end]; its personal_data is what the redactor's search
# found in its arguments (core/action.py). Replay and the hook send one call (the hook two: as
# asked, and as if approved), the audit a thousand at a time; every call is judged on its own facts alone.
#
# deny: one {"call": <index in calls>, "rule": "ACT-00N", "msg": ..., "severity": ...} per violation; a call is
# allowed iff no violation names it. Violations carry their own severity because the callers read them directly,
# without the METADATA pass.
#
# Written over the whole list of calls rather than one call per evaluation: a rule costs the engine about as much
# to start as to judge a call, so an audit of a million calls pays that a thousand times, not a million. The calls
# are indexed by (agent, tool) pair once (`calls_to`); what the roster and catalog say of a pair is worked out once
# per pair (`checkpointed`, `external`, `writes`), and each rule looks only at the calls of the pairs it is about
# (docs/audit.md, "Throughput").
package action

import rego.v1

import data.lib.tools

calls := object.get(input, "calls", [])

contexts := object.get(input, "contexts", {})

# The roster's facts about the agent a context names ({} when the input has none: ACT-006 refuses its calls), read
# once per query.
agents[context] := object.get(facts, "agent", {}) if some context, facts in contexts

tools_of[context] := object.get(facts, "tools", {}) if some context, facts in contexts

agent(context) := object.get(agents, context, {})

roster_tools(context) := object.get(tools_of, context, {})

name_of(call) := object.get(agent(object.get(call, "context", null)), "name", "the agent")

approved(call) if call.name in object.get(call, "approvals", [])

# The calls to each (agent, tool) pair, by index: [context, tool] -> {i, ...}. A call without both is in none
# (ACT-006 refuses it).
calls_to[pair] contains i if {
	some i, call in calls
	pair := [call.context, call.name]
}

# The pairs that name a tool (one whose name is not a string is refused by ACT-006).
named contains pair if {
	some pair, _ in calls_to
	is_string(pair[1])
}

granted contains [context, name] if {
	some [context, name] in named
	name in object.get(agent(context), "tools", [])
}

# A person must approve a call to a tool listed in the agent's approval_required_for, and to any high-risk tool.
checkpointed contains [context, name] if {
	some [context, name] in named
	name in object.get(agent(context), "approval_required_for", [])
}

checkpointed contains [context, name] if {
	some [context, name] in named
	tools.high_risk(name, roster_tools(context))
}

external contains [context, name] if {
	some [context, name] in named
	tools.external(name, roster_tools(context))
}

writes contains [context, name] if {
	some [context, name] in named
	tools.writes(name, roster_tools(context))
}

# The agents the input describes; a call by any other is refused (ACT-006).
described contains name if {
	some name, context in contexts
	is_object(object.get(context, "agent", null))
}

# Without a list of calls nothing can be judged: the violation names no call (null), so every caller refuses them all.
incomplete contains [null, "the action decision input's calls is not a list: refusing every call"] if {
	not is_array(calls)
}

# The calls the index does not hold: looked for only when it holds fewer than the input has.
incomplete contains [i, msg] if {
	sum([count(indexes) | some indexes in calls_to]) != count(calls)
	indexed := {j | some indexes in calls_to; some j in indexes}
	some i, _ in calls
	not i in indexed
	msg := "the action decision input has no call object with a context and a name: refusing the call"
}

incomplete contains [i, "the action decision input names no tool in call.name: refusing the call"] if {
	some [_, name], indexes in calls_to
	not is_string(name)
	some i in indexes
}

incomplete contains [i, "the action decision input has no agent object for this call: refusing the call"] if {
	some [context, _], indexes in calls_to
	not context in described
	some i in indexes
}

# METADATA
# title: The decision input is complete
# description: Without the agent or the call the policy cannot judge the action, so it is refused rather than allowed by default.
# custom:
#   id: ACT-006
#   severity: critical
#   controls: ["NIST AI RMF MANAGE 2.4", "SOC 2 CC6.1"]
deny contains {"call": i, "rule": "ACT-006", "severity": "critical", "msg": msg} if {
	some [i, msg] in incomplete
}

# METADATA
# title: Agents call only tools granted to them
# description: An agent may call only the tools the roster grants it; a call to any other tool is refused.
# custom:
#   id: ACT-001
#   severity: high
#   controls: ["EU AI Act Art. 14", "NIST AI RMF MANAGE 2.4", "ISO/IEC 42001 A.9.4", "SOC 2 CC6.3"]
deny contains {"call": i, "rule": "ACT-001", "severity": "high", "msg": msg} if {
	some pair in named
	not pair in granted
	some i in calls_to[pair]
	call := calls[i]
	msg := sprintf("%s called %s, which is not granted to it", [name_of(call), call.name])
}

# METADATA
# title: Checkpointed tools are called only with an approval
# description: A call to a tool listed in the agent's approval_required_for, or to any high-risk tool, needs a person's approval granted in this task before it runs.
# custom:
#   id: ACT-002
#   severity: high
#   controls: ["EU AI Act Art. 14", "NIST AI RMF MAP 3.5", "NIST AI RMF MANAGE 2.4", "ISO/IEC 42001 A.9.2"]
deny contains {"call": i, "rule": "ACT-002", "severity": "high", "msg": msg} if {
	some pair in checkpointed
	some i in calls_to[pair]
	call := calls[i]
	not approved(call)
	msg := sprintf("%s called %s without a human approval in this task", [name_of(call), call.name])
}

# found[i]: the personal data in the arguments of call i, as [argument path, what], for the calls ACT-003 judges
# (to an external tool, not approved). Whoever asks finds it with the redactor's own search
# (src/guardrail/core/personal_data.py states the shapes once), so the policy refuses to send exactly what every
# record redacts; it arrives as the call's `personal_data`.
found[i] := {[arg, what] | some [arg, what] in call.personal_data} if {
	some pair in external
	some i in calls_to[pair]
	call := calls[i]
	call.personal_data[0] # some: a list that is empty, or none at all, is the next rule's or nobody's
	is_array(call.personal_data)
	not approved(call)
}

# A call whose arguments nobody searched cannot be judged: refused like one that holds personal data (fail closed).
found[i] := {["all arguments", "data nobody checked: the input gives no personal_data for this call"]} if {
	some pair in external
	some i in calls_to[pair]
	call := calls[i]
	not is_array(object.get(call, "personal_data", null))
	not approved(call)
}

# METADATA
# title: No personal data leaves through an external tool unapproved
# description: A call to an external tool whose arguments carry personal data (email addresses, phone numbers, card numbers) is refused unless a person approved that tool in this task, whatever data scopes the agent declares.
# custom:
#   id: ACT-003
#   severity: high
#   controls: ["GDPR Art. 32", "NIST AI RMF MEASURE 2.10", "ISO/IEC 42001 A.7.2", "SOC 2 CC6.7"]
deny contains {"call": i, "rule": "ACT-003", "severity": "high", "msg": msg} if {
	some i, hits in found
	call := calls[i]
	kinds := concat(", ", sort({sprintf("%s (%s)", [what, arg]) | some [arg, what] in hits}))
	msg := sprintf(
		"%s sent personal data to external tool %s without approval %s: %s",
		[name_of(call), call.name, holding(call), kinds],
	)
}

# Who holds what changes the story, not the verdict: personal data leaving an agent that declares no such scope is
# a scope breach as well as a leak.
holding(call) := sprintf("while holding %s", [concat(", ", scopes)]) if {
	classes := object.get(object.get(contexts, call.context, {}), "data_classes", {})
	scopes := tools.sensitive_scopes(object.union({"data_scopes": []}, agent(call.context)), classes)
	count(scopes) > 0
} else := "although it declares no personal-data scope"

# METADATA
# title: Autonomous agents do not call high-risk write tools
# description: An agent running autonomously is refused any call to a high-risk tool that writes, even if the roster granted it; such actions need a human-supervised agent.
# custom:
#   id: ACT-004
#   severity: critical
#   controls: ["EU AI Act Art. 14", "NIST AI RMF MANAGE 2.4", "ISO/IEC 42001 A.9.2", "SOC 2 CC6.3"]
deny contains {"call": i, "rule": "ACT-004", "severity": "critical", "msg": msg} if {
	some [context, name] in writes
	object.get(agent(context), "autonomy", "") == "autonomous"
	tools.high_risk(name, roster_tools(context))
	some i in calls_to[[context, name]]
	call := calls[i]
	msg := sprintf("%s is autonomous and called high-risk write tool %s", [name_of(call), call.name])
}

# METADATA
# title: A write is not repeated with the same arguments
# description: Calling a writing tool again with identical arguments in one task after the first call went through (a second refund for the same order) is refused as a duplicate action.
# custom:
#   id: ACT-005
#   severity: medium
#   controls: ["SOC 2 PI1.3", "NIST AI RMF MEASURE 2.5"]
deny contains {"call": i, "rule": "ACT-005", "severity": "medium", "msg": msg} if {
	some pair in writes
	some i in calls_to[pair]
	call := calls[i]
	[log, start, end] := call.history
	some earlier in array.slice(input.logs[log], start, end)
	earlier.name == call.name
	object.get(earlier, "allowed", true) != false
	object.get(earlier, "args", {}) == object.get(call, "args", {})
	msg := sprintf("%s called %s again with the same arguments in this task", [name_of(call), call.name])
}
