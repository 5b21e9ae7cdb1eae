package lib.tools_test

import rego.v1

import data.fixtures.roster as fx
import data.lib.tools

test_risk_is_the_higher_of_roster_and_catalog if {
	tools.risk("payments.refund", {"payments.refund": {"risk": "low"}}) == "high" with data.catalog as fx.catalog
	tools.risk("email.send", {"email.send": {"risk": "low"}}) == "medium" with data.catalog as fx.catalog
	tools.risk("web.search", {"web.search": {"risk": "high"}}) == "high" with data.catalog as fx.catalog
	tools.risk("web.search", {}) == "low" with data.catalog as fx.catalog
}

test_unknown_tool_takes_roster_risk if {
	tools.risk("shell.exec", {"shell.exec": {"risk": "medium"}}) == "medium" with data.catalog as fx.catalog
	not tools.in_catalog("shell.exec") with data.catalog as fx.catalog
	tools.in_catalog("email.send") with data.catalog as fx.catalog
}

test_missing_catalog_knows_no_tool if {
	not tools.in_catalog("email.send") with data.catalog as {}
}

test_writes_and_external_true_if_either_says_so if {
	tools.writes("payments.refund", {"payments.refund": {"writes": false}}) with data.catalog as fx.catalog
	tools.writes("x", {"x": {"writes": true}}) with data.catalog as fx.catalog
	not tools.writes("crm.lookup_order", fx.tools) with data.catalog as fx.catalog
	tools.external("email.send", {}) with data.catalog as fx.catalog
	tools.external("x", {"x": {"external": true}}) with data.catalog as fx.catalog
	not tools.external("tickets.route", fx.tools) with data.catalog as fx.catalog
}

test_sensitive_scopes_sorted_and_filtered if {
	classes := {"b": {"sensitivity": "high"}, "a": {"sensitivity": "high"}, "c": {"sensitivity": "low"}}
	tools.sensitive_scopes({"data_scopes": ["c", "b", "a"]}, classes) == ["a", "b"]
	tools.sensitive_scopes({"data_scopes": ["c"]}, classes) == []
}
