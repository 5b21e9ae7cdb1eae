package roster.evidence_test

import rego.v1

import data.fixtures.roster as fx
import data.roster.evidence

test_agent_with_suites_has_no_warning if {
	count(evidence.warn) == 0 with input as fx.roster
}

test_agent_without_suites_warns if {
	result := evidence.warn with input as fx.roster_with([fx.agent_with({"suites": []})])
	fx.rules(result) == {"GR-008"}
	some f in result
	contains(f.msg, "sim/balanced")
}
