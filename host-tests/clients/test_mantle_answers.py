"""The official openai and anthropic Python clients against the face while Mantle answers as it
was captured: request ids, quota headers, cached tokens, context overflow in Mantle's words, a
429 without retry-after, a model it does not serve, an image to a text-only model.

Run by the Rust test `clients::sdk_clients_read_mantles_answers_as_their_apis_say`, one
scenario at a time (the test makes the emulator answer each as Mantle does first). It passes:

- MANTLE_SCENARIO: the test to run, a method name of `MantleAnswers` without `test_`
- MANTLE_FACE_URL: the face's base URL for OpenAI clients (http://127.0.0.1:PORT/v1)
- MANTLE_ANTHROPIC_URL: the same gateway for Anthropic clients (http://127.0.0.1:PORT)
- MANTLE_GATEWAY_KEY: the gateway key
- MANTLE_REQUEST_ID: the request id the emulator's answer carries
"""

import os
import sys
import unittest

import anthropic
import openai

FACE_URL = os.environ["MANTLE_FACE_URL"]
ANTHROPIC_URL = os.environ["MANTLE_ANTHROPIC_URL"]
KEY = os.environ["MANTLE_GATEWAY_KEY"]
REQUEST_ID = os.environ.get("MANTLE_REQUEST_ID", "")

OPEN = "openai.gpt-oss-20b"
# As a Genesis configuration names it; Mantle serves it as anthropic.claude-opus-4-7.
CLAUDE = "claude-opus-4.7"
MESSAGES = [{"role": "user", "content": "What is the boiling point of myawesomeliquid?"}]


def openai_client():
    return openai.OpenAI(base_url=FACE_URL, api_key=KEY, max_retries=0, timeout=30)


def anthropic_client():
    return anthropic.Anthropic(base_url=ANTHROPIC_URL, api_key=KEY, max_retries=0, timeout=30)


class MantleAnswers(unittest.TestCase):
    def check_quota(self, headers):
        self.assertEqual(headers.get("x-amzn-usage-reservation-quota"), "4000000")
        self.assertEqual(headers.get("x-amzn-usage-reservation-remaining-quota"), "3998771")
        self.assertEqual(headers.get("x-amzn-usage-reservation-spillover"), "0")

    def test_chat_answers(self):
        """The captured stream, cached tokens included, whole and streamed."""
        raw = openai_client().chat.completions.with_raw_response.create(model=OPEN, messages=MESSAGES)
        self.assertEqual(raw.headers.get("x-request-id"), REQUEST_ID)
        self.check_quota(raw.headers)
        completion = raw.parse()
        self.assertEqual(completion._request_id, REQUEST_ID)
        self.assertEqual(completion.model, OPEN)
        call = completion.choices[0].message.tool_calls[0]
        self.assertEqual(call.id, "chatcmpl-tool-a6315f295fd98b2a")
        self.assertEqual(call.function.arguments, '{"liquid_name":"myawesomeliquid"}')
        self.assertEqual(completion.choices[0].finish_reason, "tool_calls")
        self.assertTrue(completion.choices[0].message.model_extra["reasoning_content"].startswith("The user query"))
        self.assertEqual(completion.usage.prompt_tokens, 229)
        self.assertEqual(completion.usage.prompt_tokens_details.cached_tokens, 208)
        with openai_client().chat.completions.with_streaming_response.create(
                model=OPEN, messages=MESSAGES, stream=True, stream_options={"include_usage": True}) as response:
            self.assertEqual(response.headers.get("x-request-id"), REQUEST_ID)
            self.check_quota(response.headers)
            chunks = list(response.parse())
        self.assertEqual(chunks[-1].usage.prompt_tokens_details.cached_tokens, 208)

    def test_responses_answers(self):
        raw = openai_client().responses.with_raw_response.create(model=OPEN, input="Boiling point?")
        self.assertEqual(raw.headers.get("x-request-id"), REQUEST_ID)
        self.check_quota(raw.headers)
        response = raw.parse()
        self.assertEqual(response._request_id, REQUEST_ID)
        self.assertEqual(response.usage.input_tokens, 229)
        self.assertEqual(response.usage.input_tokens_details.cached_tokens, 208)

    def test_messages_answers(self):
        """An open model through the Messages API: cache reads as Anthropic counts them."""
        raw = anthropic_client().messages.with_raw_response.create(model=OPEN, max_tokens=1024, messages=MESSAGES)
        self.assertEqual(raw.headers.get("request-id"), REQUEST_ID)
        self.check_quota(raw.headers)
        message = raw.parse()
        self.assertEqual(message._request_id, REQUEST_ID)
        self.assertEqual(message.model, OPEN)
        self.assertEqual(message.usage.cache_read_input_tokens, 208)
        self.assertEqual(message.usage.input_tokens, 229 - 208)
        self.assertEqual(message.stop_reason, "tool_use")

    def test_claude_whole(self):
        """Claude passed natively: the model as the client named it, whatever Mantle calls it."""
        raw = anthropic_client().messages.with_raw_response.create(model=CLAUDE, max_tokens=1024, messages=MESSAGES)
        self.assertEqual(raw.headers.get("request-id"), REQUEST_ID)
        self.assertEqual(raw.headers.get("x-request-id"), REQUEST_ID)
        self.check_quota(raw.headers)
        message = raw.parse()
        self.assertEqual(message._request_id, REQUEST_ID)
        self.assertEqual(message.model, CLAUDE)
        self.assertEqual(message.id, "msg_bdrk_v4seh2kvj72ceuvw75efr6edt4sywb5wkh7dnsipzz7fk4zri3r2")
        self.assertEqual(message.usage.cache_read_input_tokens, 2048)

    def test_claude_stream(self):
        with anthropic_client().messages.with_streaming_response.create(
                model=CLAUDE, max_tokens=1024, messages=MESSAGES, stream=True) as response:
            self.assertEqual(response.headers.get("request-id"), REQUEST_ID)
            self.check_quota(response.headers)
            events = list(response.parse())
        start = events[0]
        self.assertEqual(start.type, "message_start")
        self.assertEqual(start.message.model, CLAUDE)
        self.assertEqual(start.message.usage.cache_read_input_tokens, 2048)
        self.assertEqual(events[-1].type, "message_stop")

    def test_context_overflow(self):
        with self.assertRaises(openai.BadRequestError) as caught:
            openai_client().chat.completions.create(model=OPEN, messages=MESSAGES)
        self.assertEqual(caught.exception.code, "context_length_exceeded")
        self.assertEqual(caught.exception.request_id, REQUEST_ID)
        self.assertIn(REQUEST_ID, caught.exception.message)
        with self.assertRaises(openai.BadRequestError) as caught:
            openai_client().responses.create(model=OPEN, input="Boiling point?")
        self.assertEqual(caught.exception.code, "context_length_exceeded")
        with self.assertRaises(anthropic.BadRequestError) as caught:
            anthropic_client().messages.create(model=OPEN, max_tokens=1024, messages=MESSAGES)
        said = caught.exception.body["error"]["message"]
        self.assertTrue(said.startswith("prompt is too long"), said)
        self.assertEqual(caught.exception.request_id, REQUEST_ID)

    def test_rate_limited(self):
        """Mantle's 429 carries no retry-after; the gateway's backoff gives one."""
        with self.assertRaises(openai.RateLimitError) as caught:
            openai_client().chat.completions.create(model=OPEN, messages=MESSAGES)
        self.assertEqual(caught.exception.response.headers.get("retry-after"), "2")
        with self.assertRaises(anthropic.RateLimitError) as caught:
            anthropic_client().messages.create(model=OPEN, max_tokens=1024, messages=MESSAGES)
        self.assertEqual(caught.exception.response.headers.get("retry-after"), "2")

    def test_not_found(self):
        with self.assertRaises(openai.NotFoundError) as caught:
            openai_client().chat.completions.create(model="claude-opus-4.9", messages=MESSAGES)
        self.assertEqual(caught.exception.code, "model_not_found")
        self.assertIn("Claude models it lists: anthropic.claude-opus-4-7", caught.exception.message)
        with self.assertRaises(anthropic.NotFoundError) as caught:
            anthropic_client().messages.create(model="claude-opus-4.9", max_tokens=16, messages=MESSAGES)
        self.assertIn("anthropic.claude-opus-4-7", caught.exception.message)

    def test_image_to_a_text_only_model(self):
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
        with self.assertRaises(openai.BadRequestError) as caught:
            openai_client().chat.completions.create(
                model=OPEN, messages=[{"role": "user", "content": [{"type": "text", "text": "What is it?"}, image]}])
        self.assertIn("Model does not support image modality", caught.exception.message)
        self.assertIn(REQUEST_ID, caught.exception.message)


if __name__ == "__main__":
    scenario = os.environ["MANTLE_SCENARIO"]
    unittest.main(argv=[sys.argv[0], f"MantleAnswers.test_{scenario}"], verbosity=2)
