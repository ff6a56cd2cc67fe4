//! The local Bedrock runtime endpoint driven through the real `aws-sdk-bedrockruntime` client, as
//! applications use it: every operation, the guardrail, every fault, and validation errors.

mod common;

use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockStart, ConversationRole,
    ConverseOutput as ConverseOutputMessage, ConverseStreamOutput, GuardrailAction,
    GuardrailConfiguration, GuardrailContentBlock, GuardrailContentSource,
    GuardrailStreamConfiguration, GuardrailTextBlock, GuardrailTrace, InferenceConfiguration,
    Message, ResponseStream, SpecificToolChoice, StopReason, SystemContentBlock, Tool, ToolChoice,
    ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolSpecification,
    ToolUseBlock,
};
use quarry::chat::converse::{document_to_json, json_to_document};
use quarry_local::bedrock::guardrail::DEMO_GUARDRAIL_ID;
use quarry_local::faults::FaultConfig;
use quarry_local::models::embedding::embed;
use serde_json::{Value, json};

use common::{OFFICE, ResponseHeaders, ask_office, client, client_with, start, user};

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const HAIKU_PROFILE_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";
const BLOCKED_MESSAGE: &str = "Sorry, the model cannot answer this question.";

fn message_of(output: &ConverseOutput) -> &Message {
    match output.output() {
        Some(ConverseOutputMessage::Message(message)) => message,
        other => panic!("expected an output message, got {other:?}"),
    }
}

fn text_of(output: &ConverseOutput) -> String {
    message_of(output).content().iter().filter_map(|b| b.as_text().ok().cloned()).collect()
}

/// The tool of "Call a tool with the Converse API"
/// (https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html).
fn top_song_tools() -> ToolConfiguration {
    let schema = json!({
        "type": "object",
        "properties": {"sign": {"type": "string", "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."}},
        "required": ["sign"]
    });
    let spec = ToolSpecification::builder()
        .name("top_song")
        .description("Get the most popular song played on a radio station.")
        .input_schema(ToolInputSchema::Json(json_to_document(&schema)))
        .build()
        .expect("a valid tool");
    ToolConfiguration::builder().tools(Tool::ToolSpec(spec)).build().expect("a valid tool config")
}

const TOP_SONG_QUESTION: &str = "What is the most popular song on WZPZ?";

/// Collects a ConverseStream: the events in order, or the error that ended it.
async fn collect_stream(
    mut stream: aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<
        ConverseStreamOutput,
        ConverseStreamOutputError,
    >,
) -> (Vec<ConverseStreamOutput>, Option<String>) {
    let mut events = Vec::new();
    loop {
        match stream.recv().await {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return (events, None),
            Err(error) => return (events, Some(format!("{:?}", error.into_service_error()))),
        }
    }
}

fn folded_text(events: &[ConverseStreamOutput]) -> String {
    events
        .iter()
        .filter_map(|event| match event {
            ConverseStreamOutput::ContentBlockDelta(delta) => match delta.delta() {
                Some(ContentBlockDelta::Text(text)) => Some(text.as_str()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn stream_stop_reason(events: &[ConverseStreamOutput]) -> Option<StopReason> {
    events.iter().find_map(|event| match event {
        ConverseStreamOutput::MessageStop(stop) => Some(stop.stop_reason().clone()),
        _ => None,
    })
}

#[tokio::test]
async fn converse_quotes_the_context_sentence_that_answers_the_question() {
    let server = start().await;
    let client = client(&server).await;
    for model in [HAIKU, HAIKU_PROFILE_ARN, "local.extractive-v1"] {
        let output = client
            .converse()
            .model_id(model)
            .system(SystemContentBlock::Text(OFFICE.to_owned()))
            .messages(user("When does the office open?"))
            .send()
            .await
            .expect("converse succeeds");
        let text = text_of(&output);
        assert!(text.contains("The office opens at 9am."), "{model}: {text}");
        assert!(!text.contains("Parking"), "{model}: {text}");
        assert_eq!(message_of(&output).role(), &ConversationRole::Assistant);
        assert_eq!(output.stop_reason(), &StopReason::EndTurn);
        let usage = output.usage().expect("usage");
        assert!(usage.input_tokens() > 0 && usage.output_tokens() > 0);
        assert_eq!(usage.total_tokens(), usage.input_tokens() + usage.output_tokens());
        assert!(output.metrics().is_some());
    }
}

#[tokio::test]
async fn converse_stops_at_max_tokens_and_at_stop_sequences() {
    let server = start().await;
    let client = client(&server).await;
    let ask = |config: InferenceConfiguration| {
        client
            .converse()
            .model_id(HAIKU)
            .system(SystemContentBlock::Text(OFFICE.to_owned()))
            .messages(user("When does the office open?"))
            .inference_config(config)
            .send()
    };
    let short = ask(InferenceConfiguration::builder().max_tokens(3).build()).await.expect("ok");
    assert_eq!(short.stop_reason(), &StopReason::MaxTokens);
    assert_eq!(short.usage().expect("usage").output_tokens(), 3);

    let stopped =
        ask(InferenceConfiguration::builder().stop_sequences("9am").build()).await.expect("ok");
    assert_eq!(stopped.stop_reason(), &StopReason::StopSequence);
    let text = text_of(&stopped);
    assert!(text.ends_with("opens at "), "{text}");
}

#[tokio::test]
async fn converse_calls_a_tool_and_answers_from_its_result() {
    let server = start().await;
    let client = client(&server).await;
    let question = user(TOP_SONG_QUESTION);
    let first = client
        .converse()
        .model_id(HAIKU)
        .messages(question.clone())
        .tool_config(top_song_tools())
        .send()
        .await
        .expect("converse succeeds");
    assert_eq!(first.stop_reason(), &StopReason::ToolUse);
    let assistant = message_of(&first).clone();
    let tool_use: &ToolUseBlock =
        assistant.content().iter().find_map(|b| b.as_tool_use().ok()).expect("a toolUse block");
    assert_eq!(tool_use.name(), "top_song");
    assert_eq!(
        document_to_json(tool_use.input()).expect("finite numbers"),
        json!({"sign": "WZPZ"})
    );

    let result = ToolResultBlock::builder()
        .tool_use_id(tool_use.tool_use_id())
        .content(ToolResultContentBlock::Json(json_to_document(
            &json!({"song": "Elemental Hotel", "artist": "8 Storey Hike"}),
        )))
        .build()
        .expect("a valid tool result");
    let second = client
        .converse()
        .model_id(HAIKU)
        .messages(question)
        .messages(assistant)
        .messages(
            Message::builder()
                .role(ConversationRole::User)
                .content(ContentBlock::ToolResult(result))
                .build()
                .expect("message"),
        )
        .tool_config(top_song_tools())
        .send()
        .await
        .expect("converse succeeds");
    assert_eq!(second.stop_reason(), &StopReason::EndTurn);
    assert!(text_of(&second).contains("Elemental Hotel"), "{}", text_of(&second));
}

#[tokio::test]
async fn converse_forced_to_use_a_tool_calls_it() {
    let server = start().await;
    let client = client(&server).await;
    let tools = ToolConfiguration::builder()
        .set_tools(Some(top_song_tools().tools().to_vec()))
        .tool_choice(ToolChoice::Tool(
            SpecificToolChoice::builder().name("top_song").build().expect("choice"),
        ))
        .build()
        .expect("config");
    let output = client
        .converse()
        .model_id(HAIKU)
        .messages(user("Hello there, anything new on WKRP?"))
        .tool_config(tools)
        .send()
        .await
        .expect("converse succeeds");
    assert_eq!(output.stop_reason(), &StopReason::ToolUse);
}

#[tokio::test]
async fn converse_with_a_guardrail_intervenes_on_a_denied_topic() {
    let server = start().await;
    let client = client(&server).await;
    let guardrail = GuardrailConfiguration::builder()
        .guardrail_identifier(DEMO_GUARDRAIL_ID)
        .guardrail_version("DRAFT")
        .trace(GuardrailTrace::Enabled)
        .build();
    let output = client
        .converse()
        .model_id(HAIKU)
        .messages(user("Which stocks should I buy this year?"))
        .guardrail_config(guardrail.clone())
        .send()
        .await
        .expect("converse succeeds");
    assert_eq!(output.stop_reason(), &StopReason::GuardrailIntervened);
    assert_eq!(text_of(&output), BLOCKED_MESSAGE);
    let trace = output.trace().and_then(|t| t.guardrail()).expect("a guardrail trace");
    let assessment = &trace.input_assessment().expect("input assessment")[DEMO_GUARDRAIL_ID];
    let topic = &assessment.topic_policy().expect("topic policy").topics()[0];
    assert_eq!(topic.name(), "Investment advice");

    let harmless = client
        .converse()
        .model_id(HAIKU)
        .system(SystemContentBlock::Text(OFFICE.to_owned()))
        .messages(user("When does the office open?"))
        .guardrail_config(guardrail)
        .send()
        .await
        .expect("converse succeeds");
    assert_eq!(harmless.stop_reason(), &StopReason::EndTurn);

    let missing = client
        .converse()
        .model_id(HAIKU)
        .messages(user("Hi"))
        .guardrail_config(
            GuardrailConfiguration::builder()
                .guardrail_identifier("nosuchguardrail")
                .guardrail_version("1")
                .build(),
        )
        .send()
        .await
        .expect_err("unknown guardrail")
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
}

#[tokio::test]
async fn converse_stream_folds_to_the_converse_answer_in_several_deltas() {
    let server = start().await;
    let client = client(&server).await;
    let question = "When does the office open and when does the cafeteria serve lunch?";
    let whole = client
        .converse()
        .model_id(HAIKU)
        .system(SystemContentBlock::Text(OFFICE.to_owned()))
        .messages(user(question))
        .send()
        .await
        .expect("converse succeeds");
    let output = client
        .converse_stream()
        .model_id(HAIKU)
        .system(SystemContentBlock::Text(OFFICE.to_owned()))
        .messages(user(question))
        .send()
        .await
        .expect("converse-stream starts");
    let (events, error) = collect_stream(output.stream).await;
    assert_eq!(error, None);
    assert!(matches!(
        events.first(),
        Some(ConverseStreamOutput::MessageStart(start)) if start.role() == &ConversationRole::Assistant
    ));
    let deltas = events.iter().filter(|e| matches!(e, ConverseStreamOutput::ContentBlockDelta(_)));
    assert!(deltas.count() > 2, "several deltas: {events:?}");
    assert_eq!(folded_text(&events), text_of(&whole));
    assert_eq!(stream_stop_reason(&events), Some(StopReason::EndTurn));
    let Some(ConverseStreamOutput::Metadata(metadata)) = events.last() else {
        panic!("the stream ends with metadata: {events:?}")
    };
    assert_eq!(metadata.usage(), whole.usage());
    assert!(metadata.metrics().is_some());
}

#[tokio::test]
async fn converse_stream_delivers_a_tool_use_as_block_start_and_input_deltas() {
    let server = start().await;
    let client = client(&server).await;
    let output = client
        .converse_stream()
        .model_id(HAIKU)
        .messages(user(TOP_SONG_QUESTION))
        .tool_config(top_song_tools())
        .send()
        .await
        .expect("converse-stream starts");
    let (events, error) = collect_stream(output.stream).await;
    assert_eq!(error, None);
    let start = events
        .iter()
        .find_map(|e| match e {
            ConverseStreamOutput::ContentBlockStart(start) => start.start().cloned(),
            _ => None,
        })
        .expect("a content block start");
    let ContentBlockStart::ToolUse(tool) = start else { panic!("a tool use start: {start:?}") };
    assert_eq!(tool.name(), "top_song");
    assert!(tool.tool_use_id().starts_with("tooluse_"));
    let input: String = events
        .iter()
        .filter_map(|e| match e {
            ConverseStreamOutput::ContentBlockDelta(delta) => match delta.delta() {
                Some(ContentBlockDelta::ToolUse(tool)) => Some(tool.input()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&input).expect("input JSON"), json!({"sign": "WZPZ"}));
    assert_eq!(stream_stop_reason(&events), Some(StopReason::ToolUse));
}

#[tokio::test]
async fn converse_stream_with_a_guardrail_streams_the_blocked_message() {
    let server = start().await;
    let client = client(&server).await;
    let output = client
        .converse_stream()
        .model_id(HAIKU)
        .messages(user("Is crypto a good investment?"))
        .guardrail_config(
            GuardrailStreamConfiguration::builder()
                .guardrail_identifier(DEMO_GUARDRAIL_ID)
                .guardrail_version("1")
                .build(),
        )
        .send()
        .await
        .expect("converse-stream starts");
    let (events, error) = collect_stream(output.stream).await;
    assert_eq!(error, None);
    assert_eq!(folded_text(&events), BLOCKED_MESSAGE);
    assert_eq!(stream_stop_reason(&events), Some(StopReason::GuardrailIntervened));
}

#[tokio::test]
async fn invoke_model_embeds_a_titan_v2_body_in_every_dimension_with_token_count_headers() {
    let server = start().await;
    let client = client(&server).await;
    let text = "The warranty lasts two years from the date of purchase.";
    for (model, dimensions) in
        [(TITAN_V2, 256), (TITAN_V2, 512), (TITAN_V2, 1024), ("local.embed-v1", 512)]
    {
        let headers = ResponseHeaders::default();
        let body = json!({"inputText": text, "dimensions": dimensions, "normalize": true});
        let output = client
            .invoke_model()
            .model_id(model)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body.to_string()))
            .customize()
            .interceptor(headers.clone())
            .send()
            .await
            .expect("invoke succeeds");
        assert_eq!(output.content_type(), "application/json");
        let answer: Value = serde_json::from_slice(output.body().as_ref()).expect("JSON body");
        let vector: Vec<f32> =
            serde_json::from_value(answer["embedding"].clone()).expect("a float vector");
        assert_eq!(vector.len(), dimensions, "{model}");
        assert_eq!(vector, embed(text, dimensions), "the local embedding model's vector");
        assert_eq!(answer["embeddingsByType"]["float"], answer["embedding"]);
        assert_eq!(answer["inputTextTokenCount"], 11);
        assert_eq!(headers.get("x-amzn-bedrock-input-token-count").as_deref(), Some("11"));
        assert_eq!(headers.get("x-amzn-bedrock-output-token-count").as_deref(), Some("0"));
        assert!(headers.get("x-amzn-bedrock-invocation-latency").is_some());
        assert!(headers.get("x-amzn-requestid").is_some());
    }
}

#[tokio::test]
async fn invoke_model_with_response_stream_sends_one_chunk_with_invocation_metrics() {
    let server = start().await;
    let client = client(&server).await;
    let body = json!({"inputText": "Hello world", "dimensions": 256, "embeddingTypes": ["binary"]});
    let mut output = client
        .invoke_model_with_response_stream()
        .model_id(TITAN_V2)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .expect("the stream starts");
    assert_eq!(output.content_type(), "application/json");
    let mut chunks: Vec<Value> = Vec::new();
    while let Some(event) = output.body.recv().await.expect("no stream error") {
        let ResponseStream::Chunk(part) = event else { panic!("a chunk event: {event:?}") };
        let bytes = part.bytes().expect("chunk bytes");
        chunks.push(serde_json::from_slice(bytes.as_ref()).expect("chunk JSON"));
    }
    assert_eq!(chunks.len(), 1);
    let chunk = &chunks[0];
    let binary = chunk["embeddingsByType"]["binary"].as_array().expect("binary embedding");
    assert_eq!(binary.len(), 256);
    assert!(binary.iter().all(|b| b == 0 || b == 1));
    let metrics = &chunk["amazon-bedrock-invocationMetrics"];
    assert_eq!(metrics["inputTokenCount"], 2);
    assert_eq!(metrics["outputTokenCount"], 0);
    assert!(metrics["invocationLatency"].is_u64() && metrics["firstByteLatency"].is_u64());
}

#[tokio::test]
async fn apply_guardrail_blocks_denied_topics_and_blocked_words_and_passes_the_rest() {
    let server = start().await;
    let client = client(&server).await;
    let check = |text: &str, source: GuardrailContentSource| {
        client
            .apply_guardrail()
            .guardrail_identifier(DEMO_GUARDRAIL_ID)
            .guardrail_version("DRAFT")
            .source(source)
            .content(GuardrailContentBlock::Text(
                GuardrailTextBlock::builder().text(text).build().expect("text block"),
            ))
            .send()
    };
    let blocked = check("Give me a stock tip for my portfolio.", GuardrailContentSource::Input)
        .await
        .expect("apply succeeds");
    assert_eq!(blocked.action(), &GuardrailAction::GuardrailIntervened);
    assert_eq!(blocked.outputs()[0].text(), Some(BLOCKED_MESSAGE));
    let topics = blocked.assessments()[0].topic_policy().expect("topic policy").topics();
    assert_eq!(topics[0].name(), "Investment advice");
    assert_eq!(blocked.usage().expect("usage").topic_policy_units(), 1);

    let word = check("The file is classified.", GuardrailContentSource::Output)
        .await
        .expect("apply succeeds");
    assert_eq!(word.action(), &GuardrailAction::GuardrailIntervened);
    let words = word.assessments()[0].word_policy().expect("word policy").custom_words();
    assert_eq!(words[0].r#match(), "classified");

    let passed = check("The office opens at 9am.", GuardrailContentSource::Input)
        .await
        .expect("apply succeeds");
    assert_eq!(passed.action(), &GuardrailAction::None);
    assert!(passed.outputs().is_empty());

    let missing = client
        .apply_guardrail()
        .guardrail_identifier("nosuchguardrail")
        .guardrail_version("1")
        .source(GuardrailContentSource::Input)
        .content(GuardrailContentBlock::Text(
            GuardrailTextBlock::builder().text("hi").build().expect("text block"),
        ))
        .send()
        .await
        .expect_err("unknown guardrail")
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
}

#[tokio::test]
async fn validation_errors_reach_the_sdk_as_validation_exceptions_with_bedrock_messages() {
    let server = start().await;
    let client = client(&server).await;
    let assistant_first = client
        .converse()
        .model_id(HAIKU)
        .messages(
            Message::builder()
                .role(ConversationRole::Assistant)
                .content(ContentBlock::Text("Hi".into()))
                .build()
                .expect("message"),
        )
        .send()
        .await
        .expect_err("assistant first")
        .into_service_error();
    assert!(assistant_first.is_validation_exception(), "{assistant_first:?}");
    assert_eq!(
        assistant_first.message(),
        Some(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        )
    );

    let cases: [(&str, InferenceConfiguration, &str); 3] = [
        (
            HAIKU,
            InferenceConfiguration::builder().max_tokens(0).build(),
            "'inferenceConfig.maxTokens'",
        ),
        (
            HAIKU,
            InferenceConfiguration::builder().temperature(1.5).build(),
            "'inferenceConfig.temperature'",
        ),
        (
            "gpt-4",
            InferenceConfiguration::builder().build(),
            "The provided model identifier is invalid.",
        ),
    ];
    for (model, config, expected) in cases {
        let error = client
            .converse()
            .model_id(model)
            .messages(user("Hi"))
            .inference_config(config)
            .send()
            .await
            .expect_err("invalid request")
            .into_service_error();
        assert!(error.is_validation_exception(), "{error:?}");
        assert!(error.message().unwrap_or_default().contains(expected), "{error:?}");
    }

    let no_messages = client
        .converse()
        .model_id(HAIKU)
        .send()
        .await
        .expect_err("no messages")
        .into_service_error();
    assert_eq!(no_messages.code(), Some("ValidationException"));

    let embedding_model = client
        .converse()
        .model_id(TITAN_V2)
        .messages(user("Hi"))
        .send()
        .await
        .expect_err("an embedding model cannot converse")
        .into_service_error();
    assert!(
        embedding_model
            .message()
            .unwrap_or_default()
            .starts_with("This action doesn't support the model"),
        "{embedding_model:?}"
    );

    for (body, expected) in [
        (r#"{"inputText": "x", "dimensions": 300}"#, "#/dimensions: 300 is not a valid enum value"),
        ("{not json", "Malformed input request"),
    ] {
        let error = client
            .invoke_model()
            .model_id(TITAN_V2)
            .content_type("application/json")
            .body(Blob::new(body))
            .send()
            .await
            .expect_err("invalid body")
            .into_service_error();
        assert!(error.is_validation_exception(), "{error:?}");
        assert!(error.message().unwrap_or_default().contains(expected), "{error:?}");
    }
}

fn faults(spec: &str) -> FaultConfig {
    spec.parse().expect("a valid fault spec")
}

#[tokio::test]
async fn throttling_faults_surface_as_throttling_exceptions_every_nth_call() {
    let server = start().await;
    let client = client(&server).await;
    server.faults().set(faults("throttle_every=2")).expect("valid");
    assert!(ask_office(&client, HAIKU).await.is_ok());
    let error = client
        .converse()
        .model_id(HAIKU)
        .messages(user("Hi"))
        .send()
        .await
        .expect_err("the second call is throttled")
        .into_service_error();
    assert!(error.is_throttling_exception(), "{error:?}");
    assert!(ask_office(&client, HAIKU).await.is_ok());
    server.faults().clear();
    assert!(ask_office(&client, HAIKU).await.is_ok());
    assert!(ask_office(&client, HAIKU).await.is_ok());
}

#[tokio::test]
async fn error_faults_surface_as_their_exceptions() {
    let server = start().await;
    let client = client(&server).await;
    for (spec, expected) in [
        ("unavailable_every=1", "ServiceUnavailableException"),
        ("internal_every=1", "InternalServerException"),
        ("timeout_every=1", "ModelTimeoutException"),
        ("throttle_rate=1", "ThrottlingException"),
    ] {
        server.faults().set(faults(spec)).expect("valid");
        let error = ask_office(&client, HAIKU).await.expect_err(spec);
        assert!(error.starts_with(expected), "{spec}: {error}");
    }
    server.faults().set(faults("unavailable_every=1")).expect("valid");
    let error = client
        .converse()
        .model_id(HAIKU)
        .messages(user("Hi"))
        .send()
        .await
        .expect_err("unavailable");
    let status = error.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(503));
    assert!(error.into_service_error().is_service_unavailable_exception());

    server.faults().set(faults("timeout_every=1")).expect("valid");
    let error = client
        .invoke_model()
        .model_id(TITAN_V2)
        .body(Blob::new(r#"{"inputText": "x"}"#))
        .send()
        .await
        .expect_err("timeout")
        .into_service_error();
    assert!(error.is_model_timeout_exception(), "{error:?}");
}

#[tokio::test]
async fn latency_faults_delay_the_answer_and_show_in_its_metrics() {
    let server = start().await;
    let client = client(&server).await;
    server.faults().set(faults("latency_ms=150,latency_per_token_ms=10")).expect("valid");
    let started = Instant::now();
    let output = ask_office(&client, HAIKU).await.expect("a slow answer");
    let output_tokens = u64::try_from(output.usage().expect("usage").output_tokens()).expect("u64");
    let expected = Duration::from_millis(150 + 10 * output_tokens);
    assert!(started.elapsed() >= expected, "{:?} < {expected:?}", started.elapsed());
    let latency = output.metrics().expect("metrics").latency_ms();
    assert!(latency >= 150, "latencyMs {latency}");

    // Streams pay the per-token latency delta by delta.
    server.faults().set(faults("latency_per_token_ms=15")).expect("valid");
    let started = Instant::now();
    let stream = client
        .converse_stream()
        .model_id(HAIKU)
        .system(SystemContentBlock::Text(OFFICE.to_owned()))
        .messages(user("When does the office open?"))
        .send()
        .await
        .expect("the stream starts");
    let (events, error) = collect_stream(stream.stream).await;
    assert_eq!(error, None);
    let Some(ConverseStreamOutput::Metadata(metadata)) = events.last() else {
        panic!("the stream ends with metadata: {events:?}")
    };
    let tokens = u64::try_from(metadata.usage().expect("usage").output_tokens()).expect("u64");
    assert!(started.elapsed() >= Duration::from_millis(15 * tokens), "{:?}", started.elapsed());
    let latency = metadata.metrics().expect("metrics").latency_ms();
    assert!(
        latency >= 15 * i64::try_from(tokens).expect("i64"),
        "latencyMs {latency} for {tokens} tokens"
    );
}

#[tokio::test]
async fn a_stream_cut_by_abort_ends_the_sdk_stream_with_an_error_after_the_first_events() {
    let server = start().await;
    let client = client(&server).await;
    server.faults().set(faults("cut_stream_after=2")).expect("valid");
    let output = client
        .converse_stream()
        .model_id(HAIKU)
        .system(SystemContentBlock::Text(OFFICE.to_owned()))
        .messages(user("When does the office open?"))
        .send()
        .await
        .expect("the stream starts before it is cut");
    let (events, error) = collect_stream(output.stream).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[0], ConverseStreamOutput::MessageStart(_)));
    // The SDK reports the dropped connection as an unhandled stream error around an I/O
    // dispatch failure ("unexpected EOF during chunk size line").
    let error = error.expect("the SDK reports the dropped connection as an error");
    assert!(error.starts_with("Unhandled") && error.contains("kind: Io"), "{error}");
}

#[tokio::test]
async fn a_stream_cut_by_exception_surfaces_as_model_stream_error_exception() {
    let server = start().await;
    let client = client(&server).await;
    server.faults().set(faults("cut_stream_after=3,cut_stream_with=exception")).expect("valid");
    let output = client
        .converse_stream()
        .model_id(HAIKU)
        .system(SystemContentBlock::Text(OFFICE.to_owned()))
        .messages(user("When does the office open?"))
        .send()
        .await
        .expect("the stream starts");
    let (events, error) = collect_stream(output.stream).await;
    assert_eq!(events.len(), 3);
    let error = error.expect("an exception event");
    assert!(error.starts_with("ModelStreamErrorException"), "{error}");
}

#[tokio::test]
async fn with_standard_retries_a_throttle_every_second_call_still_succeeds() {
    let server = start().await;
    let retrying = client_with(
        &server,
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(10)),
    )
    .await;
    server.faults().set(faults("throttle_every=2")).expect("valid");
    for _ in 0..3 {
        let output = ask_office(&retrying, HAIKU).await.expect("retried past the throttle");
        assert!(text_of(&output).contains("9am"));
    }
    // Calls 1 ok; 2 throttled, 3 ok; 4 throttled, 5 ok.
    assert_eq!(server.faults().calls(), 5);
}
