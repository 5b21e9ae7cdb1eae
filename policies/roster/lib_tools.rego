# Effective facts about a tool: the roster's own declaration merged with the governance catalog (data.catalog.tools),
# where the catalog wins. Shared by the roster guardrails and the action policy so both judge a tool the same way.
package lib.tools

import rego.v1

rank := {"low": 0, "medium": 1, "high": 2}

# The governance catalog; empty when none is loaded, so every tool is then "not in the catalog" (fail closed).
default catalog := {}

catalog := data.catalog.tools

in_catalog(name) if name in object.keys(catalog)

declared(name, tools) := object.get(tools, name, {})

listed(name) := object.get(catalog, name, {})

# The higher of the roster's declared risk and the catalog's risk.
risk(name, tools) := "high" if {
	some entry in [declared(name, tools), listed(name)]
	entry.risk == "high"
} else := "medium" if {
	some entry in [declared(name, tools), listed(name)]
	entry.risk == "medium"
} else := "low"

# risk(name, tools) == "high", without its else-chain: the action policy asks this of every tool a call names.
high_risk(name, tools) if declared(name, tools).risk == "high"

high_risk(name, tools) if listed(name).risk == "high"

writes(name, tools) if declared(name, tools).writes == true

writes(name, tools) if listed(name).writes == true

external(name, tools) if declared(name, tools).external == true

external(name, tools) if listed(name).external == true

# A data scope whose data class the roster marks high-sensitivity.
sensitive(scope, data_classes) if data_classes[scope].sensitivity == "high"

# The agent's high-sensitivity data scopes, sorted, for messages.
sensitive_scopes(agent, data_classes) := sort([scope |
	some scope in agent.data_scopes
	sensitive(scope, data_classes)
])
