"""The official openai Python client against the HTTP face (`mantle-host serve --emulate`).

Run by the Rust test `clients::openai_client_through_the_face`, which starts the emulator and
the face and passes, in the environment:

- MANTLE_FACE_URL: the face's base URL (http://127.0.0.1:PORT/v1)
- MANTLE_GATEWAY_KEY: the gateway key
- MANTLE_EXPECTED: JSON, per transcript name, what the emulator's transcript must give
  (text, reasoning, tool calls, token counts, finish reason)
"""

import json
import os
import unittest

import openai

FACE_URL = os.environ["MANTLE_FACE_URL"]
KEY = os.environ["MANTLE_GATEWAY_KEY"]
EXPECTED = json.loads(os.environ["MANTLE_EXPECTED"])

OPEN_MODEL = "openai.gpt-oss-120b"
# As a Genesis configuration names it; the gateway sends the id Mantle serves.
CLAUDE = "claude-opus-4.7"
# Mantle's catalog id of that model, as the listing has it.
CLAUDE_ID = "anthropic.claude-opus-4-7"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the weather in Paris?"},
]


def client(key=KEY):
    return openai.OpenAI(base_url=FACE_URL, api_key=key, max_retries=0, timeout=30)


def collect_stream(stream):
    """Joins a chat completion stream the way an application would."""
    out = {"text": "", "reasoning": "", "tool_calls": {}, "finish_reason": None, "usage": None,
           "ids": set(), "chunks": 0}
    for chunk in stream:
        out["chunks"] += 1
        out["ids"].add(chunk.id)
        assert chunk.object == "chat.completion.chunk", chunk.object
        if chunk.usage is not None:
            assert chunk.choices == [], "the usage chunk has no choices"
            out["usage"] = chunk.usage
            continue
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                out["text"] += delta.content
            reasoning = (delta.model_extra or {}).get("reasoning_content")
            if reasoning:
                out["reasoning"] += reasoning
            for call in delta.tool_calls or []:
                slot = out["tool_calls"].setdefault(call.index, {"id": None, "name": None, "arguments": ""})
                if call.id:
                    slot["id"] = call.id
                if call.function and call.function.name:
                    slot["name"] = call.function.name
                if call.function and call.function.arguments:
                    slot["arguments"] += call.function.arguments
            if choice.finish_reason:
                out["finish_reason"] = choice.finish_reason
    out["tool_calls"] = [out["tool_calls"][i] for i in sorted(out["tool_calls"])]
    return out


class OpenAIClientThroughTheFace(unittest.TestCase):
    def check_tool_calls(self, got, expected):
        self.assertEqual(len(got), len(expected["tool_calls"]))
        for g, e in zip(got, expected["tool_calls"]):
            self.assertEqual(g["id"], e["id"])
            self.assertEqual(g["name"], e["name"])
            self.assertEqual(json.loads(g["arguments"]), json.loads(e["arguments"]))

    def check_usage(self, usage, expected):
        self.assertIsNotNone(usage, "the stream carried no usage")
        self.assertEqual(usage.prompt_tokens, expected["prompt_tokens"])
        self.assertEqual(usage.completion_tokens, expected["completion_tokens"])
        self.assertEqual(usage.total_tokens, expected["prompt_tokens"] + expected["completion_tokens"])

    def test_lists_models_with_their_routes(self):
        models = {m.id: m for m in client().models.list()}
        self.assertIn(OPEN_MODEL, models)
        self.assertIn(CLAUDE_ID, models)
        self.assertEqual(models[CLAUDE_ID].model_extra["api"], "anthropic-messages")
        self.assertEqual(models[OPEN_MODEL].model_extra["api"], "openai-completions")
        self.assertTrue(models[OPEN_MODEL].model_extra["reasoning"])
        self.assertEqual(models[CLAUDE_ID].model_extra["context_window"], 1000000)

    def test_open_model_streams_reasoning_text_and_usage(self):
        expected = EXPECTED["openai_reasoning"]
        stream = client().chat.completions.create(
            model=OPEN_MODEL, messages=MESSAGES, stream=True,
            stream_options={"include_usage": True})
        got = collect_stream(stream)
        self.assertEqual(got["text"], expected["text"])
        self.assertEqual(got["reasoning"], expected["reasoning"])
        self.assertEqual(got["finish_reason"], expected["finish_reason"])
        self.assertEqual(len(got["ids"]), 1, "every chunk of a response has the same id")
        self.check_usage(got["usage"], expected)

    def test_open_model_answers_without_streaming(self):
        expected = EXPECTED["openai_reasoning"]
        completion = client().chat.completions.create(model=OPEN_MODEL, messages=MESSAGES)
        self.assertEqual(completion.object, "chat.completion")
        self.assertEqual(completion.model, OPEN_MODEL)
        message = completion.choices[0].message
        self.assertEqual(message.content, expected["text"])
        self.assertEqual(message.model_extra.get("reasoning_content"), expected["reasoning"])
        self.assertEqual(completion.choices[0].finish_reason, expected["finish_reason"])
        self.check_usage(completion.usage, expected)

    def test_open_model_calls_a_tool_streaming_and_not(self):
        expected = EXPECTED["openai_tool_calls"]
        stream = client().chat.completions.create(
            model=OPEN_MODEL, messages=MESSAGES, tools=[WEATHER_TOOL], stream=True)
        got = collect_stream(stream)
        self.check_tool_calls(got["tool_calls"], expected)
        self.assertEqual(got["finish_reason"], "tool_calls")
        self.assertIsNone(got["usage"], "no usage chunk unless include_usage")
        completion = client().chat.completions.create(
            model=OPEN_MODEL, messages=MESSAGES, tools=[WEATHER_TOOL])
        calls = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
                 for c in completion.choices[0].message.tool_calls]
        self.check_tool_calls(calls, expected)
        self.assertEqual(completion.choices[0].finish_reason, "tool_calls")

    def test_claude_answers_through_the_anthropic_route(self):
        expected = EXPECTED["anthropic_text"]
        completion = client().chat.completions.create(model=CLAUDE, messages=MESSAGES)
        self.assertEqual(completion.model, CLAUDE)
        self.assertEqual(completion.choices[0].message.content, expected["text"])
        self.assertEqual(completion.choices[0].finish_reason, expected["finish_reason"])
        self.check_usage(completion.usage, expected)

    def test_claude_streams_thinking_as_reasoning_content(self):
        expected = EXPECTED["anthropic_thinking"]
        stream = client().chat.completions.create(
            model=CLAUDE, messages=MESSAGES, reasoning_effort="low", stream=True,
            stream_options={"include_usage": True})
        got = collect_stream(stream)
        self.assertEqual(got["reasoning"], expected["reasoning"])
        self.assertEqual(got["text"], expected["text"])
        self.assertEqual(got["finish_reason"], expected["finish_reason"])
        self.check_usage(got["usage"], expected)

    def test_claude_calls_a_tool_and_takes_its_result(self):
        expected = EXPECTED["anthropic_tool_use"]
        stream = client().chat.completions.create(
            model=CLAUDE, messages=MESSAGES, tools=[WEATHER_TOOL], stream=True,
            stream_options={"include_usage": True})
        got = collect_stream(stream)
        self.check_tool_calls(got["tool_calls"], expected)
        self.assertEqual(got["finish_reason"], "tool_calls")
        # The next turn carries the call and its result back; the face translates both.
        follow_up = MESSAGES + [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in got["tool_calls"]]},
            {"role": "tool", "tool_call_id": got["tool_calls"][0]["id"], "content": "18 C, clear"},
        ]
        completion = client().chat.completions.create(model=CLAUDE, messages=follow_up)
        self.assertEqual(completion.choices[0].message.content, EXPECTED["anthropic_text"]["text"])

    def test_a_wrong_gateway_key_is_refused(self):
        with self.assertRaises(openai.AuthenticationError) as caught:
            client(key="not-the-key").models.list()
        self.assertEqual(caught.exception.status_code, 401)

    def test_an_unknown_model_is_not_found(self):
        # A mistyped id of a vendor Mantle serves: that vendor's models are named.
        with self.assertRaises(openai.NotFoundError) as caught:
            client().chat.completions.create(model="openai.gpt-oss-12b", messages=MESSAGES)
        self.assertEqual(caught.exception.code, "model_not_found")
        self.assertIn("openai.gpt-oss-12b", str(caught.exception))
        self.assertIn("openai models it lists: ", str(caught.exception))
        self.assertIn(OPEN_MODEL, str(caught.exception), "the models it does list are named")
        # An id of no vendor it serves: the first of everything it lists, and how many more.
        with self.assertRaises(openai.NotFoundError) as caught:
            client().chat.completions.create(model="no.such-model", messages=MESSAGES)
        self.assertEqual(caught.exception.code, "model_not_found")
        self.assertRegex(str(caught.exception), r"models it lists: .* and [0-9]+ more")


if __name__ == "__main__":
    unittest.main(verbosity=2)
