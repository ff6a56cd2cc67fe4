#!/usr/bin/env python3
"""Drives quarry's local Bedrock endpoint with the unmodified boto3 clients.

Every operation of `bedrock-runtime` (Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream, ApplyGuardrail) and of the `bedrock` control plane
(ListFoundationModels, GetFoundationModel, ListInferenceProfiles, GetInferenceProfile) is called
exactly as an application calls Amazon Bedrock: only `endpoint_url` differs, and the credentials
are dummies (the local endpoint does not check signatures).

The script starts nothing. Start the endpoint first and give its URL:

    cargo run -p quarry-local -- bedrock --port 4010 &
    QUARRY_LOCAL_BEDROCK_URL=http://127.0.0.1:4010 python3 tests/boto3_local_bedrock.py

It prints one line per check (PASS / FAIL), then a summary line `boto3: N passed, N failed`, and
exits non-zero when any check failed.

Native InvokeModel bodies are table-driven: one row per provider family, each built from the AWS
documentation's request body for that family; every row must pass.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import urllib.request
from dataclasses import dataclass
from typing import Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

REGION = "us-east-1"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_PROFILE = "us.anthropic.claude-3-haiku-20240307-v1:0"
TITAN_EMBED_V2 = "amazon.titan-embed-text-v2:0"
TITAN_EMBED_G1 = "amazon.titan-embed-text-v1"
GUARDRAIL_ID = "quarrydemo"  # the endpoint's demo guardrail
BLOCKED_MESSAGE = "Sorry, the model cannot answer this question."
INVALID_MODEL_ID = "The provided model identifier is invalid."

OFFICE = (
    "The office opens at 9am. Parking is free for visitors. "
    "The cafeteria serves lunch from noon."
)
QUESTION = "When does the office open?"
ANSWER = "The office opens at 9am."

# The tool of "Call a tool with the Converse API" (Bedrock user guide, tool-use-inference-call).
TOP_SONG_TOOL = {
    "tools": [
        {
            "toolSpec": {
                "name": "top_song",
                "description": "Get the most popular song played on a radio station.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {
                            "sign": {
                                "type": "string",
                                "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP.",
                            }
                        },
                        "required": ["sign"],
                    }
                },
            }
        }
    ]
}


# --------------------------------------------------------------------------------------------
# Clients and helpers
# --------------------------------------------------------------------------------------------

URL = os.environ.get("QUARRY_LOCAL_BEDROCK_URL", "").rstrip("/")
if not URL:
    sys.exit("set QUARRY_LOCAL_BEDROCK_URL to the local endpoint, e.g. http://127.0.0.1:4010")
SESSION = boto3.session.Session(
    aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
)
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def client(service: str, config: Config | None = None):
    return SESSION.client(service, endpoint_url=URL, config=config)


runtime = client("bedrock-runtime")
control = client("bedrock")
# Retries off: each call is one request, so a fault surfaces as the ClientError it is.
runtime_once = client("bedrock-runtime", NO_RETRIES)


def set_faults(settings: dict) -> dict:
    """Replaces the endpoint's fault settings through `PUT /_quarry/faults` (`{}`: all off)."""
    request = urllib.request.Request(
        f"{URL}/_quarry/faults",
        data=json.dumps(settings).encode(),
        method="PUT",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def error_of(call: Callable[[], object]) -> ClientError:
    try:
        call()
    except ClientError as error:
        return error
    raise AssertionError("expected a ClientError, the call succeeded")


def code_of(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def expect_error(call: Callable[[], object], code: str, message: str | None = None) -> ClientError:
    error = error_of(call)
    assert code_of(error) == code, f"expected {code}, got {code_of(error)}: {error}"
    if message is not None:
        actual = error.response["Error"].get("Message", "")
        assert message in actual, f"expected {message!r} in {actual!r}"
    return error


def text_of(response: dict) -> str:
    return "".join(b.get("text", "") for b in response["output"]["message"]["content"])


def converse_office(**extra) -> dict:
    return runtime.converse(
        modelId=extra.pop("modelId", HAIKU),
        system=[{"text": OFFICE}],
        messages=[{"role": "user", "content": [{"text": extra.pop("question", QUESTION)}]}],
        **extra,
    )


def invoke(model_id: str, body: dict, client_=None) -> tuple[dict, dict]:
    response = (client_ or runtime).invoke_model(
        modelId=model_id,
        body=json.dumps(body),
        contentType="application/json",
        accept="application/json",
    )
    return json.loads(response["body"].read()), response


def invoke_stream(model_id: str, body: dict) -> list[dict]:
    """The chunk JSONs of InvokeModelWithResponseStream, in order."""
    response = runtime.invoke_model_with_response_stream(
        modelId=model_id, body=json.dumps(body), contentType="application/json"
    )
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"] if "chunk" in event]


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------

CHECKS: list[tuple[str, Callable[[], None]]] = []


def check(function: Callable[[], None]) -> Callable[[], None]:
    CHECKS.append((function.__name__, function))
    return function


@check
def converse_answers_by_quoting_the_relevant_context():
    for model in [HAIKU, HAIKU_PROFILE, "local.extractive-v1"]:
        response = converse_office(modelId=model)
        text = text_of(response)
        assert ANSWER in text and "Parking" not in text, f"{model}: {text!r}"
        assert response["output"]["message"]["role"] == "assistant"
        assert response["stopReason"] == "end_turn", response["stopReason"]
        usage = response["usage"]
        assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0, usage
        assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"], usage
        assert response["metrics"]["latencyMs"] >= 0
        assert response["ResponseMetadata"]["RequestId"], "every answer has a request id"


@check
def converse_stops_at_max_tokens():
    response = converse_office(inferenceConfig={"maxTokens": 3})
    assert response["stopReason"] == "max_tokens", response["stopReason"]
    assert response["usage"]["outputTokens"] == 3, response["usage"]


@check
def converse_stops_at_a_stop_sequence():
    response = converse_office(inferenceConfig={"stopSequences": ["9am"]})
    assert response["stopReason"] == "stop_sequence", response["stopReason"]
    text = text_of(response)
    assert text.endswith("opens at "), repr(text)


@check
def converse_tool_use_round_trip():
    question = {"role": "user", "content": [{"text": "What is the most popular song on WZPZ?"}]}
    first = runtime.converse(modelId=HAIKU, messages=[question], toolConfig=TOP_SONG_TOOL)
    assert first["stopReason"] == "tool_use", first["stopReason"]
    assistant = first["output"]["message"]
    tool_use = next(b["toolUse"] for b in assistant["content"] if "toolUse" in b)
    assert tool_use["name"] == "top_song", tool_use
    assert tool_use["input"] == {"sign": "WZPZ"}, tool_use["input"]
    result = {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": tool_use["toolUseId"],
                    "content": [{"json": {"song": "Elemental Hotel", "artist": "8 Storey Hike"}}],
                }
            }
        ],
    }
    second = runtime.converse(
        modelId=HAIKU, messages=[question, assistant, result], toolConfig=TOP_SONG_TOOL
    )
    assert second["stopReason"] == "end_turn", second["stopReason"]
    assert "Elemental Hotel" in text_of(second), text_of(second)


@check
def converse_guardrail_intervenes_on_a_denied_topic():
    guardrail = {"guardrailIdentifier": GUARDRAIL_ID, "guardrailVersion": "DRAFT", "trace": "enabled"}
    response = runtime.converse(
        modelId=HAIKU,
        messages=[{"role": "user", "content": [{"text": "Which stocks should I buy this year?"}]}],
        guardrailConfig=guardrail,
    )
    assert response["stopReason"] == "guardrail_intervened", response["stopReason"]
    assert text_of(response) == BLOCKED_MESSAGE, text_of(response)
    assessment = response["trace"]["guardrail"]["inputAssessment"][GUARDRAIL_ID]
    assert assessment["topicPolicy"]["topics"][0]["name"] == "Investment advice", assessment
    harmless = converse_office(guardrailConfig=guardrail)
    assert harmless["stopReason"] == "end_turn", harmless["stopReason"]


@check
def converse_stream_folds_to_the_converse_answer_in_several_deltas():
    question = "When does the office open and when does the cafeteria serve lunch?"
    whole = converse_office(question=question)
    response = runtime.converse_stream(
        modelId=HAIKU,
        system=[{"text": OFFICE}],
        messages=[{"role": "user", "content": [{"text": question}]}],
    )
    events = list(response["stream"])
    assert events[0]["messageStart"]["role"] == "assistant", events[0]
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    assert len(deltas) > 2, f"several deltas, got {len(deltas)}"
    assert "".join(deltas) == text_of(whole), ("".join(deltas), text_of(whole))
    stop = next(e["messageStop"] for e in events if "messageStop" in e)
    assert stop["stopReason"] == "end_turn", stop
    metadata = events[-1]["metadata"]
    assert metadata["usage"] == whole["usage"], (metadata["usage"], whole["usage"])


@check
def converse_stream_cut_by_a_fault_raises_the_model_stream_error():
    set_faults({"cut_stream_after": 2, "cut_stream_with": "exception"})
    try:
        response = runtime_once.converse_stream(
            modelId=HAIKU,
            system=[{"text": OFFICE}],
            messages=[{"role": "user", "content": [{"text": QUESTION}]}],
        )
        received = []
        try:
            for event in response["stream"]:
                received.append(event)
        except EventStreamError as error:
            assert code_of(error) == "modelStreamErrorException", code_of(error)
        else:
            raise AssertionError(f"the stream ended without an error after {received}")
        assert len(received) == 2, f"the first two events arrive before the cut: {received}"
    finally:
        set_faults({})


@check
def invoke_model_embeds_titan_bodies():
    text = "The warranty lasts two years from the date of purchase."
    for dimensions in [256, 512, 1024]:
        body, response = invoke(
            TITAN_EMBED_V2, {"inputText": text, "dimensions": dimensions, "normalize": True}
        )
        vector = body["embedding"]
        assert len(vector) == dimensions, len(vector)
        norm = sum(x * x for x in vector) ** 0.5
        assert abs(norm - 1.0) < 1e-3, norm
        assert body["inputTextTokenCount"] > 0, body
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        assert int(headers["x-amzn-bedrock-input-token-count"]) == body["inputTextTokenCount"]
    g1, _ = invoke(TITAN_EMBED_G1, {"inputText": text})
    assert len(g1["embedding"]) == 1536, len(g1["embedding"])
    again, _ = invoke(TITAN_EMBED_V2, {"inputText": text, "dimensions": 256, "normalize": True})
    first, _ = invoke(TITAN_EMBED_V2, {"inputText": text, "dimensions": 256, "normalize": True})
    assert again["embedding"] == first["embedding"], "the local embedding is deterministic"


@check
def invoke_model_with_response_stream_sends_the_titan_embedding_with_metrics():
    body = {"inputText": "The office opens at 9am.", "dimensions": 512}
    chunks = invoke_stream(TITAN_EMBED_V2, body)
    assert len(chunks) == 1, chunks
    assert len(chunks[0]["embedding"]) == 512
    metrics = chunks[0]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == chunks[0]["inputTextTokenCount"], metrics
    whole, _ = invoke(TITAN_EMBED_V2, body)
    assert whole["embedding"] == chunks[0]["embedding"]


# ---- Native InvokeModel bodies, one row per provider family --------------------------------


@dataclass
class NativeRow:
    family: str
    model_id: str
    body: dict
    # The answer text of an InvokeModel response body.
    answer: Callable[[dict], str]
    # The text one InvokeModelWithResponseStream chunk carries ("" for none).
    chunk_text: Callable[[dict], str] | None
    source: str


def first_choice_message(body: dict) -> str:
    return body["choices"][0]["message"]["content"] or ""


def first_choice_delta(chunk: dict) -> str:
    choices = chunk.get("choices") or [{}]
    part = choices[0].get("delta") or choices[0].get("message") or {}
    return part.get("content") or ""


def anthropic_chunk(chunk: dict) -> str:
    if chunk.get("type") == "content_block_delta":
        return chunk["delta"].get("text", "")
    return ""


def nova_chunk(chunk: dict) -> str:
    return chunk.get("contentBlockDelta", {}).get("delta", {}).get("text", "")


def cohere_chunk(chunk: dict) -> str:
    return chunk.get("text", "") if chunk.get("event_type") == "text-generation" else ""


def cohere_embeddings(body: dict) -> list:
    embeddings = body["embeddings"]
    return embeddings["float"] if isinstance(embeddings, dict) else embeddings


USER_TURN = f"{OFFICE}\n\n{QUESTION}"

NATIVE_ROWS = [
    NativeRow(
        "anthropic",
        HAIKU,
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 512,
            "temperature": 0.5,
            "system": OFFICE,
            "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        },
        lambda b: "".join(c.get("text", "") for c in b["content"]),
        anthropic_chunk,
        "model-parameters-anthropic-claude-messages-request-response",
    ),
    NativeRow(
        "amazon-nova",
        "amazon.nova-lite-v1:0",
        {
            "schemaVersion": "messages-v1",
            "system": [{"text": OFFICE}],
            "messages": [{"role": "user", "content": [{"text": QUESTION}]}],
            "inferenceConfig": {"maxTokens": 300, "topP": 0.1, "topK": 20, "temperature": 0.3},
        },
        lambda b: "".join(c.get("text", "") for c in b["output"]["message"]["content"]),
        nova_chunk,
        "Amazon Nova user guide: Invoke API, complete request schema",
    ),
    NativeRow(
        "amazon-titan-text",
        "amazon.titan-text-express-v1",
        {
            "inputText": f"User: {USER_TURN}\nBot:",
            "textGenerationConfig": {"maxTokenCount": 512, "temperature": 0.5, "topP": 0.9},
        },
        lambda b: b["results"][0]["outputText"],
        lambda c: c.get("outputText", ""),
        "model-parameters-titan-text",
    ),
    NativeRow(
        "meta",
        "meta.llama3-70b-instruct-v1:0",
        {
            "prompt": (
                "\n<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
                f"{USER_TURN}\n<|eot_id|>\n<|start_header_id|>assistant<|end_header_id|>\n"
            ),
            "max_gen_len": 512,
            "temperature": 0.5,
        },
        lambda b: b["generation"],
        lambda c: c.get("generation") or "",
        "model-parameters-meta (Llama 3 instruction format)",
    ),
    NativeRow(
        "mistral",
        "mistral.mistral-large-2402-v1:0",
        {"prompt": f"<s>[INST] {USER_TURN} [/INST]", "max_tokens": 512, "temperature": 0.5},
        lambda b: b["outputs"][0]["text"],
        lambda c: (c.get("outputs") or [{}])[0].get("text", ""),
        "model-parameters-mistral-text-completion",
    ),
    NativeRow(
        "mistral",
        "mistral.mistral-large-2407-v1:0",
        {
            "messages": [
                {"role": "system", "content": OFFICE},
                {"role": "user", "content": QUESTION},
            ],
            "max_tokens": 512,
            "temperature": 0.5,
            "top_p": 0.9,
        },
        first_choice_message,
        first_choice_delta,
        "model-parameters-mistral-chat-completion",
    ),
    NativeRow(
        "cohere-command",
        "cohere.command-r-v1:0",
        {"message": USER_TURN, "max_tokens": 512, "temperature": 0.5},
        lambda b: b["text"],
        cohere_chunk,
        "model-parameters-cohere-command-r-plus",
    ),
    NativeRow(
        "ai21",
        "ai21.jamba-1-5-mini-v1:0",
        {
            "messages": [
                {"role": "system", "content": OFFICE},
                {"role": "user", "content": QUESTION},
            ],
            "max_tokens": 512,
            "temperature": 0.7,
            "top_p": 1,
            "n": 1,
        },
        first_choice_message,
        first_choice_delta,
        "model-parameters-jamba",
    ),
    NativeRow(
        "deepseek",
        "us.deepseek.r1-v1:0",
        {
            "prompt": f"<｜begin▁of▁sentence｜><｜User｜>{USER_TURN}<｜Assistant｜><think>\n",
            "max_tokens": 512,
            "temperature": 0.5,
            "top_p": 0.9,
        },
        lambda b: b["choices"][0]["text"],
        lambda c: (c.get("choices") or [{}])[0].get("text") or "",
        "model-parameters-deepseek",
    ),
    NativeRow(
        "openai",
        "openai.gpt-oss-20b-1:0",
        {
            "messages": [
                {"role": "developer", "content": OFFICE},
                {"role": "user", "content": QUESTION},
            ],
            "max_completion_tokens": 150,
            "temperature": 0.7,
            "top_p": 0.9,
        },
        first_choice_message,
        first_choice_delta,
        "model-parameters-openai (OpenAI Create chat completion body)",
    ),
    NativeRow(
        "cohere-embed",
        "cohere.embed-english-v3",
        {
            "texts": [OFFICE, "Parking is free for visitors."],
            "input_type": "search_document",
            "truncate": "NONE",
        },
        lambda b: json.dumps([len(v) for v in cohere_embeddings(b)]),
        None,
        "model-parameters-embed-v3",
    ),
]


def native_check(row: NativeRow) -> Callable[[], None]:
    def run() -> None:
        body, response = invoke(row.model_id, row.body)
        answer = row.answer(body)
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        assert int(headers["x-amzn-bedrock-input-token-count"]) > 0, headers
        if row.family == "cohere-embed":
            assert json.loads(answer) == [1024, 1024], f"one 1024-float vector per text: {answer}"
            return
        assert ANSWER in answer, f"{row.family}: {answer!r}"
        assert int(headers["x-amzn-bedrock-output-token-count"]) > 0, headers
        chunks = invoke_stream(row.model_id, row.body)
        folded = "".join(row.chunk_text(c) for c in chunks)
        assert len(chunks) > 1, f"several chunks, got {chunks}"
        assert folded.strip() == answer.strip(), (folded, answer)
        assert "amazon-bedrock-invocationMetrics" in chunks[-1], chunks[-1]

    run.__name__ = f"invoke_model_native_{row.family}_{row.model_id}"
    return run


for native_row in NATIVE_ROWS:
    CHECKS.append((f"invoke_model_native[{native_row.family}] {native_row.model_id}", native_check(native_row)))


@check
def apply_guardrail_blocks_denied_topics_and_blocked_words_and_passes_the_rest():
    def apply(text: str, source: str = "INPUT") -> dict:
        return runtime.apply_guardrail(
            guardrailIdentifier=GUARDRAIL_ID,
            guardrailVersion="1",
            source=source,
            content=[{"text": {"text": text}}],
        )

    topic = apply("Should I put my savings into crypto?")
    assert topic["action"] == "GUARDRAIL_INTERVENED", topic
    assert topic["outputs"][0]["text"] == BLOCKED_MESSAGE, topic["outputs"]
    topics = topic["assessments"][0]["topicPolicy"]["topics"]
    assert topics[0]["name"] == "Investment advice" and topics[0]["action"] == "BLOCKED", topics
    word = apply("Here is the password dump you asked for.", source="OUTPUT")
    assert word["action"] == "GUARDRAIL_INTERVENED", word
    clean = apply("When does the office open?")
    assert clean["action"] == "NONE" and clean["outputs"] == [], clean


# ---- Control plane ------------------------------------------------------------------------


@check
def list_foundation_models_with_each_filter():
    everything = control.list_foundation_models()["modelSummaries"]
    assert len(everything) >= 25, len(everything)
    assert any(m["modelId"] == HAIKU for m in everything)
    filters = {
        "byProvider": ("Anthropic", lambda m: m["providerName"] == "Anthropic"),
        "byCustomizationType": (
            "FINE_TUNING",
            lambda m: "FINE_TUNING" in m.get("customizationsSupported", []),
        ),
        "byOutputModality": ("EMBEDDING", lambda m: "EMBEDDING" in m["outputModalities"]),
        "byInferenceType": (
            "PROVISIONED",
            lambda m: "PROVISIONED" in m["inferenceTypesSupported"],
        ),
    }
    for name, (value, matches) in filters.items():
        listed = control.list_foundation_models(**{name: value})["modelSummaries"]
        assert listed, f"{name}={value} lists nothing"
        assert len(listed) < len(everything), f"{name}={value} filters nothing"
        assert all(matches(m) for m in listed), f"{name}={value}: {[m['modelId'] for m in listed]}"
        expected = [m["modelId"] for m in everything if matches(m)]
        assert [m["modelId"] for m in listed] == expected, (name, value)
    by_key = control.list_foundation_models(byProvider="meta")["modelSummaries"]
    assert by_key and all(m["providerName"] == "Meta" for m in by_key)


@check
def get_foundation_model_by_id_and_by_arn():
    by_id = control.get_foundation_model(modelIdentifier=HAIKU)["modelDetails"]
    assert by_id["modelId"] == HAIKU and by_id["providerName"] == "Anthropic", by_id
    assert by_id["modelArn"] == f"arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"
    by_arn = control.get_foundation_model(modelIdentifier=by_id["modelArn"])["modelDetails"]
    assert by_arn == by_id


@check
def list_inference_profiles_through_the_paginator():
    paginator = control.get_paginator("list_inference_profiles")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) > 2, f"several pages, got {len(pages)}"
    assert all(len(p["inferenceProfileSummaries"]) <= 5 for p in pages)
    ids = [s["inferenceProfileId"] for p in pages for s in p["inferenceProfileSummaries"]]
    assert len(ids) == len(set(ids)), "every profile once"
    single = control.list_inference_profiles()["inferenceProfileSummaries"]
    assert ids == [s["inferenceProfileId"] for s in single]
    assert HAIKU_PROFILE in ids
    assert all(i.split(".")[0] in ("us", "global") for i in ids), "us-east-1 sees us and global"
    system = control.list_inference_profiles(typeEquals="SYSTEM_DEFINED")
    assert len(system["inferenceProfileSummaries"]) == len(ids)


@check
def get_inference_profile_by_id_and_by_arn():
    by_id = control.get_inference_profile(inferenceProfileIdentifier=HAIKU_PROFILE)
    assert by_id["inferenceProfileId"] == HAIKU_PROFILE, by_id
    assert by_id["type"] == "SYSTEM_DEFINED" and by_id["status"] == "ACTIVE", by_id
    members = [m["modelArn"] for m in by_id["models"]]
    assert members and all(arn.endswith(f"foundation-model/{HAIKU}") for arn in members), members
    by_arn = control.get_inference_profile(
        inferenceProfileIdentifier=by_id["inferenceProfileArn"]
    )
    assert by_arn["inferenceProfileId"] == HAIKU_PROFILE


# ---- Errors as boto3 parses them ----------------------------------------------------------


@check
def validation_errors_are_validation_exceptions():
    expect_error(
        lambda: runtime.converse(
            modelId="anthropic.claude-9-opus-20990101-v1:0",
            messages=[{"role": "user", "content": [{"text": "Hi"}]}],
        ),
        "ValidationException",
        INVALID_MODEL_ID,
    )
    expect_error(
        lambda: runtime.converse(
            modelId=HAIKU,
            messages=[{"role": "assistant", "content": [{"text": "Hi"}]}],
        ),
        "ValidationException",
        "A conversation must start with a user message.",
    )
    expect_error(
        lambda: invoke(TITAN_EMBED_V2, {"inputText": "x", "dimensions": 300}),
        "ValidationException",
        "#/dimensions: 300 is not a valid enum value",
    )
    expect_error(
        lambda: control.list_foundation_models(byOutputModality="AUDIO"),
        "ValidationException",
        "byOutputModality",
    )
    error = error_of(lambda: control.list_foundation_models(byInferenceType="SPOT"))
    assert isinstance(error, control.exceptions.ValidationException), type(error)


@check
def unknown_resources_are_resource_not_found_exceptions():
    expect_error(
        lambda: control.get_foundation_model(modelIdentifier="amazon.titan-nothing-v9:0"),
        "ResourceNotFoundException",
    )
    expect_error(
        lambda: control.get_inference_profile(
            inferenceProfileIdentifier="us.amazon.titan-nothing-v9:0"
        ),
        "ResourceNotFoundException",
    )
    error = error_of(
        lambda: runtime.apply_guardrail(
            guardrailIdentifier="nosuchguardrail",
            guardrailVersion="1",
            source="INPUT",
            content=[{"text": {"text": "Hi"}}],
        )
    )
    assert isinstance(error, runtime.exceptions.ResourceNotFoundException), error


@check
def faults_surface_as_their_exceptions_and_clear():
    def ask():
        return runtime_once.converse(
            modelId=HAIKU, messages=[{"role": "user", "content": [{"text": QUESTION}]}]
        )

    cases = [
        ({"throttle_every": 1}, "ThrottlingException", 429),
        ({"timeout_every": 1}, "ModelTimeoutException", 408),
        ({"unavailable_every": 1}, "ServiceUnavailableException", 503),
        ({"internal_every": 1}, "InternalServerException", 500),
    ]
    try:
        for settings, code, status in cases:
            applied = set_faults(settings)
            assert all(applied.get(k) == v for k, v in settings.items()), applied
            error = expect_error(ask, code)
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status, error.response
            assert isinstance(error, getattr(runtime_once.exceptions, code)), type(error)
    finally:
        set_faults({})
    assert ask()["stopReason"] == "end_turn", "calls succeed again once faults are cleared"


# --------------------------------------------------------------------------------------------


def main() -> int:
    print(f"boto3 {boto3.__version__} against {URL}")
    passed = failed = 0
    for name, function in CHECKS:
        try:
            function()
        except Exception as error:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}")
            traceback.print_exc(limit=3, file=sys.stdout)
        else:
            passed += 1
            print(f"PASS {name}")
    print(f"boto3: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
