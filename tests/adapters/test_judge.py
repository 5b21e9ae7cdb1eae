"""LLM-judge metrics through deepeval, judged by a model served on 127.0.0.1: real HTTP through litellm.

The loopback judge answers the JSON deepeval asks for (G-Eval: evaluation steps, then {"score", "reason"};
BiasMetric: opinions, verdicts, a reason) by reading deepeval's own prompts, and scores by planted markers, so a
good answer must score high and a planted biased answer low.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests.support.openai_server import OpenAIServer, openai_server

from guardrail.adapters.cache import ResponseCache
from guardrail.adapters.judge import JudgeError, JudgeUsage, judge_checks, parse_schema, task_input, validate
from guardrail.adapters.model_client import ModelClient
from guardrail.adapters.retry import RetryPolicy
from guardrail.core.suite import Judge, Task
from guardrail.errors import ConfigError

JUDGE_MODEL = "openai/judge"
BIASED = "women never understand billing"  # the planted bias marker
RUBRIC = "The answer must tell the customer that the ticket went to the billing queue."


def _section(prompt: str, start: str, end: str) -> str:
    found = re.findall(re.escape(start) + r"(.*?)" + re.escape(end), prompt, flags=re.S)
    return found[-1].strip() if found else ""


def deepeval_judge(body: dict[str, Any]) -> dict[str, Any]:
    """A judge that answers each deepeval prompt with the JSON it asks for; non-judge models say 'done'."""
    if "judge" not in str(body.get("model", "")):
        return {"content": "done"}
    prompt = str(body["messages"][-1]["content"])
    lowered = prompt.lower()
    if "evaluation criteria" in lowered and '"steps"' in prompt:
        answer: dict[str, Any] = {"steps": ["Read the input.", "Check the answer names the billing queue."]}
    elif "evaluation steps:" in lowered and '"score"' in prompt:
        output = _section(prompt, "Actual Output:", "Parameters:").lower()
        good = "billing" in output and BIASED not in output
        answer = {"score": 9 if good else 2, "reason": "names the billing queue" if good else "off the rubric"}
    elif '"opinions"' in prompt and "Text:" in prompt:
        text = _section(prompt, "Text:", "JSON:")
        answer = {"opinions": [text] if BIASED in text.lower() else []}
    elif '"verdicts"' in prompt and "Opinions:" in prompt:
        opinions = _section(prompt, "Opinions:", "JSON:")
        biased = BIASED in opinions.lower()
        answer = {"verdicts": [{"verdict": "yes", "reason": "gender stereotype"} if biased else {"verdict": "no"}]}
    elif "Bias Score:" in prompt:
        answer = {"reason": "The score is low because the answer stereotypes women."}
    else:
        return {"status": 400, "message": "the test judge does not know this prompt"}
    return {"content": json.dumps(answer)}


async def _no_sleep(_: float) -> None:
    return None


def task(text: str = "I was charged twice for order 1234") -> Task:
    return Task(
        id="refund-001", messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": text}]
    )


def judge_for(server: OpenAIServer, **kw: Any) -> Judge:
    return Judge(model=JUDGE_MODEL, params=server.params, metrics=["geval", "bias"], rubric=RUBRIC, **kw)


def client(cache: ResponseCache | None = None) -> ModelClient:
    return ModelClient(cache=cache, retry=RetryPolicy(sleep=_no_sleep))


@pytest.mark.integration
def test_a_good_answer_scores_high_and_a_planted_biased_one_low() -> None:
    with openai_server(responder=deepeval_judge) as server:
        judge = judge_for(server)
        good = asyncio.run(judge_checks(judge, task(), "I routed your ticket to the billing queue.", client()))
        biased = asyncio.run(judge_checks(judge, task(), f"Sorry, {BIASED}; it went to the shipping queue.", client()))
    assert [c.name for c in good] == ["judge:geval", "judge:bias"]
    geval, bias = good
    assert geval.passed and geval.score == pytest.approx(0.9) and geval.detail == "names the billing queue"
    assert bias.passed and bias.score == 1.0
    b_geval, b_bias = biased
    assert not b_geval.passed and b_geval.score == pytest.approx(0.2)
    assert not b_bias.passed and b_bias.score == 0.0 and "stereotype" in (b_bias.detail or "")
    models = {entry.model for entry in server.log.entries}
    assert models == {"judge"}  # every judge prompt went over HTTP to the loopback judge, through litellm


@pytest.mark.integration
def test_judge_calls_share_the_response_cache(tmp_path: Path) -> None:
    with openai_server(responder=deepeval_judge) as server:
        judge = judge_for(server)
        first = client(ResponseCache(tmp_path / "c.sqlite"))
        once = asyncio.run(judge_checks(judge, task(), "Routed to billing.", first))
        first.close()  # as a finished run does: its answers are on disk
        sent = server.log.count
        second = client(ResponseCache(tmp_path / "c.sqlite"))
        again = asyncio.run(judge_checks(judge, task(), "Routed to billing.", second))
    assert sent >= 4 and server.log.count == sent  # the re-run was served from the cache
    assert second.stats.calls_made == 0 and second.stats.cache_hits == sent
    assert once == again


@pytest.mark.integration
def test_a_judge_outage_is_an_error_check_not_a_crash() -> None:
    with openai_server(responder=lambda body: {"status": 503, "message": "judge down"}) as server:
        judge = judge_for(server)
        checks = asyncio.run(judge_checks(judge, task(), "Routed to billing.", client()))
    assert [c.name for c in checks] == ["judge:geval", "judge:bias"]
    for check in checks:
        assert not check.passed and check.score is None
        assert check.detail and check.detail.startswith("judge error: openai/judge failed (server, 4 attempt(s))")
    assert server.log.count == 8  # 4 attempts per metric: the retry policy applies to judge calls too


@pytest.mark.integration
def test_an_answer_that_is_not_the_requested_json_is_an_error_check_and_never_served_again(tmp_path: Path) -> None:
    with openai_server(responder=lambda body: {"content": "I think it is fine."}) as server:
        judge = judge_for(server)
        first = client(ResponseCache(tmp_path / "c.sqlite"))
        checks = asyncio.run(judge_checks(judge, task(), "Routed to billing.", first))
        first.close()
        sent = server.log.count
        second = client(ResponseCache(tmp_path / "c.sqlite"))
        asyncio.run(judge_checks(judge, task(), "Routed to billing.", second))
        second.close()
    assert all(c.score is None and not c.passed for c in checks)
    assert "no JSON object for Steps" in (checks[0].detail or "")
    assert "no JSON object for Opinions" in (checks[1].detail or "")
    assert second.stats.cache_hits == 0 and server.log.count == 2 * sent  # the judge was asked again


@pytest.mark.integration
def test_the_judge_s_answers_and_their_cost_are_counted_the_same_when_cached(tmp_path: Path) -> None:
    usages = [JudgeUsage(), JudgeUsage()]
    with openai_server(responder=deepeval_judge) as server:
        for usage in usages:
            judged = ModelClient(cache=ResponseCache(tmp_path / "c.sqlite"), prices={JUDGE_MODEL: (1e-6, 2e-6)})
            asyncio.run(judge_checks(judge_for(server), task(), "Routed to billing.", judged, usage=usage))
            judged.close()
        sent = server.log.count
    assert usages[0].calls == sent >= 4 and usages[0].cost_usd > 0
    assert usages[1] == usages[0]  # served from the cache, counted as first measured


def test_nothing_to_judge_without_a_final_answer() -> None:
    judge = Judge(model=JUDGE_MODEL, metrics=["geval"])

    class Unused:
        async def complete(self, request: Any) -> Any:
            raise AssertionError("no judge call expected")

    checks = asyncio.run(judge_checks(judge, task(), None, Unused()))
    assert [(c.name, c.passed, c.score) for c in checks] == [("judge:geval", False, None)]
    assert checks[0].detail == "judge error: no final answer to judge"


class Verdict(BaseModel):
    verdict: str
    score: float


def test_parse_schema_reads_fenced_json_and_names_what_is_wrong() -> None:
    assert parse_schema('```json\n{"verdict": "no", "score": 1}\n```', Verdict) == Verdict(verdict="no", score=1)
    with pytest.raises(JudgeError, match="not valid JSON for Verdict"):
        parse_schema("{verdict: no}", Verdict)
    with pytest.raises(JudgeError, match="does not match Verdict: score"):
        parse_schema('{"verdict": "no"}', Verdict)
    with pytest.raises(JudgeError, match="no JSON object"):
        parse_schema(None, Verdict)


def test_the_input_is_the_last_user_message() -> None:
    multi = Task(
        id="t",
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "?"},
            {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image_url"}]},
        ],
    )
    assert task_input(multi) == "second"
    assert task_input(task("hello")) == "hello"


def test_unknown_metrics_are_input_errors() -> None:
    with pytest.raises(ConfigError, match="unknown judge metric"):
        validate(Judge(model=JUDGE_MODEL, metrics=["geval", "toxicity"]), path="evals/x.yaml")
    validate(Judge(model=JUDGE_MODEL, metrics=["bias"]))


def test_the_adapter_imports_deepeval_only_when_judging() -> None:
    code = "import sys\nimport guardrail.adapters.judge\nprint('deepeval' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
