"""The official openai and anthropic Python clients against the face while the emulator answers
as Mantle was captured answering: request ids, quota headers, the captured stream, cached tokens
from prefix caching, context overflow in vLLM's and Mantle's words, a 429 without retry-after, a
model it does not serve, an image to a text-only model, a model that arrived after the captures.

Run by the Rust test `clients::sdk_clients_read_mantles_answers_as_their_apis_say`, one
scenario at a time. Every request id a client read is printed as `request-id <id>`, so the Rust
test can check it is the one the emulator gave that request. It passes:

- MANTLE_SCENARIO: the test to run, a method name of `MantleAnswers` without `test_`
- MANTLE_FACE_URL: the face's base URL for OpenAI clients (http://127.0.0.1:PORT/v1)
- MANTLE_ANTHROPIC_URL: the same gateway for Anthropic clients (http://127.0.0.1:PORT)
- MANTLE_GATEWAY_KEY: the gateway key
- MANTLE_QUOTA: the tokens per minute the emulator's quota header shows
- MANTLE_STREAM_2: the captured streamed request (STREAM-2), JSON
- MANTLE_ARRIVED: a model no route table knows, which Mantle serves on /openai/v1
"""

import json
import os
import re
import sys
import unittest

import anthropic
import openai

FACE_URL = os.environ["MANTLE_FACE_URL"]
ANTHROPIC_URL = os.environ["MANTLE_ANTHROPIC_URL"]
KEY = os.environ["MANTLE_GATEWAY_KEY"]
QUOTA = int(os.environ["MANTLE_QUOTA"])
STREAM_2 = json.loads(os.environ["MANTLE_STREAM_2"])
ARRIVED = os.environ["MANTLE_ARRIVED"]

OPEN = "openai.gpt-oss-20b"
# As a Genesis configuration names it; Mantle serves it as anthropic.claude-opus-4-7.
CLAUDE = "claude-opus-4.7"
# Context windows a capture shows: vLLM's words on /v1, Mantle's on /openai/v1.
QWEN_32B, QWEN_32B_WINDOW = "qwen.qwen3-32b", 32768
GPT_55, GPT_55_WINDOW = "openai.gpt-5.5", 278528
MESSAGES = [{"role": "user", "content": "What is the boiling point of myawesomeliquid?"}]
# A system prompt of 512 bytes: 128 tokens as the emulator counts (four bytes a token), eight
# whole blocks of prefix caching; a request that repeats it reads them from the cache.
SYSTEM = ("You are a careful chemist. " * 20)[:512]
CACHED = 128
REQUEST_ID = re.compile(r"^req_[a-z2-7]{52}$")


def openai_client():
    return openai.OpenAI(base_url=FACE_URL, api_key=KEY, max_retries=0, timeout=60)


def anthropic_client():
    return anthropic.Anthropic(base_url=ANTHROPIC_URL, api_key=KEY, max_retries=0, timeout=60)


def over(tokens):
    """A prompt the emulator counts as more than `tokens` tokens."""
    return "word " * (tokens + 16)


class MantleAnswers(unittest.TestCase):
    def seen(self, headers, header="x-request-id"):
        """Mantle's request id as the face passed it on, printed for the Rust test."""
        request_id = headers.get(header)
        self.assertRegex(request_id or "", REQUEST_ID)
        print(f"request-id {request_id}", flush=True)
        return request_id

    def check_quota(self, headers):
        self.assertEqual(headers.get("x-amzn-usage-reservation-quota"), str(QUOTA))
        remaining = int(headers.get("x-amzn-usage-reservation-remaining-quota"))
        self.assertLess(remaining, QUOTA, "this request's reservation is counted")
        self.assertEqual(headers.get("x-amzn-usage-reservation-spillover"), "0")

    def cached_chat(self, model=OPEN):
        """A chat completion whose system prompt a request before it sent: (raw, parsed)."""
        messages = [{"role": "system", "content": SYSTEM}] + MESSAGES
        openai_client().chat.completions.create(model=model, messages=messages)
        raw = openai_client().chat.completions.with_raw_response.create(model=model, messages=messages)
        return raw, raw.parse()

    def test_chat_answers(self):
        """The captured question gets the captured stream, whole and streamed; a repeated
        prefix is read from Mantle's cache."""
        question = {"model": STREAM_2["model"], "messages": STREAM_2["messages"],
                    "tools": STREAM_2["tools"]}
        raw = openai_client().chat.completions.with_raw_response.create(**question)
        request_id = self.seen(raw.headers)
        self.check_quota(raw.headers)
        completion = raw.parse()
        self.assertEqual(completion._request_id, request_id)
        self.assertEqual(completion.model, OPEN)
        call = completion.choices[0].message.tool_calls[0]
        self.assertEqual(call.id, "chatcmpl-tool-a6315f295fd98b2a")
        self.assertEqual(call.function.name, "get_boiling_point")
        self.assertEqual(call.function.arguments, '{"liquid_name":"myawesomeliquid"}')
        self.assertEqual(completion.choices[0].finish_reason, "tool_calls")
        self.assertTrue(completion.choices[0].message.model_extra["reasoning_content"]
                        .startswith("The user query"))
        self.assertEqual(completion.usage.prompt_tokens, 229)
        self.assertEqual(completion.usage.completion_tokens, 110)
        with openai_client().chat.completions.with_streaming_response.create(
                **question, stream=True, stream_options={"include_usage": True}) as response:
            self.seen(response.headers)
            self.check_quota(response.headers)
            chunks = list(response.parse())
        calls = [c for chunk in chunks for choice in chunk.choices
                 for c in (choice.delta.tool_calls or [])]
        self.assertEqual([c.id for c in calls if c.id], ["chatcmpl-tool-a6315f295fd98b2a"])
        self.assertEqual(chunks[-1].usage.prompt_tokens, 229)
        # Prefix caching.
        raw, completion = self.cached_chat()
        self.seen(raw.headers)
        self.assertEqual(completion.usage.prompt_tokens_details.cached_tokens, CACHED)
        self.assertGreater(completion.usage.prompt_tokens, CACHED)

    def test_responses_answers(self):
        input = [{"role": "user", "content": MESSAGES[0]["content"]}]
        openai_client().responses.create(model=OPEN, instructions=SYSTEM, input=input)
        raw = openai_client().responses.with_raw_response.create(model=OPEN, instructions=SYSTEM,
                                                                 input=input)
        request_id = self.seen(raw.headers)
        self.check_quota(raw.headers)
        response = raw.parse()
        self.assertEqual(response._request_id, request_id)
        self.assertEqual(response.model, OPEN)
        self.assertEqual(response.usage.input_tokens_details.cached_tokens, CACHED)
        self.assertGreater(response.usage.input_tokens, CACHED)

    def test_messages_answers(self):
        """An open model through the Messages API: cache reads as Anthropic counts them."""
        _, chat = self.cached_chat()
        client = anthropic_client()
        client.messages.create(model=OPEN, max_tokens=1024, system=SYSTEM, messages=MESSAGES)
        raw = client.messages.with_raw_response.create(
            model=OPEN, max_tokens=1024, system=SYSTEM, messages=MESSAGES)
        request_id = self.seen(raw.headers, "request-id")
        self.assertEqual(raw.headers.get("x-request-id"), request_id)
        self.check_quota(raw.headers)
        message = raw.parse()
        self.assertEqual(message._request_id, request_id)
        self.assertEqual(message.model, OPEN)
        self.assertEqual(message.usage.cache_read_input_tokens, CACHED)
        self.assertEqual(message.usage.input_tokens, chat.usage.prompt_tokens - CACHED)

    def test_claude_whole(self):
        """Claude passed natively: the model as the client named it, whatever Mantle calls it;
        the rest (ids, cache reads) as Mantle sent it."""
        client = anthropic_client()
        client.messages.create(model=CLAUDE, max_tokens=1024, system=SYSTEM, messages=MESSAGES)
        raw = client.messages.with_raw_response.create(model=CLAUDE, max_tokens=1024,
                                                       system=SYSTEM, messages=MESSAGES)
        request_id = self.seen(raw.headers, "request-id")
        self.assertEqual(raw.headers.get("x-request-id"), request_id)
        self.check_quota(raw.headers)
        message = raw.parse()
        self.assertEqual(message._request_id, request_id)
        self.assertEqual(message.model, CLAUDE)
        self.assertRegex(message.id, r"^msg_bdrk_[a-z2-7]{52}$")
        self.assertEqual(message.usage.cache_read_input_tokens, CACHED)

    def test_claude_stream(self):
        with anthropic_client().messages.with_streaming_response.create(
                model=CLAUDE, max_tokens=1024, system=SYSTEM, messages=MESSAGES,
                stream=True) as response:
            self.seen(response.headers, "request-id")
            self.check_quota(response.headers)
            events = list(response.parse())
        start = events[0]
        self.assertEqual(start.type, "message_start")
        self.assertEqual(start.message.model, CLAUDE)
        self.assertRegex(start.message.id, r"^msg_bdrk_[a-z2-7]{52}$")
        self.assertEqual(events[-1].type, "message_stop")

    def test_context_overflow(self):
        """Mantle's refusals of a prompt over the window, in vLLM's words on /v1 and in
        Mantle's on /openai/v1, as each API says context overflow."""
        for model, window, words in [
                (QWEN_32B, QWEN_32B_WINDOW, "maximum context length is 32768 tokens"),
                (GPT_55, GPT_55_WINDOW, "exceed model maximum (278528)")]:
            text = over(window)
            with self.assertRaises(openai.BadRequestError) as caught:
                openai_client().chat.completions.create(
                    model=model, messages=[{"role": "user", "content": text}])
            self.assertEqual(caught.exception.code, "context_length_exceeded")
            self.assertIn(words, caught.exception.message)
            request_id = self.seen(caught.exception.response.headers)
            self.assertEqual(caught.exception.request_id, request_id)
            self.assertIn(request_id, caught.exception.message)
            with self.assertRaises(openai.BadRequestError) as caught:
                openai_client().responses.create(model=model, input=text)
            self.assertEqual(caught.exception.code, "context_length_exceeded")
            self.seen(caught.exception.response.headers)
            with self.assertRaises(anthropic.BadRequestError) as caught:
                anthropic_client().messages.create(
                    model=model, max_tokens=1024, messages=[{"role": "user", "content": text}])
            said = caught.exception.body["error"]["message"]
            self.assertTrue(said.startswith("prompt is too long"), said)
            self.assertEqual(caught.exception.request_id,
                             self.seen(caught.exception.response.headers, "request-id"))

    def test_rate_limited(self):
        """Mantle's 429 carries no retry-after; the gateway's backoff gives one."""
        with self.assertRaises(openai.RateLimitError) as caught:
            openai_client().chat.completions.create(model=OPEN, messages=MESSAGES)
        self.assertEqual(caught.exception.response.headers.get("retry-after"), "2")
        self.seen(caught.exception.response.headers)
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
        request_id = self.seen(caught.exception.response.headers)
        self.assertIn(request_id, caught.exception.message)

    def test_a_model_that_arrived_this_month(self):
        """A model the gateway's route table does not know: found on its prefix on the first
        request, which the client sees succeed, and asked there directly afterwards."""
        for _ in range(2):
            raw = openai_client().chat.completions.with_raw_response.create(
                model=ARRIVED, messages=MESSAGES)
            self.seen(raw.headers)
            completion = raw.parse()
            self.assertEqual(completion.model, ARRIVED)
            self.assertEqual(completion.choices[0].finish_reason, "stop")
            self.assertTrue(completion.choices[0].message.content)


if __name__ == "__main__":
    scenario = os.environ["MANTLE_SCENARIO"]
    unittest.main(argv=[sys.argv[0], f"MantleAnswers.test_{scenario}"], verbosity=2)
