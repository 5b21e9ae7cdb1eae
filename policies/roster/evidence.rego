# GR-008: a model switch must be backed by evaluation evidence; an agent with no suites cannot produce any.
package roster.evidence

import rego.v1

# METADATA
# title: Agents have eval suites to back a model switch
# description: An agent with no eval suites cannot have a model change measured, so the gate will refuse any switch for it; add a suite before proposing one.
# custom:
#   id: GR-008
#   severity: low
#   controls: ["EU AI Act Art. 15", "NIST AI RMF MEASURE 2.5", "ISO/IEC 42001 A.6.2.4"]
warn contains f if {
	some agent in input.agents
	count(object.get(agent, "suites", [])) == 0
	f := {
		"rule": "GR-008",
		"agent": agent.name,
		"msg": sprintf("%s has no eval suites: a switch of its model (%s) cannot be evaluated", [agent.name, agent.model]),
	}
}
