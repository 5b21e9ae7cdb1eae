# GR-001: agents use only tools the governance team has catalogued, rated no less risky than the catalog rates them.
# (writes/external need no check here: lib.tools makes them true when either the roster or the catalog says so.)
package roster.catalog

import rego.v1

import data.lib.tools

# METADATA
# title: Tools come only from the governance catalog
# description: Every tool an agent holds must be listed in the governance tool catalog, and the roster may not rate a tool less risky than the catalog does; the catalog wins.
# custom:
#   id: GR-001
#   severity: high
#   controls: ["EU AI Act Art. 9", "NIST AI RMF GOVERN 1.6", "NIST AI RMF MAP 4.1", "ISO/IEC 42001 A.4.4", "SOC 2 CC6.1"]
deny contains f if {
	some problem in problems
	f := object.union({"rule": "GR-001"}, problem)
}

problems contains {"agent": agent.name, "msg": msg} if {
	some agent in input.agents
	some tool in agent.tools
	not tools.in_catalog(tool)
	msg := sprintf("%s holds %s, which is not in the governance tool catalog", [agent.name, tool])
}

problems contains {"msg": msg} if {
	some name, tool in input.tools
	listed := tools.listed(name)
	tools.rank[tool.risk] < tools.rank[listed.risk]
	msg := sprintf("the roster declares %s as %s risk but the governance catalog rates it %s", [name, tool.risk, listed.risk])
}

