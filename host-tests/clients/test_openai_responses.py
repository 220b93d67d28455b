"""The official openai Python client's Responses API against the HTTP face
(`mantle-host serve --emulate`), for a GPT-5.x id (served upstream only on the Responses
route) and for gpt-oss (translated to chat completions upstream), and GPT-5.x through chat
completions.

Run by the Rust test `clients::openai_responses_through_mantle_host_serve_emulate`, which
passes, in the environment:

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

GPT5 = "openai.gpt-5.4"
OSS = "openai.gpt-oss-120b"

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}

INPUT = [{"role": "user", "content": "What is the weather in Paris?"}]


def client():
    return openai.OpenAI(base_url=FACE_URL, api_key=KEY, max_retries=0, timeout=30)


def reasoning_of(response):
    """The reasoning summaries of a response, joined."""
    return "".join(part.text for item in response.output if item.type == "reasoning"
                   for part in item.summary)


def encrypted_of(response):
    """The encrypted reasoning of a response's reasoning items (GPT-5.x), in order."""
    return [item.encrypted_content for item in response.output
            if item.type == "reasoning" and item.encrypted_content]


def calls_of(response):
    return [{"id": item.call_id, "name": item.name, "arguments": item.arguments}
            for item in response.output if item.type == "function_call"]


def collect_events(stream):
    """Reads a Responses event stream the way an application does, checking its shape."""
    out = {"types": [], "text": "", "reasoning": "", "arguments": {}, "final": None}
    for n, event in enumerate(stream):
        assert event.sequence_number == n, (event.sequence_number, n)
        out["types"].append(event.type)
        if event.type == "response.output_text.delta":
            out["text"] += event.delta
        elif event.type in ("response.reasoning_summary_text.delta",
                            "response.reasoning_text.delta"):
            out["reasoning"] += event.delta
        elif event.type == "response.function_call_arguments.delta":
            out["arguments"][event.output_index] = (
                out["arguments"].get(event.output_index, "") + event.delta)
        elif event.type in ("response.completed", "response.incomplete", "response.failed"):
            out["final"] = event.response
    return out


class ResponsesThroughTheFace(unittest.TestCase):
    def check_usage(self, usage, expected):
        self.assertEqual(usage.input_tokens, expected["prompt_tokens"])
        self.assertEqual(usage.output_tokens, expected["completion_tokens"])
        self.assertEqual(usage.total_tokens,
                         expected["prompt_tokens"] + expected["completion_tokens"])

    def check_calls(self, got, expected):
        self.assertEqual(len(got), len(expected["tool_calls"]))
        for g, e in zip(got, expected["tool_calls"]):
            self.assertEqual(g["id"], e["id"])
            self.assertEqual(g["name"], e["name"])
            self.assertEqual(json.loads(g["arguments"]), json.loads(e["arguments"]))

    def check_stream_shape(self, got):
        types = got["types"]
        self.assertEqual(types[:2], ["response.created", "response.in_progress"])
        self.assertEqual(types[-1], "response.completed")
        self.assertEqual(types.count("response.output_item.added"),
                         types.count("response.output_item.done"))

    # ---- GPT-5.x: Mantle's Responses route on /openai/v1 ----

    def test_gpt5_answers_without_streaming(self):
        expected = EXPECTED["responses_encrypted_reasoning"]
        response = client().responses.create(model=GPT5, input="Hi",
                                              reasoning={"effort": "low"})
        self.assertEqual(response.object, "response")
        self.assertEqual(response.status, "completed")
        self.assertEqual(response.model, GPT5)
        self.assertEqual(response.output_text, expected["text"])
        self.assertEqual(reasoning_of(response), expected["reasoning"])
        self.check_usage(response.usage, expected)
        self.assertEqual(response.usage.input_tokens_details.cached_tokens, 0)
        self.assertEqual(response.usage.output_tokens_details.reasoning_tokens, 18)
        # The encrypted reasoning comes whole, and the next turn may carry it back.
        self.assertEqual(encrypted_of(response), expected["encrypted"])
        self.assertNotEqual(expected["encrypted"], [])
        follow_up = [{"role": "user", "content": "Hi"}] + [
            item.model_dump(exclude_none=True) for item in response.output] + [
            {"role": "user", "content": "And in French?"}]
        again = client().responses.create(model=GPT5, input=follow_up)
        self.assertEqual(again.status, "completed")
        self.assertEqual(again.output_text, expected["text"])

    def test_gpt5_streams_the_responses_events(self):
        expected = EXPECTED["responses_encrypted_reasoning"]
        stream = client().responses.create(model=GPT5, input=INPUT, stream=True)
        got = collect_events(stream)
        self.check_stream_shape(got)
        self.assertEqual(got["text"], expected["text"])
        self.assertEqual(got["reasoning"], expected["reasoning"])
        self.assertEqual(got["final"].output_text, expected["text"])
        self.assertEqual(encrypted_of(got["final"]), expected["encrypted"])
        self.check_usage(got["final"].usage, expected)

    def test_gpt5_stream_helper_accumulates_the_final_response(self):
        expected = EXPECTED["responses_encrypted_reasoning"]
        with client().responses.stream(model=GPT5, input=INPUT) as stream:
            text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
            final = stream.get_final_response()
        self.assertEqual(text, expected["text"])
        self.assertEqual(final.output_text, expected["text"])

    def test_gpt5_function_call_round_trip(self):
        expected = EXPECTED["responses_tool_calls"]
        stream = client().responses.create(model=GPT5, input=INPUT, tools=[WEATHER_TOOL],
                                           stream=True)
        got = collect_events(stream)
        self.check_stream_shape(got)
        first = got["final"]
        self.check_calls(calls_of(first), expected)
        self.assertEqual(sorted(got["arguments"].values()),
                         sorted(c["arguments"] for c in calls_of(first)))
        # The application runs the tools and sends the calls and their outputs back.
        follow_up = INPUT + [item.model_dump(exclude_none=True) for item in first.output] + [
            {"type": "function_call_output", "call_id": call["id"], "output": "18 C, clear"}
            for call in calls_of(first)]
        response = client().responses.create(model=GPT5, input=follow_up,
                                              tools=[WEATHER_TOOL])
        self.assertEqual(response.status, "completed")
        self.assertEqual(response.output_text, EXPECTED["responses_encrypted_reasoning"]["text"])

    # ---- gpt-oss: translated to chat completions upstream ----

    def test_gpt_oss_answers_streaming_and_not(self):
        expected = EXPECTED["openai_reasoning"]
        response = client().responses.create(model=OSS, input=INPUT,
                                              instructions="You are terse.")
        self.assertEqual(response.status, "completed")
        self.assertEqual(response.output_text, expected["text"])
        self.assertEqual(reasoning_of(response), expected["reasoning"])
        self.check_usage(response.usage, expected)
        got = collect_events(client().responses.create(model=OSS, input=INPUT, stream=True))
        self.check_stream_shape(got)
        self.assertEqual(got["text"], expected["text"])
        self.assertEqual(got["reasoning"], expected["reasoning"])

    def test_gpt_oss_function_call_round_trip(self):
        expected = EXPECTED["openai_tool_calls"]
        first = client().responses.create(model=OSS, input=INPUT, tools=[WEATHER_TOOL])
        self.check_calls(calls_of(first), expected)
        got = collect_events(client().responses.create(model=OSS, input=INPUT,
                                                      tools=[WEATHER_TOOL], stream=True))
        self.check_calls(calls_of(got["final"]), expected)
        follow_up = INPUT + [item.model_dump(exclude_none=True) for item in first.output] + [
            {"type": "function_call_output", "call_id": call["id"], "output": "18 C, clear"}
            for call in calls_of(first)]
        response = client().responses.create(model=OSS, input=follow_up, tools=[WEATHER_TOOL])
        self.assertEqual(response.status, "completed")
        self.assertEqual(response.output_text, EXPECTED["openai_reasoning"]["text"])

    # ---- GPT-5.x for chat clients ----

    def test_gpt5_answers_through_chat_completions(self):
        expected = EXPECTED["responses_encrypted_reasoning"]
        messages = [{"role": "user", "content": "Hi"}]
        completion = client().chat.completions.create(model=GPT5, messages=messages)
        self.assertEqual(completion.choices[0].message.content, expected["text"])
        self.assertEqual(completion.choices[0].message.model_extra.get("reasoning_content") or "",
                         expected["reasoning"])
        self.assertEqual(completion.usage.prompt_tokens, expected["prompt_tokens"])
        self.assertEqual(completion.usage.completion_tokens_details.reasoning_tokens, 18)
        stream = client().chat.completions.create(model=GPT5, messages=messages, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        self.assertEqual(text, expected["text"])

    def test_errors_keep_openais_shape(self):
        with self.assertRaises(openai.NotFoundError) as caught:
            client().responses.create(model="no.such-model", input="Hi")
        self.assertEqual(caught.exception.code, "model_not_found")
        self.assertIn("no.such-model", str(caught.exception))
        with self.assertRaises(openai.BadRequestError) as caught:
            client().responses.create(model=GPT5, input="Hi", previous_response_id="resp_1")
        self.assertIn("previous_response_id", str(caught.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)
