//! Every family's native InvokeModel body, driven through the real `aws-sdk-bedrockruntime` client
//! and quarry's own `shared` adapters: each body is built by `quarry::adapters::adapter_for(family)`,
//! sent with InvokeModel and InvokeModelWithResponseStream, and read back with the same adapter's
//! `parse_response` and `stream_decoder` — so the endpoint and the adapters are checked against
//! each other for every family, streams included. Embedding bodies go through `quarry::embed::plan`
//! and its `Assembler`.

mod common;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{ContentBlock as SdkBlock, ConversationRole, ResponseStream};
use quarry::adapters::{NativeAdapter, adapter_for};
use quarry::chat::{
    ChatRequest, ChatResponse, ContentBlock, Message, Role, StopReason, SystemBlock,
    ToolResultContent, ToolSpec, collect_events,
};
use quarry::embed::{EmbedRequest, EmbeddingModel, plan};
use quarry::model::Family;
use quarry_local::models::embedding::embed;
use quarry_local::models::extractive::count_tokens;
use serde_json::{Value, json};

use common::{OFFICE, ResponseHeaders, client, start};

const QUESTION: &str = "When does the office open?";
const ANSWER_SENTENCE: &str = "The office opens at 9am.";

/// One model of each chat family (both Mistral bodies, both Llama prompt formats), by the id sent
/// to Bedrock and the base id the adapter builds the body for.
const CHAT_MODELS: [(Family, &str, &str); 12] = [
    (
        Family::Anthropic,
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
    ),
    (Family::Anthropic, "local.extractive-v1", "local.extractive-v1"),
    (Family::AmazonNova, "us.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"),
    (Family::AmazonTitanText, "amazon.titan-text-express-v1", "amazon.titan-text-express-v1"),
    (Family::Meta, "meta.llama3-1-8b-instruct-v1:0", "meta.llama3-1-8b-instruct-v1:0"),
    (Family::Meta, "us.meta.llama4-scout-17b-instruct-v1:0", "meta.llama4-scout-17b-instruct-v1:0"),
    (Family::Mistral, "mistral.mistral-7b-instruct-v0:2", "mistral.mistral-7b-instruct-v0:2"),
    (Family::Mistral, "mistral.mistral-large-2407-v1:0", "mistral.mistral-large-2407-v1:0"),
    (Family::CohereCommand, "cohere.command-r-plus-v1:0", "cohere.command-r-plus-v1:0"),
    (Family::Ai21, "ai21.jamba-1-5-large-v1:0", "ai21.jamba-1-5-large-v1:0"),
    (Family::DeepSeek, "us.deepseek.r1-v1:0", "deepseek.r1-v1:0"),
    (Family::OpenAi, "openai.gpt-oss-120b-1:0", "openai.gpt-oss-120b-1:0"),
];

/// The families whose native bodies carry tools, by a model of each.
const TOOL_MODELS: [(Family, &str); 5] = [
    (Family::Anthropic, "anthropic.claude-3-5-haiku-20241022-v1:0"),
    (Family::AmazonNova, "amazon.nova-pro-v1:0"),
    (Family::Mistral, "mistral.mistral-large-2407-v1:0"),
    (Family::CohereCommand, "cohere.command-r-v1:0"),
    (Family::OpenAi, "openai.gpt-oss-20b-1:0"),
];

fn adapter(family: Family) -> &'static dyn NativeAdapter {
    adapter_for(family).expect("every chat family has an adapter")
}

fn office_request() -> ChatRequest {
    ChatRequest {
        system: vec![SystemBlock::Text { text: OFFICE.into() }],
        ..ChatRequest::from_user_text(QUESTION)
    }
}

/// What one InvokeModel call returned: the body and the token-count headers.
#[derive(Debug)]
struct Invoked {
    body: Vec<u8>,
    input_tokens: u32,
    output_tokens: u32,
}

/// The token count in header `name` of the last response.
fn token_count(headers: &ResponseHeaders, name: &str) -> u32 {
    let value = headers.get(name);
    value.unwrap_or_else(|| panic!("no {name} header")).parse().expect("a token count")
}

/// InvokeModel; an error is the SDK's typed service error.
async fn invoke(
    client: &Client,
    model_id: &str,
    body: &Value,
) -> Result<Invoked, InvokeModelError> {
    let headers = ResponseHeaders::default();
    let output = client
        .invoke_model()
        .model_id(model_id)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(body.to_string()))
        .customize()
        .interceptor(headers.clone())
        .send()
        .await
        .map_err(|e| e.into_service_error())?;
    assert_eq!(output.content_type(), "application/json");
    Ok(Invoked {
        body: output.body().as_ref().to_vec(),
        input_tokens: token_count(&headers, "x-amzn-bedrock-input-token-count"),
        output_tokens: token_count(&headers, "x-amzn-bedrock-output-token-count"),
    })
}

/// InvokeModelWithResponseStream: the `chunk.bytes` of every event, in order.
async fn invoke_stream(client: &Client, model_id: &str, body: &Value) -> Vec<Vec<u8>> {
    let mut output = client
        .invoke_model_with_response_stream()
        .model_id(model_id)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{model_id}: the stream starts: {:?}", e.into_service_error()));
    let mut chunks = Vec::new();
    while let Some(event) = output.body.recv().await.expect("no stream error") {
        let ResponseStream::Chunk(part) = event else { panic!("a chunk event: {event:?}") };
        chunks.push(part.bytes().expect("chunk bytes").as_ref().to_vec());
    }
    chunks
}

/// Streams `body` and folds the adapter's decoded events into a response.
async fn streamed(client: &Client, family: Family, model_id: &str, body: &Value) -> ChatResponse {
    let chunks = invoke_stream(client, model_id, body).await;
    assert!(chunks.len() > 2, "{model_id}: the answer arrives in several chunks");
    let mut decoder = adapter(family).stream_decoder();
    let events: Vec<_> = chunks
        .iter()
        .flat_map(|chunk| {
            decoder
                .decode_chunk(chunk)
                .unwrap_or_else(|e| panic!("{model_id}: {e} in {}", String::from_utf8_lossy(chunk)))
        })
        .collect();
    let last: Value = serde_json::from_slice(chunks.last().expect("chunks")).expect("JSON chunk");
    assert!(
        last["amazon-bedrock-invocationMetrics"]["inputTokenCount"].is_u64(),
        "{model_id}: the last chunk carries Bedrock's invocation metrics: {last}"
    );
    collect_events(&events)
}

#[tokio::test]
async fn every_chat_familys_native_body_is_answered_from_the_context_whole_and_streamed() {
    let server = start().await;
    let client = client(&server).await;
    for (family, model_id, base_id) in CHAT_MODELS {
        let body = adapter(family).request_body(base_id, &office_request()).expect("a body");
        let invoked =
            invoke(&client, model_id, &body).await.unwrap_or_else(|e| panic!("{model_id}: {e:?}"));
        let answer =
            adapter(family).parse_response(&invoked.body).expect("the adapter reads the body");
        let text = answer.text();
        assert!(text.contains(ANSWER_SENTENCE), "{model_id}: {text}");
        assert!(!text.contains("Parking"), "{model_id}: only the relevant sentence: {text}");
        assert_eq!(answer.stop_reason, StopReason::EndTurn, "{model_id}");
        assert!(
            invoked.input_tokens >= count_tokens(OFFICE) + count_tokens(QUESTION),
            "{model_id}"
        );
        assert!(invoked.output_tokens >= count_tokens(&text), "{model_id}");
        if answer.usage.input_tokens > 0 {
            assert_eq!(
                (answer.usage.input_tokens, answer.usage.output_tokens),
                (invoked.input_tokens, invoked.output_tokens),
                "{model_id}: the body's counts agree with the headers"
            );
        }

        let folded = streamed(&client, family, model_id, &body).await;
        assert_eq!(folded.text(), text, "{model_id}: the stream folds to the same answer");
        assert_eq!(folded.content, answer.content, "{model_id}");
        assert_eq!(folded.stop_reason, StopReason::EndTurn, "{model_id}");
        assert_eq!(
            (folded.usage.input_tokens, folded.usage.output_tokens),
            (invoked.input_tokens, invoked.output_tokens),
            "{model_id}: the stream's metrics match the headers"
        );
        assert!(folded.latency_ms.is_some(), "{model_id}: latency from the invocation metrics");
    }
}

#[tokio::test]
async fn reasoning_families_show_their_reasoning_before_the_answer() {
    let server = start().await;
    let client = client(&server).await;
    for (family, model_id, base_id) in [
        (Family::DeepSeek, "us.deepseek.r1-v1:0", "deepseek.r1-v1:0"),
        (Family::OpenAi, "openai.gpt-oss-20b-1:0", "openai.gpt-oss-20b-1:0"),
    ] {
        let body = adapter(family).request_body(base_id, &office_request()).expect("a body");
        let invoked = invoke(&client, model_id, &body).await.expect("answered");
        let answer = adapter(family).parse_response(&invoked.body).expect("parses");
        let ContentBlock::Reasoning { text, .. } = &answer.content[0] else {
            panic!("{model_id}: reasoning first: {:?}", answer.content)
        };
        assert!(text.contains(QUESTION), "{model_id}: {text}");
        assert!(invoked.output_tokens > count_tokens(&answer.text()), "reasoning is output too");
    }
}

#[tokio::test]
async fn max_tokens_cuts_the_answer_in_every_family_that_takes_it() {
    let server = start().await;
    let client = client(&server).await;
    let mut request = office_request();
    request.max_tokens = Some(3);
    for (family, model_id, base_id) in CHAT_MODELS {
        let body = adapter(family).request_body(base_id, &request).expect("a body");
        let invoked = invoke(&client, model_id, &body).await.expect("answered");
        let answer = adapter(family).parse_response(&invoked.body).expect("parses");
        assert_eq!(answer.stop_reason, StopReason::MaxTokens, "{model_id}");
        assert_eq!(count_tokens(&answer.text()), 3, "{model_id}: {}", answer.text());
    }
}

fn top_song_request() -> ChatRequest {
    ChatRequest {
        tools: vec![ToolSpec {
            name: "top_song".into(),
            description: Some("Get the most popular song played on a radio station.".into()),
            input_schema: json!({
                "type": "object",
                "properties": {"sign": {"type": "string", "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."}},
                "required": ["sign"]
            }),
        }],
        ..ChatRequest::from_user_text("What is the most popular song on WZPZ?")
    }
}

/// The round trip of "Call a tool with the Converse API"
/// (https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html), in each
/// family's native body.
#[tokio::test]
async fn tool_families_call_the_tool_and_answer_from_its_result_whole_and_streamed() {
    let server = start().await;
    let client = client(&server).await;
    for (family, model_id) in TOOL_MODELS {
        let mut request = top_song_request();
        let body = adapter(family).request_body(model_id, &request).expect("a body");
        let invoked =
            invoke(&client, model_id, &body).await.unwrap_or_else(|e| panic!("{model_id}: {e:?}"));
        let call = adapter(family).parse_response(&invoked.body).expect("parses");
        assert_eq!(call.stop_reason, StopReason::ToolUse, "{model_id}: {call:?}");
        let Some(ContentBlock::ToolUse { id, name, input }) =
            call.content.iter().find(|b| matches!(b, ContentBlock::ToolUse { .. }))
        else {
            panic!("{model_id}: a tool use: {call:?}")
        };
        assert_eq!((name.as_str(), input), ("top_song", &json!({"sign": "WZPZ"})), "{model_id}");

        let folded = streamed(&client, family, model_id, &body).await;
        assert_eq!(folded.content, call.content, "{model_id}: the streamed call is the same call");
        assert_eq!(folded.stop_reason, StopReason::ToolUse, "{model_id}");

        request.messages.push(Message { role: Role::Assistant, content: call.content.clone() });
        request.messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: id.clone(),
                content: vec![ToolResultContent::Json {
                    json: json!({"song": "Elemental Hotel", "artist": "8 Storey Hike"}),
                }],
                status: None,
            }],
        });
        let body = adapter(family).request_body(model_id, &request).expect("a body");
        let invoked =
            invoke(&client, model_id, &body).await.unwrap_or_else(|e| panic!("{model_id}: {e:?}"));
        let reply = adapter(family).parse_response(&invoked.body).expect("parses");
        assert_eq!(reply.stop_reason, StopReason::EndTurn, "{model_id}: {reply:?}");
        assert!(reply.text().contains("Elemental Hotel"), "{model_id}: {}", reply.text());
    }
}

#[tokio::test]
async fn a_forced_tool_choice_reaches_the_model() {
    let server = start().await;
    let client = client(&server).await;
    let mut request = ChatRequest::from_user_text("Tell me something nice.");
    request.tools = top_song_request().tools;
    request.tool_choice = Some(quarry::chat::ToolChoice::Any);
    for (family, model_id) in [
        (Family::Anthropic, "anthropic.claude-3-haiku-20240307-v1:0"),
        (Family::AmazonNova, "amazon.nova-lite-v1:0"),
        (Family::OpenAi, "openai.gpt-oss-120b-1:0"),
    ] {
        let body = adapter(family).request_body(model_id, &request).expect("a body");
        let invoked = invoke(&client, model_id, &body).await.expect("answered");
        let answer = adapter(family).parse_response(&invoked.body).expect("parses");
        assert_eq!(answer.stop_reason, StopReason::ToolUse, "{model_id}: {answer:?}");
    }
}

/// The message of the ValidationException Bedrock answers `body` with.
async fn rejection(client: &Client, model_id: &str, body: Value) -> String {
    let error = invoke(client, model_id, &body).await.expect_err("Bedrock rejects this body");
    assert!(error.is_validation_exception(), "{model_id}: {error:?}");
    error.message().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn bodies_bedrock_rejects_are_sdk_validation_exceptions_in_bedrocks_words() {
    let server = start().await;
    let client = client(&server).await;
    let haiku = "anthropic.claude-3-haiku-20240307-v1:0";
    let hello = json!([{"role": "user", "content": "Hello"}]);
    let cases = [
        (
            haiku,
            json!({"max_tokens": 100, "messages": hello}),
            "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.",
        ),
        (
            haiku,
            json!({"anthropic_version": "bedrock-2023-05-31", "messages": hello}),
            "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.",
        ),
        (
            haiku,
            json!({"messages": hello, "inferenceConfig": {"maxTokens": 100}}),
            "Malformed input request: #: required key [anthropic_version] not found#: required key [max_tokens] not found#: extraneous key [inferenceConfig] is not permitted, please reformat your input and try again.",
        ),
        (
            haiku,
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": []}),
            "messages: at least one message is required",
        ),
        (
            haiku,
            json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
            "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"user\" roles in a row",
        ),
        (
            "meta.llama3-8b-instruct-v1:0",
            json!({"prompt": "Hi", "max_gen_len": 8192}),
            "Malformed input request: #/max_gen_len: 8192 is not less or equal to 2048, please reformat your input and try again.",
        ),
        (
            "amazon.titan-text-express-v1",
            json!({"textGenerationConfig": {"maxTokenCount": 100}}),
            "#: required key [inputText] not found",
        ),
        (
            "mistral.mistral-7b-instruct-v0:2",
            json!({"max_tokens": 100}),
            "#: required key [prompt] not found",
        ),
        (
            "mistral.mistral-large-2407-v1:0",
            json!({"prompt": "<s>[INST] Hi [/INST]"}),
            "#: required key [messages] not found",
        ),
        (
            "amazon.nova-lite-v1:0",
            json!({"messages": [{"role": "assistant", "content": [{"text": "Hi"}]}]}),
            "A conversation must start with a user message.",
        ),
        (
            "cohere.command-r-v1:0",
            json!({"chat_history": []}),
            "#: required key [message] not found",
        ),
        (
            "ai21.jamba-1-5-mini-v1:0",
            json!({"messages": hello, "temperature": 3}),
            "#/temperature: 3 is not less or equal to 2",
        ),
        (
            "us.deepseek.r1-v1:0",
            json!({"prompt": "Hi", "top_k": 10}),
            "#: extraneous key [top_k] is not permitted",
        ),
        ("openai.gpt-oss-20b-1:0", json!({"input": "Hi"}), "#: required key [messages] not found"),
        ("writer.palmyra-x5-v1:0", json!({"prompt": "Hi"}), "call it through Converse"),
    ];
    for (model_id, body, expected) in cases {
        let message = rejection(&client, model_id, body.clone()).await;
        assert!(message.contains(expected), "{model_id} {body}: {message}");
    }
}

#[tokio::test]
async fn converse_still_answers_every_chat_id() {
    let server = start().await;
    let client = client(&server).await;
    for (_, model_id, _) in CHAT_MODELS {
        let output = client
            .converse()
            .model_id(model_id)
            .system(aws_sdk_bedrockruntime::types::SystemContentBlock::Text(OFFICE.into()))
            .messages(
                aws_sdk_bedrockruntime::types::Message::builder()
                    .role(ConversationRole::User)
                    .content(SdkBlock::Text(QUESTION.into()))
                    .build()
                    .expect("a message"),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{model_id}: {:?}", e.into_service_error()));
        let message = output.output().and_then(|o| o.as_message().ok()).expect("a message");
        let text: String =
            message.content().iter().filter_map(|b| b.as_text().ok().cloned()).collect();
        assert!(text.contains(ANSWER_SENTENCE), "{model_id}: {text}");
    }
}

/// Embeds `request` with `model` through the planner's calls and the assembler.
async fn embed_through_plan(
    client: &Client,
    model: EmbeddingModel,
    request: &EmbedRequest,
) -> quarry::embed::Embeddings {
    let plan = plan(model, request).expect("a plan");
    let mut assembler = plan.assembler();
    // Answer the calls in reverse order: the assembler puts the vectors back in input order.
    for (number, call) in plan.calls().iter().enumerate().rev() {
        let invoked = invoke(client, model.base_model_id(), &call.body)
            .await
            .unwrap_or_else(|e| panic!("{model} call {number}: {e:?}"));
        assert_eq!(invoked.output_tokens, 0);
        let texts = &request.texts[call.inputs.clone()];
        assert_eq!(invoked.input_tokens, texts.iter().map(|t| count_tokens(t)).sum::<u32>());
        assembler
            .add(number, &invoked.body, Some(invoked.input_tokens))
            .expect("the call's vectors");
    }
    assembler.finish().expect("every call answered")
}

#[tokio::test]
async fn every_embedding_model_answers_the_planners_calls_with_the_local_models_vectors() {
    let server = start().await;
    let client = client(&server).await;
    for model in EmbeddingModel::ALL {
        // Cohere takes 96 texts per call: 100 texts make two calls.
        let count = if model.is_cohere() { 100 } else { 3 };
        let texts: Vec<String> =
            (0..count).map(|i| format!("Clause {i}: the warranty lasts {i} years.")).collect();
        let mut requests =
            vec![(EmbedRequest::documents(texts.clone()), model.default_dimension())];
        if let Some(&smaller) =
            model.supported_dimensions().first().filter(|_| model.has_dimensions_parameter())
        {
            let mut request = EmbedRequest::documents(texts.clone());
            request.dimensions = Some(smaller);
            requests.push((request, smaller));
        }
        for (request, dimension) in requests {
            let embeddings = embed_through_plan(&client, model, &request).await;
            assert_eq!(embeddings.dimension, dimension, "{model}");
            let expected: Vec<Vec<f32>> =
                texts.iter().map(|t| embed(t, dimension as usize)).collect();
            assert_eq!(embeddings.vectors, expected, "{model} in {dimension} dimensions");
            let tokens: u64 = texts.iter().map(|t| u64::from(count_tokens(t))).sum();
            assert_eq!(embeddings.input_tokens, Some(tokens), "{model}");
        }
    }
}

#[tokio::test]
async fn cohere_input_types_reach_the_server_and_v3_requires_one() {
    let server = start().await;
    let client = client(&server).await;
    for model in [
        EmbeddingModel::CohereEnglishV3,
        EmbeddingModel::CohereMultilingualV3,
        EmbeddingModel::CohereV4,
    ] {
        let documents = EmbedRequest::documents(vec!["The warranty lasts two years.".into()]);
        let query = EmbedRequest::query("How long is the warranty?");
        for request in [&documents, &query] {
            let plan = plan(model, request).expect("a plan");
            let body = &plan.calls()[0].body;
            assert_eq!(body["input_type"], json!(request.input_type), "{model}");
            let embeddings = embed_through_plan(&client, model, request).await;
            assert_eq!(embeddings.vectors.len(), 1);
        }
        let mut without = plan(model, &documents).expect("a plan").calls()[0].body.clone();
        without.as_object_mut().expect("an object body").remove("input_type");
        let message = rejection(&client, model.base_model_id(), without).await;
        assert!(message.contains("#: required key [input_type] not found"), "{model}: {message}");
        let mut wrong = plan(model, &documents).expect("a plan").calls()[0].body.clone();
        wrong["input_type"] = json!("search_everything");
        let message = rejection(&client, model.base_model_id(), wrong).await;
        assert!(message.contains("is not a valid enum value"), "{model}: {message}");
    }
}

#[tokio::test]
async fn cohere_limits_are_enforced_as_bedrock_does() {
    let server = start().await;
    let client = client(&server).await;
    let v3 = EmbeddingModel::CohereEnglishV3.base_model_id();
    let many: Vec<String> = (0..97).map(|i| format!("text {i}")).collect();
    let message =
        rejection(&client, v3, json!({"texts": many, "input_type": "search_document"})).await;
    assert!(message.contains("#/texts: expected maximum item count: 96, found: 97"), "{message}");
    let long = "x".repeat(2_049);
    let message =
        rejection(&client, v3, json!({"texts": [long], "input_type": "search_document"})).await;
    assert!(message.contains("#/texts/0: expected maxLength: 2048, actual: 2049"), "{message}");
    let v4 = EmbeddingModel::CohereV4.base_model_id();
    let message = rejection(
        &client,
        v4,
        json!({"texts": ["hi"], "input_type": "search_query", "output_dimension": 768}),
    )
    .await;
    assert!(message.contains("#/output_dimension: 768 is not a valid enum value"), "{message}");

    let by_type = invoke(
        &client,
        v4,
        &json!({"texts": ["hi there"], "input_type": "search_query", "embedding_types": ["float", "int8", "ubinary"], "output_dimension": 256}),
    )
    .await
    .expect("answered");
    let body: Value = serde_json::from_slice(&by_type.body).expect("JSON");
    assert_eq!(body["response_type"], "embeddings_by_type");
    assert_eq!(body["embeddings"]["int8"][0].as_array().map(Vec::len), Some(256));
    assert_eq!(body["embeddings"]["ubinary"][0].as_array().map(Vec::len), Some(32));
}
