"""Cost, named keys and allowlists through the official openai and anthropic Python clients,
against `mantle-host serve --emulate --keys FILE`.

Environment: MANTLE_FACE_URL (http://127.0.0.1:PORT/v1), MANTLE_KEY_A (a key allowed
openai.gpt-oss-120b and claude-opus-4.7 only), MANTLE_KEY_CI (a key allowed every model).
"""

import os
import unittest

import anthropic
import openai

FACE_URL = os.environ["MANTLE_FACE_URL"]
KEY_A = os.environ["MANTLE_KEY_A"]
KEY_CI = os.environ["MANTLE_KEY_CI"]

OPEN_MODEL = "openai.gpt-oss-120b"
# AWS's published price of gpt-oss-120b, USD per million tokens (us-east-1): no cache price
# is published, so cached tokens cost the input price.
INPUT, OUTPUT = 0.15, 0.60
PROMPT = "prompt-text-that-must-never-be-logged"


def expected_cost(prompt_tokens, completion_tokens):
    return (prompt_tokens * INPUT + completion_tokens * OUTPUT) / 1e6


class Operate(unittest.TestCase):
    def setUp(self):
        self.a = openai.OpenAI(base_url=FACE_URL, api_key=KEY_A, max_retries=0)
        self.ci = openai.OpenAI(base_url=FACE_URL, api_key=KEY_CI, max_retries=0)

    def test_cost_in_usage_and_header(self):
        raw = self.a.chat.completions.with_raw_response.create(
            model=OPEN_MODEL, messages=[{"role": "user", "content": PROMPT}]
        )
        answer = raw.parse()
        usage = answer.usage
        cost = usage.model_extra["cost"]
        want = expected_cost(usage.prompt_tokens, usage.completion_tokens)
        self.assertAlmostEqual(cost["total_cost"], want, places=12)
        self.assertAlmostEqual(cost["input_tokens_cost"] + cost["cache_read_cost"],
                               usage.prompt_tokens * INPUT / 1e6, places=12)
        self.assertAlmostEqual(cost["output_tokens_cost"], usage.completion_tokens * OUTPUT / 1e6, places=12)
        self.assertEqual(cost["cache_write_cost"], 0)
        self.assertAlmostEqual(float(raw.headers["x-mantle-cost-usd"]), want, places=12)

    def test_cost_in_the_final_usage_chunk(self):
        stream = self.a.chat.completions.create(
            model=OPEN_MODEL, messages=[{"role": "user", "content": PROMPT}],
            stream=True, stream_options={"include_usage": True},
        )
        last = list(stream)[-1]
        cost = last.usage.model_extra["cost"]
        self.assertAlmostEqual(cost["total_cost"],
                               expected_cost(last.usage.prompt_tokens, last.usage.completion_tokens),
                               places=12)

    def test_cost_in_responses(self):
        raw = self.a.responses.with_raw_response.create(model=OPEN_MODEL, input=PROMPT)
        usage = raw.parse().usage
        cost = usage.model_extra["cost"]
        want = expected_cost(usage.input_tokens, usage.output_tokens)
        self.assertAlmostEqual(cost["total_cost"], want, places=12)
        self.assertAlmostEqual(float(raw.headers["x-mantle-cost-usd"]), want, places=12)
        events = list(self.a.responses.create(model=OPEN_MODEL, input=PROMPT, stream=True))
        done = [e for e in events if e.type == "response.completed"][0]
        self.assertIn("cost", done.response.usage.model_extra)

    def test_a_model_outside_the_allowlist_is_403_naming_it(self):
        with self.assertRaises(openai.PermissionDeniedError) as caught:
            self.a.chat.completions.create(
                model="openai.gpt-oss-20b", messages=[{"role": "user", "content": PROMPT}]
            )
        self.assertIn("openai.gpt-oss-20b", str(caught.exception))
        with self.assertRaises(openai.PermissionDeniedError):
            self.a.responses.create(model="deepseek.v3.2", input=PROMPT)
        claude = anthropic.Anthropic(base_url=FACE_URL.removesuffix("/v1"), api_key=KEY_A, max_retries=0)
        with self.assertRaises(anthropic.PermissionDeniedError) as caught:
            claude.messages.create(model="qwen.qwen3-32b", max_tokens=16,
                                   messages=[{"role": "user", "content": PROMPT}])
        self.assertIn("qwen.qwen3-32b", str(caught.exception))
        # The allowlist names claude-opus-4.7; the catalog id is the same model.
        raw = claude.messages.with_raw_response.create(
            model="anthropic.claude-opus-4-7", max_tokens=16,
            messages=[{"role": "user", "content": PROMPT}])
        self.assertGreater(float(raw.headers["x-mantle-cost-usd"]), 0)

    def test_a_restricted_key_lists_its_models_only(self):
        ids = sorted(m.id for m in self.a.models.list())
        self.assertEqual(ids, ["anthropic.claude-opus-4-7", OPEN_MODEL])
        self.assertGreater(len(list(self.ci.models.list())), 10)

    def test_a_wrong_key_is_401(self):
        bad = openai.OpenAI(base_url=FACE_URL, api_key="not-a-key", max_retries=0)
        with self.assertRaises(openai.AuthenticationError):
            bad.models.list()


if __name__ == "__main__":
    unittest.main()
