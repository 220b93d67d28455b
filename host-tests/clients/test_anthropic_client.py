"""The official anthropic Python client against the emulator's Messages route, with a bearer
token minted by the component (as Mantle wants: `Authorization: Bearer`, never `x-api-key`).

Run by the Rust test `clients::anthropic_client_with_a_minted_token`, which passes:

- MANTLE_ANTHROPIC_URL: the emulator's Anthropic base URL (http://127.0.0.1:PORT/anthropic)
- MANTLE_MINTED_TOKEN: a token the component minted from the emulator's known credentials
- MANTLE_EXPECTED: JSON, per transcript name, what the emulator's transcript must give
"""

import json
import os
import unittest

import anthropic

URL = os.environ["MANTLE_ANTHROPIC_URL"]
TOKEN = os.environ["MANTLE_MINTED_TOKEN"]
EXPECTED = json.loads(os.environ["MANTLE_EXPECTED"])

CLAUDE = "anthropic.claude-opus-4-7"
MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def client(token=TOKEN):
    # Mantle's Messages route takes anthropic-version 2023-06-01; the SDK sends a newer date
    # unless told.
    return anthropic.Anthropic(base_url=URL, auth_token=token, api_key=None, max_retries=0, timeout=30,
                               default_headers={"anthropic-version": "2023-06-01"})


class AnthropicClientWithMintedToken(unittest.TestCase):
    def test_messages_answer(self):
        expected = EXPECTED["anthropic_text"]
        message = client().messages.create(model=CLAUDE, max_tokens=1024, messages=MESSAGES)
        text = "".join(b.text for b in message.content if b.type == "text")
        self.assertEqual(text, expected["text"])
        self.assertEqual(message.stop_reason, "end_turn")
        self.assertEqual(message.usage.output_tokens, expected["completion_tokens"])

    def test_messages_stream_thinking_and_text(self):
        expected = EXPECTED["anthropic_thinking"]
        with client().messages.stream(
            model=CLAUDE, max_tokens=4096, messages=MESSAGES,
            thinking={"type": "enabled", "budget_tokens": 2048},
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        self.assertEqual(text, expected["text"])
        thinking = [b for b in final.content if b.type == "thinking"]
        self.assertEqual("".join(b.thinking for b in thinking), expected["reasoning"])
        self.assertTrue(all(b.signature for b in thinking), "thinking blocks keep their signature")

    def test_tool_use(self):
        expected = EXPECTED["anthropic_tool_use"]
        message = client().messages.create(
            model=CLAUDE, max_tokens=1024, messages=MESSAGES, tools=[WEATHER_TOOL])
        calls = [b for b in message.content if b.type == "tool_use"]
        self.assertEqual([c.id for c in calls], [e["id"] for e in expected["tool_calls"]])
        self.assertEqual([c.name for c in calls], [e["name"] for e in expected["tool_calls"]])
        self.assertEqual([c.input for c in calls], [json.loads(e["arguments"]) for e in expected["tool_calls"]])
        self.assertEqual(message.stop_reason, "tool_use")

    def test_a_token_that_is_not_minted_from_known_keys_is_refused(self):
        with self.assertRaises((anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
            client(token="bedrock-api-key-bm90LWEtdG9rZW4=").messages.create(
                model=CLAUDE, max_tokens=16, messages=MESSAGES)


if __name__ == "__main__":
    unittest.main(verbosity=2)
