# Shared by the audit rules. input (built by guardrail audit from the traces in the window):
#   roster: the roster as the roster policies see it
#   agents: one entry per agent seen: {name, tool_calls, model_calls, tools_used: {tool: calls},
#           first: {trace_id, span_id}, models: [{model, provider, id, calls, first}],
#           days: [{day, cost_usd, calls, unpriced_calls, crossed?: {trace_id, span_id}, last: {trace_id, span_id}}]}
#   window: {since, until} (RFC 3339 or null)
package audit.lib

import rego.v1

roster_agent(name) := agent if {
	some agent in input.roster.agents
	agent.name == name
}

on_roster(name) if roster_agent(name)

# A trace's model id with a snapshot date removed: gpt-4o-mini-2024-07-18 -> gpt-4o-mini,
# claude-haiku-4-5-20251001 -> claude-haiku-4-5.
undated(name) := regex.replace(name, `-[0-9]{4}-?[0-9]{2}-?[0-9]{2}$`, "")

# A litellm id without its provider prefix: openai/gpt-4o-mini -> gpt-4o-mini.
bare(id) := substring(id, indexof(id, "/") + 1, -1) if contains(id, "/")

else := id

# The model a trace recorded is the roster's model: its litellm id (the trace's provider mapped to a litellm prefix,
# see guardrail.core.audit.PROVIDER_PREFIXES) equals the roster id, snapshot dates aside; a model recorded without a
# known provider is compared by its bare name.
same_model(roster_id, seen) if {
	is_string(seen.id)
	undated(seen.id) == roster_id
}

same_model(roster_id, seen) if {
	is_string(seen.id)
	not contains(seen.id, "/")
	undated(seen.id) == bare(roster_id)
}
