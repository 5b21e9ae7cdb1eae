# Fake credentials are assembled from parts at test time so that no secret-looking literal is ever committed.
package roster.secrets_test

import rego.v1

import data.fixtures.roster as fx
import data.roster.secrets

deny_of(roster) := result if {
	result := secrets.deny with input as roster
}

with_params(params) := fx.roster_with([fx.agent_with({"params": params})])

openai_style := concat("", ["sk-", "proj-", "Z3x9Q2w8E7r6T5y4U3i2O1p0"])

aws_style := concat("", ["AK", "IA", "Q4Z7X2C9V1B8N3M6"])

github_style := concat("", ["gh", "p_", "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"])

test_clean_roster_passes if {
	count(deny_of(fx.roster)) == 0
}

test_api_key_in_params_is_denied if {
	result := deny_of(with_params({"api_base": "http://127.0.0.1:8000", "api_key": openai_style}))
	count(result) == 1
	some f in result
	f.rule == "GR-006"
	f.agent == "support-triage"
	startswith(f.msg, "support-triage holds")
	contains(f.msg, "agents[0].params.api_key")
	contains(f.msg, "sk-...")
	contains(f.msg, "secret-named key")
	not contains(f.msg, openai_style)
}

test_aws_key_in_description_is_denied if {
	agent := fx.agent_with({"description": sprintf("uploads reports with %s", [aws_style])})
	some f in deny_of(fx.roster_with([agent]))
	contains(f.msg, "AWS access key")
	contains(f.msg, "agents[0].description")
}

test_github_token_in_tool_description_is_roster_level if {
	tools := object.union(fx.tools, {"web.search": {"description": sprintf("token %s", [github_style])}})
	result := deny_of(object.union(fx.roster, {"tools": tools}))
	some f in result
	not f.agent
	startswith(f.msg, "the roster holds")
	contains(f.msg, "tools.web.search.description")
	contains(f.msg, "GitHub token")
}

test_bearer_header_and_password_assignment_are_denied if {
	bearer := concat(" ", ["Bearer", "eyJhbGciOi.fakepayload.fakesig00"])
	result := deny_of(with_params({"extra_headers": {"X-Trace": bearer}, "note": concat("", ["pass", "word=", "hunter2x"])}))
	count(result) == 2
	whats := {f.msg | some f in result}
	some m1 in whats
	contains(m1, "bearer token")
	some m2 in whats
	contains(m2, "password assignment")
}

test_slack_token_and_private_key_are_denied if {
	slack := concat("", ["xo", "xb-", "1234567890-abcdefghij"])
	pem := concat("", ["-----BEGIN ", "RSA PRIVATE KEY-----\nMIIB..."])
	count(deny_of(with_params({"a": slack, "b": pem}))) == 2
}

test_environment_references_are_allowed if {
	count(deny_of(with_params({"api_key": "os.environ/OPENAI_API_KEY", "x-api-key": "os.environ/X_KEY"}))) == 0
}

# Only litellm's os.environ/NAME is resolved at send time: a shell-style reference would be sent as the key.
test_other_reference_syntaxes_are_not_references if {
	result := deny_of(with_params({"token": "${HF_TOKEN}", "secret": "env:X"}))
	count(result) == 2
}

test_no_key_placeholders_are_allowed if {
	count(deny_of(with_params({"api_key": "EMPTY", "token": "none", "Authorization": ""}))) == 0
}

test_credentials_in_a_url_are_denied if {
	url := concat("", ["http://svc:", "hunter2x", "@10.0.0.5:8000/v1"])
	result := deny_of(with_params({"api_base": url}))
	count(result) == 1
	some f in result
	contains(f.msg, "credentials in a URL")
	contains(f.msg, "agents[0].params.api_base")
	not contains(f.msg, "hunter2x")
}

test_max_tokens_and_headers_are_not_secret_names if {
	count(deny_of(with_params({"max_tokens": "512", "extra_headers": {"X-Team": "support"}}))) == 0
}

test_ordinary_words_do_not_trip_patterns if {
	agent := fx.agent_with({"description": "task-management-and-risk-assessment-for-the-desk-team; password reset flows"})
	count(deny_of(fx.roster_with([agent]))) == 0
}

test_empty_secret_named_value_is_fine if {
	count(deny_of(with_params({"api_key": ""}))) == 0
}
