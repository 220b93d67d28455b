"""The official anthropic Python client against the face's Messages API (`/v1/messages`), in
`mantle-host serve --emulate`: Claude passed natively (thinking signatures replayed), an open
model translated, the gateway key as `Authorization: Bearer` or `x-api-key`.

Run by the Rust test `clients::anthropic_client_through_mantle_host_serve_emulate`, which passes:

- MANTLE_FACE_URL: the gateway's base URL for Anthropic clients (http://127.0.0.1:PORT)
- MANTLE_GATEWAY_KEY: the gateway key
- MANTLE_EXPECTED: JSON, per transcript name, what the emulator's transcript must give
"""

import json
import os
import unittest

import anthropic

URL = os.environ["MANTLE_FACE_URL"]
KEY = os.environ["MANTLE_GATEWAY_KEY"]
EXPECTED = json.loads(os.environ["MANTLE_EXPECTED"])

CLAUDE = "claude-opus-4.7"
OPEN = "openai.gpt-oss-120b"
QUESTION = [{"role": "user", "content": "What is 27 * 453?"}]
WEATHER = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
THINKING = {"type": "enabled", "budget_tokens": 2048}


def client(key=KEY):
    """The SDK as shipped: its own anthropic-version, the key as it sends it."""
    return anthropic.Anthropic(base_url=URL, api_key=key, max_retries=0, timeout=30)


def x_api_key_client(key=KEY):
    """The key as `x-api-key`, as older SDKs and coding agents send it."""
    return anthropic.Anthropic(base_url=URL, api_key=None, max_retries=0, timeout=30,
                               default_headers={"x-api-key": key})


def text_of(message):
    return "".join(b.text for b in message.content if b.type == "text")


def as_params(content):
    """Content blocks of an answer as request blocks, replayed unchanged."""
    return [block.model_dump(exclude_none=True) for block in content]


class ClaudeThroughTheFace(unittest.TestCase):
    def test_create_with_thinking_keeps_the_signature(self):
        expected = EXPECTED["anthropic_thinking"]
        message = client().messages.create(model=CLAUDE, max_tokens=4096, messages=QUESTION, thinking=THINKING)
        thinking = [b for b in message.content if b.type == "thinking"]
        self.assertEqual("".join(b.thinking for b in thinking), expected["reasoning"])
        self.assertTrue(thinking and all(b.signature for b in thinking), "thinking blocks keep their signature")
        self.assertEqual(text_of(message), expected["text"])
        self.assertEqual(message.usage.output_tokens, expected["completion_tokens"])

    def test_stream_with_thinking(self):
        expected = EXPECTED["anthropic_thinking"]
        with client().messages.stream(model=CLAUDE, max_tokens=4096, messages=QUESTION,
                                      thinking=THINKING) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        self.assertEqual(text, expected["text"])
        thinking = [b for b in final.content if b.type == "thinking"]
        self.assertEqual("".join(b.thinking for b in thinking), expected["reasoning"])
        self.assertTrue(thinking and all(b.signature for b in thinking))
        self.assertEqual(final.stop_reason, "end_turn")

    def test_thinking_and_a_tool_use_round_trip(self):
        c = x_api_key_client()
        with c.messages.stream(model=CLAUDE, max_tokens=4096, messages=QUESTION, thinking=THINKING) as stream:
            first = stream.get_final_message()
        # The thinking block goes back as it came (the emulator checks its signature).
        history = QUESTION + [{"role": "assistant", "content": as_params(first.content)}] + WEATHER
        second = c.messages.create(model=CLAUDE, max_tokens=4096, messages=history, thinking=THINKING,
                                   tools=[WEATHER_TOOL])
        self.assertEqual(second.stop_reason, "tool_use")
        calls = [b for b in second.content if b.type == "tool_use"]
        expected = EXPECTED["anthropic_tool_use"]["tool_calls"]
        self.assertEqual([(b.id, b.name) for b in calls], [(e["id"], e["name"]) for e in expected])
        self.assertEqual([b.input for b in calls], [json.loads(e["arguments"]) for e in expected])
        history += [
            {"role": "assistant", "content": as_params(second.content)},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": b.id, "content": "18 C"}
                                         for b in calls]},
        ]
        third = c.messages.create(model=CLAUDE, max_tokens=4096, messages=history, thinking=THINKING,
                                  tools=[WEATHER_TOOL])
        self.assertEqual(third.role, "assistant")

    def test_count_tokens(self):
        counted = client().messages.count_tokens(model=CLAUDE, messages=QUESTION, system="Be brief.")
        self.assertGreater(counted.input_tokens, 0)
        more = client().messages.count_tokens(model=CLAUDE, messages=QUESTION + QUESTION, system="Be brief.")
        self.assertGreater(more.input_tokens, counted.input_tokens)

    def test_a_changed_signature_is_refused(self):
        first = client().messages.create(model=CLAUDE, max_tokens=4096, messages=QUESTION, thinking=THINKING)
        content = as_params(first.content)
        for block in content:
            if block["type"] == "thinking":
                block["signature"] = block["signature"][:-4] + "AAA="
        with self.assertRaises(anthropic.BadRequestError) as refused:
            client().messages.create(model=CLAUDE, max_tokens=4096, thinking=THINKING,
                                     messages=QUESTION + [{"role": "assistant", "content": content}] + WEATHER)
        self.assertIn("signature", str(refused.exception))


class OpenModelThroughTheFace(unittest.TestCase):
    def test_create_with_tools_and_a_tool_result(self):
        expected = EXPECTED["openai_tool_calls"]
        message = client().messages.create(model=OPEN, max_tokens=1024, messages=WEATHER, tools=[WEATHER_TOOL])
        self.assertEqual(message.stop_reason, "tool_use")
        calls = [b for b in message.content if b.type == "tool_use"]
        self.assertEqual([(b.id, b.name) for b in calls],
                         [(e["id"], e["name"]) for e in expected["tool_calls"]])
        self.assertEqual([b.input for b in calls], [json.loads(e["arguments"]) for e in expected["tool_calls"]])
        self.assertEqual(message.usage.output_tokens, expected["completion_tokens"])
        answer = client().messages.create(model=OPEN, max_tokens=1024, tools=[WEATHER_TOOL], messages=WEATHER + [
            {"role": "assistant", "content": as_params(message.content)},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": b.id, "content": "18 C"}
                                         for b in calls]},
        ])
        self.assertEqual(answer.role, "assistant")

    def test_stream(self):
        expected = EXPECTED["openai_reasoning"]
        with x_api_key_client().messages.stream(model=OPEN, max_tokens=1024, messages=WEATHER) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        self.assertEqual(text, expected["text"])
        self.assertEqual("".join(b.thinking for b in final.content if b.type == "thinking"), expected["reasoning"])
        self.assertEqual(final.stop_reason, "end_turn")
        self.assertEqual(final.usage.output_tokens, expected["completion_tokens"])

    def test_stream_with_tools(self):
        expected = EXPECTED["openai_tool_calls"]
        with client().messages.stream(model=OPEN, max_tokens=1024, messages=WEATHER,
                                      tools=[WEATHER_TOOL]) as stream:
            final = stream.get_final_message()
        calls = [b for b in final.content if b.type == "tool_use"]
        self.assertEqual([b.input for b in calls], [json.loads(e["arguments"]) for e in expected["tool_calls"]])
        self.assertEqual(final.stop_reason, "tool_use")


class GatewayKey(unittest.TestCase):
    def test_a_wrong_key_is_refused_either_way(self):
        for c in (client(key=KEY + "x"), x_api_key_client(key=KEY + "x")):
            with self.assertRaises(anthropic.AuthenticationError):
                c.messages.create(model=CLAUDE, max_tokens=16, messages=QUESTION)

    def test_an_unknown_model_is_not_found(self):
        with self.assertRaises(anthropic.NotFoundError):
            client().messages.create(model="no.such-model", max_tokens=16, messages=QUESTION)


if __name__ == "__main__":
    unittest.main(verbosity=2)
