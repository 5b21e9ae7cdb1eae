# The action policy over a batch of recorded calls, in one evaluation: the audit asks the engine once per batch, not
# once per call. Each call is judged by data.action.decision with exactly the input replay gives the runner
# (policies/action/action.rego): the agent's roster facts, the call, the approvals and the earlier calls.
#
# input: {"contexts": {<agent>: {"agent": ..., "tools": ..., "data_classes": ...}},
#         "logs": [[{"name", "args", "allowed"}, ...], ...],
#         "events": [{"context": <agent>, "call": {"name", "args"}, "approvals": [...], "history": [log, start, end]}]}
# An event's earlier calls are a slice of a log (one agent's calls in one trace), so each call is sent once per
# batch rather than once for every later call that has it in its history.
# decisions: one data.action.decision per event, in order. An event whose context is missing is judged without an
# agent, which the action policy refuses (ACT-006): fail closed.
package audit.batch

import rego.v1

decisions := [d |
	some e in input.events
	call_input := object.union(
		object.get(input.contexts, e.context, {}),
		{"call": e.call, "approvals": e.approvals, "history": array.slice(input.logs[e.history[0]], e.history[1], e.history[2])},
	)
	d := data.action.decision with input as call_input
]
