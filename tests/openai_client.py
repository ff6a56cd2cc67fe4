"""The official OpenAI Python SDK as a real client of quarry's API served on localhost.

Run against a local stack (`cargo run -p quarry-local -- --api-key KEY`):

    OPENAI_BASE_URL=http://127.0.0.1:3000/v1 OPENAI_API_KEY=KEY python tests/openai_client.py

Every check prints one PASS/FAIL line, then a summary line; the exit status is non-zero when any
check failed. The models answer deterministically (the local stand-in quotes the context), so the
answers are checked for the context sentences they must quote.
"""

import json
import math
import os
import sys
import tomllib
import traceback

import openai

for variable in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
    if not os.environ.get(variable):
        sys.exit(f"set {variable} (the API's <url>/v1 and the key the stack accepts)")
BASE_URL = os.environ["OPENAI_BASE_URL"]

# What the API serves comes from the quarry.toml the stack runs (QUARRY_CONFIG, else the repo's).
CONFIG_PATH = os.environ.get(
    "QUARRY_CONFIG", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "quarry.toml")
)
with open(CONFIG_PATH, "rb") as config_file:
    CONFIG = tomllib.load(config_file)
CHAT_MODEL = CONFIG["models"].get("default", CONFIG["models"]["chat"][0])
ALIASES = CONFIG["models"].get("aliases", {})
EMBEDDING_MODEL = CONFIG["embedding"]["model"]
EMBEDDING_DIMENSIONS = CONFIG["embedding"]["dimensions"]
# /v1/models lists the chat models in config order, then the aliases (sorted), then the embedding
# model.
EXPECTED_MODELS = CONFIG["models"]["chat"] + sorted(ALIASES) + [EMBEDDING_MODEL]

# The SDK reads OPENAI_BASE_URL and OPENAI_API_KEY itself: a client built with no arguments is
# what an application pointed at quarry by its environment gets. No retries: errors must surface.
client = openai.OpenAI(max_retries=0, timeout=30)

OFFICE = "The office opens at 9am. Parking is free for visitors. The cafeteria serves lunch at noon."
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city name"}},
            "required": ["city"],
        },
    },
}

results = []


def check(name):
    """Runs the decorated function as one named check, recording PASS or FAIL."""

    def run(function):
        try:
            function()
        except Exception as error:  # noqa: BLE001 — any failure is this check's failure
            results.append(False)
            print(f"FAIL {name}: {type(error).__name__}: {error}")
            traceback.print_exc(limit=3, file=sys.stdout)
        else:
            results.append(True)
            print(f"PASS {name}")
        return function

    return run


def office_messages(question):
    return [
        {"role": "system", "content": OFFICE},
        {"role": "user", "content": question},
    ]


@check("chat: the answer quotes the context given in the system message")
def _():
    answer = client.chat.completions.create(
        model=CHAT_MODEL, messages=office_messages("When does the office open?")
    )
    assert answer.object == "chat.completion", answer.object
    assert answer.model == CHAT_MODEL, answer.model
    assert len(answer.choices) == 1, answer.choices
    choice = answer.choices[0]
    assert choice.message.role == "assistant"
    assert "The office opens at 9am." in choice.message.content, choice.message.content
    assert "cafeteria" not in choice.message.content, choice.message.content
    assert choice.finish_reason == "stop", choice.finish_reason
    usage = answer.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, usage


@check("chat: an alias from quarry.toml answers as the model it names")
def _():
    alias, target = sorted(ALIASES.items())[0]
    answer = client.chat.completions.create(model=alias, messages=office_messages("Is parking free?"))
    assert answer.model == target, (alias, answer.model)
    assert "Parking is free for visitors." in answer.choices[0].message.content


@check("streaming chat: deltas concatenate to the non-streamed answer; include_usage adds usage")
def _():
    messages = office_messages("When does the cafeteria serve lunch?")
    whole = client.chat.completions.create(model=CHAT_MODEL, messages=messages)
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish_reasons, usage_chunks, ids = [], [], [], set()
    with stream:
        for chunk in stream:
            assert chunk.object == "chat.completion.chunk", chunk.object
            ids.add(chunk.id)
            if chunk.usage is not None:
                assert chunk.choices == [], "the usage chunk carries no choices"
                usage_chunks.append(chunk.usage)
            for choice in chunk.choices:
                if choice.delta.content:
                    pieces.append(choice.delta.content)
                if choice.finish_reason:
                    finish_reasons.append(choice.finish_reason)
    text = "".join(pieces)
    assert len(pieces) > 1, f"the answer came in {len(pieces)} delta(s), not as a stream"
    assert text == whole.choices[0].message.content, (text, whole.choices[0].message.content)
    assert "lunch at noon" in text, text
    assert finish_reasons == ["stop"], finish_reasons
    assert len(ids) == 1, f"chunks of one completion share one id, got {ids}"
    assert len(usage_chunks) == 1, usage_chunks
    assert usage_chunks[0].completion_tokens == whole.usage.completion_tokens, usage_chunks
    assert usage_chunks[0].prompt_tokens == whole.usage.prompt_tokens, usage_chunks


@check("streaming chat: without include_usage no usage chunk is sent")
def _():
    stream = client.chat.completions.create(
        model=CHAT_MODEL, messages=office_messages("Is parking free?"), stream=True
    )
    chunks = list(stream)
    assert all(chunk.usage is None for chunk in chunks), [c.usage for c in chunks]
    assert "Parking is free" in "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices
    )


@check("tools: the question names get_weather, the answer is a call with city Paris")
def _():
    messages = [{"role": "user", "content": "What is the weather in Paris today?"}]
    answer = client.chat.completions.create(
        model=CHAT_MODEL, messages=messages, tools=[WEATHER_TOOL]
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls", choice.finish_reason
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1, calls
    call = calls[0]
    assert call.type == "function" and call.function.name == "get_weather", call
    assert json.loads(call.function.arguments) == {"city": "Paris"}, call.function.arguments
    assert call.id, "a tool call has an id to answer it by"

    # The round trip: the assistant's call and the tool's result go back; the answer quotes it.
    messages.append(choice.message.model_dump(exclude_none=True))
    result = {"city": "Paris", "forecast": "Sunny weather, 24 degrees."}
    messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    final = client.chat.completions.create(
        model=CHAT_MODEL, messages=messages, tools=[WEATHER_TOOL]
    )
    choice = final.choices[0]
    assert choice.finish_reason == "stop", choice.finish_reason
    assert not choice.message.tool_calls, choice.message.tool_calls
    assert "24 degrees" in choice.message.content, choice.message.content


@check("tools: streamed, the call's arguments arrive as deltas that parse to city Paris")
def _():
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "What is the weather in Paris today?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    names, arguments, finish = [], [], []
    for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                if call.function and call.function.name:
                    names.append(call.function.name)
                if call.function and call.function.arguments:
                    arguments.append(call.function.arguments)
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    assert names == ["get_weather"], names
    assert json.loads("".join(arguments)) == {"city": "Paris"}, arguments
    assert finish == ["tool_calls"], finish


TEXTS = ["The office opens at 9am.", "Parking is free for visitors.", "Lunch is at noon."]


def norm(vector):
    return math.sqrt(sum(x * x for x in vector))


@check("embeddings (SDK default, base64 on the wire): count, order and configured dimensions")
def _():
    response = client.embeddings.create(model=EMBEDDING_MODEL, input=TEXTS)
    assert response.object == "list"
    assert response.model == EMBEDDING_MODEL, response.model
    assert [e.index for e in response.data] == [0, 1, 2], [e.index for e in response.data]
    for item in response.data:
        assert isinstance(item.embedding, list), type(item.embedding)
        assert len(item.embedding) == EMBEDDING_DIMENSIONS, len(item.embedding)
        assert abs(norm(item.embedding) - 1.0) < 1e-3, norm(item.embedding)
    assert response.data[0].embedding != response.data[1].embedding
    assert response.usage.prompt_tokens > 0, response.usage
    # Order: each vector is the one its text gets alone.
    alone = client.embeddings.create(model=EMBEDDING_MODEL, input=TEXTS[1])
    assert len(alone.data) == 1
    assert max(abs(a - b) for a, b in zip(alone.data[0].embedding, response.data[1].embedding)) < 1e-6


@check("embeddings (encoding_format=float, dimensions=256): the same vectors as floats")
def _():
    floats = client.embeddings.create(
        model=EMBEDDING_MODEL, input=TEXTS, encoding_format="float", dimensions=256
    )
    base64 = client.embeddings.create(model=EMBEDDING_MODEL, input=TEXTS, dimensions=256)
    assert len(floats.data) == 3 and [e.index for e in floats.data] == [0, 1, 2]
    for as_float, as_base64 in zip(floats.data, base64.data):
        assert isinstance(as_float.embedding, list), type(as_float.embedding)
        assert len(as_float.embedding) == 256, len(as_float.embedding)
        # base64 carries float32: equal to the JSON floats up to float32 rounding.
        assert max(abs(a - b) for a, b in zip(as_float.embedding, as_base64.embedding)) < 1e-6


@check("models: the list is quarry.toml's chat models, aliases and embedding model")
def _():
    ids = [model.id for model in client.models.list()]
    assert ids == EXPECTED_MODELS, ids
    assert all(model.object == "model" for model in client.models.list())


@check("errors: a wrong key raises AuthenticationError (401)")
def _():
    wrong = openai.OpenAI(base_url=BASE_URL, api_key="not-the-key", max_retries=0)
    try:
        wrong.chat.completions.create(model=CHAT_MODEL, messages=office_messages("Hi?"))
    except openai.AuthenticationError as error:
        assert error.status_code == 401, error.status_code
        assert error.body["type"] == "authentication_error", error.body
        assert error.request_id, "the x-request-id header reaches the SDK's error"
    else:
        raise AssertionError("a wrong key was accepted")


@check("errors: an unknown model raises NotFoundError (404) naming the allowed models")
def _():
    try:
        client.chat.completions.create(model="no-such-model", messages=office_messages("Hi?"))
    except openai.NotFoundError as error:
        assert error.status_code == 404
        assert error.body["param"] == "model", error.body
        assert CHAT_MODEL in error.body["message"], error.body
    else:
        raise AssertionError("an unknown model was accepted")


@check("errors: a bad parameter raises BadRequestError (400) naming it")
def _():
    try:
        client.chat.completions.create(model=CHAT_MODEL, messages=office_messages("Hi?"), n=3)
    except openai.BadRequestError as error:
        assert error.status_code == 400
        assert error.body["param"] == "n", error.body
        assert error.body["type"] == "invalid_request_error", error.body
    else:
        raise AssertionError("n=3 was accepted")


passed = sum(results)
failed = len(results) - passed
print(f"openai_client: {passed} passed, {failed} failed")
sys.exit(1 if failed or not results else 0)
