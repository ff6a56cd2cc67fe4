//! The Converse mapping: quarry's chat types to and from aws-sdk-bedrockruntime's Converse and
//! ConverseStream types, losslessly for everything quarry's types can hold.
//!
//! - Requests: [`ConverseParts::from_request`] builds every piece of a Converse call that a
//!   [`ChatRequest`] decides; [`ConverseParts::apply_to_converse`] and
//!   [`ConverseParts::apply_to_converse_stream`] put them on the SDK's fluent builders.
//! - Responses: [`response_from_converse`] for Converse, [`ConverseStreamDecoder`] for
//!   ConverseStream events.
//! - The reverse of each ([`ConverseParts::to_request`], [`response_to_converse`],
//!   [`stream_event_to_converse`]) serves round-trip tests, `aws-smithy-mocks` and the local stack.
//!
//! # `top_k`
//!
//! Converse's `inferenceConfig` has no `top_k`; it travels in `additionalModelRequestFields` under
//! the key the model family reads (see [`TopKField`]): Anthropic `{"top_k": k}`, Amazon Nova
//! `{"inferenceConfig": {"topK": k}}`, Cohere Command R `{"k": k}`, every other model `{"top_k": k}`.
//!
//! # What does not map
//!
//! Quarry → SDK always succeeds unless a number does not fit (`max_tokens` above `i32::MAX`) or
//! redacted reasoning's `data` is not standard base64 (Converse carries it as a blob; quarry
//! carries the blob base64-encoded, so it survives every round trip byte for byte).
//! SDK → quarry for *requests* is strict: a block or field quarry cannot hold (audio, video, S3
//! sources, citations, guard content, cache TTLs, …) is a
//! [`ConverseError::Unsupported`] naming its path, so a successful round trip is a lossless one.
//! SDK → quarry for *responses* is lenient: such blocks are skipped, and unknown stream events are
//! ignored, because a model's answer must not fail on a block quarry does not use.
//! A guardrail trace maps to JSON in the Converse wire shape (the automated-reasoning findings are
//! left out); it does not map back, so [`response_to_converse`] carries the guardrail only through
//! the stop reason.

use aws_sdk_bedrockruntime::operation::converse::ConverseOutput as SdkConverseResponse;
use aws_sdk_bedrockruntime::operation::converse::builders::ConverseFluentBuilder;
use aws_sdk_bedrockruntime::operation::converse_stream::builders::ConverseStreamFluentBuilder;
use aws_sdk_bedrockruntime::types as sdk;
use aws_smithy_types::error::operation::BuildError;
use aws_smithy_types::{Blob, Document, Number};
use serde_json::{Map, Value, json};

use super::types::{
    Base64Bytes, BlockStart, ChatRequest, ChatResponse, ContentBlock, Delta, DocumentFormat,
    GuardrailConfig, GuardrailOutcome, ImageFormat, Message, Role, StopReason, StreamEvent,
    SystemBlock, ToolChoice, ToolResultContent, ToolResultStatus, ToolSpec, Usage,
};
use crate::model::Family;

/// What can go wrong mapping between quarry's chat types and the Converse SDK types.
#[derive(Debug, thiserror::Error)]
pub enum ConverseError {
    /// The value has no counterpart on the other side (e.g. an audio block in a quarry request).
    #[error("{path}: {what} has no counterpart in quarry's chat types")]
    Unsupported { path: String, what: String },
    /// A number does not fit the other side's type.
    #[error("{path}: {value} is out of range; expected {expected}")]
    OutOfRange { path: String, value: String, expected: &'static str },
    /// A JSON document holds a float that JSON cannot (NaN or infinite).
    #[error("{path}: {value} is not a finite number, so it cannot be JSON")]
    NonFiniteNumber { path: String, value: f64 },
    /// Redacted reasoning's `data` does not decode to the blob Converse carries.
    #[error("{path}: expected the standard base64 of the redacted reasoning's bytes: {source}")]
    InvalidBase64 {
        path: String,
        #[source]
        source: base64::DecodeError,
    },
    /// A part Converse requires is missing.
    #[error("{path}: missing, but Converse requires it")]
    Missing { path: String },
    /// The SDK refused to build one of its types (a required field was not set).
    #[error("{path}: the Bedrock SDK could not build it: {source}")]
    Build {
        path: String,
        #[source]
        source: BuildError,
    },
}

fn built<T>(
    result: Result<T, BuildError>,
    path: impl FnOnce() -> String,
) -> Result<T, ConverseError> {
    result.map_err(|source| ConverseError::Build { path: path(), source })
}

fn unsupported(path: &str, what: impl Into<String>) -> ConverseError {
    ConverseError::Unsupported { path: path.to_owned(), what: what.into() }
}

/// Redacted reasoning's base64 `data` (at `path`) as the blob Converse carries.
fn redacted_to_sdk(data: &str, path: &str) -> Result<Blob, ConverseError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map(Blob::new)
        .map_err(|source| ConverseError::InvalidBase64 { path: path.to_owned(), source })
}

/// A redacted-reasoning blob as quarry's base64 `data`.
fn redacted_from_sdk(blob: &Blob) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
}

fn to_i32(value: u32, path: &str) -> Result<i32, ConverseError> {
    i32::try_from(value).map_err(|_| ConverseError::OutOfRange {
        path: path.to_owned(),
        value: value.to_string(),
        expected: "at most 2147483647",
    })
}

fn to_u32(value: i32, path: &str) -> Result<u32, ConverseError> {
    u32::try_from(value).map_err(|_| ConverseError::OutOfRange {
        path: path.to_owned(),
        value: value.to_string(),
        expected: "a count of zero or more",
    })
}

fn to_u64(value: i64, path: &str) -> Result<u64, ConverseError> {
    u64::try_from(value).map_err(|_| ConverseError::OutOfRange {
        path: path.to_owned(),
        value: value.to_string(),
        expected: "zero or more milliseconds",
    })
}

// ---------------------------------------------------------------------------------------------
// JSON ⇄ Document
// ---------------------------------------------------------------------------------------------

/// Converts JSON to a Smithy [`Document`]: integers stay integers (`PosInt` for zero and up,
/// `NegInt` below zero) and only numbers written with a fraction or exponent become `Float`.
pub fn json_to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Document::Number(Number::PosInt(u))
            } else if let Some(i) = n.as_i64() {
                Document::Number(Number::NegInt(i))
            } else if let Some(f) = n.as_f64() {
                Document::Number(Number::Float(f))
            } else {
                // Only reachable with serde_json's arbitrary precision: keep the digits.
                Document::String(n.to_string())
            }
        }
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(json_to_document).collect()),
        Value::Object(map) => Document::Object(
            map.iter().map(|(key, value)| (key.clone(), json_to_document(value))).collect(),
        ),
    }
}

/// Converts a Smithy [`Document`] to JSON, keeping integers and floats apart. Fails only on a
/// NaN or infinite float, naming its place (`$.a[2]`).
pub fn document_to_json(document: &Document) -> Result<Value, ConverseError> {
    document_to_json_at(document, "$")
}

fn document_to_json_at(document: &Document, path: &str) -> Result<Value, ConverseError> {
    /// A non-finite float and the path segments below `path` that lead to it (innermost first).
    struct NonFinite(Vec<String>, f64);

    fn convert(document: &Document) -> Result<Value, NonFinite> {
        Ok(match document {
            Document::Null => Value::Null,
            Document::Bool(b) => Value::Bool(*b),
            Document::String(s) => Value::String(s.clone()),
            Document::Number(Number::PosInt(u)) => Value::from(*u),
            Document::Number(Number::NegInt(i)) => Value::from(*i),
            Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or(NonFinite(Vec::new(), *f))?,
            Document::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        convert(item).map_err(|NonFinite(mut at, f)| {
                            at.push(format!("[{i}]"));
                            NonFinite(at, f)
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Document::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, value)| {
                        convert(value).map(|v| (key.clone(), v)).map_err(|NonFinite(mut at, f)| {
                            at.push(format!(".{key}"));
                            NonFinite(at, f)
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    convert(document).map_err(|NonFinite(at, value)| {
        let inner: String = at.into_iter().rev().collect();
        ConverseError::NonFiniteNumber { path: format!("{path}{inner}"), value }
    })
}

// ---------------------------------------------------------------------------------------------
// top_k
// ---------------------------------------------------------------------------------------------

/// Where a model reads `top_k` in Converse's `additionalModelRequestFields` (Converse's
/// `inferenceConfig` has no such field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopKField {
    /// `{"top_k": k}`: Anthropic Claude, Mistral and every model quarry has no rule for.
    TopK,
    /// `{"inferenceConfig": {"topK": k}}`: Amazon Nova.
    NovaInferenceConfig,
    /// `{"k": k}`: Cohere Command R / R+.
    CohereK,
}

impl TopKField {
    /// The field a family reads; `None` (a model quarry has no family for) uses `top_k`.
    pub fn for_family(family: Option<Family>) -> Self {
        match family {
            Some(Family::AmazonNova) => TopKField::NovaInferenceConfig,
            Some(Family::CohereCommand) => TopKField::CohereK,
            _ => TopKField::TopK,
        }
    }

    /// The `additionalModelRequestFields` object carrying `top_k`.
    pub fn fields(self, top_k: u32) -> Value {
        match self {
            TopKField::TopK => json!({ "top_k": top_k }),
            TopKField::NovaInferenceConfig => json!({ "inferenceConfig": { "topK": top_k } }),
            TopKField::CohereK => json!({ "k": top_k }),
        }
    }

    /// Takes `top_k` out of `fields`, leaving whatever else is there.
    fn take(self, fields: &mut Map<String, Value>) -> Result<Option<u32>, ConverseError> {
        let (value, path) = match self {
            TopKField::TopK => (fields.remove("top_k"), "additionalModelRequestFields.top_k"),
            TopKField::CohereK => (fields.remove("k"), "additionalModelRequestFields.k"),
            TopKField::NovaInferenceConfig => {
                let Some(Value::Object(config)) = fields.get_mut("inferenceConfig") else {
                    return Ok(None);
                };
                let value = config.remove("topK");
                if config.is_empty() {
                    fields.remove("inferenceConfig");
                }
                (value, "additionalModelRequestFields.inferenceConfig.topK")
            }
        };
        value
            .map(|v| {
                v.as_u64().and_then(|k| u32::try_from(k).ok()).ok_or_else(|| {
                    ConverseError::OutOfRange {
                        path: path.to_owned(),
                        value: v.to_string(),
                        expected: "a whole number from 0 to 4294967295",
                    }
                })
            })
            .transpose()
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// Every piece of a Converse / ConverseStream call that a [`ChatRequest`] decides (the model id
/// and call options are the caller's).
#[derive(Debug, Clone, PartialEq)]
pub struct ConverseParts {
    /// `messages`: the conversation, block for block.
    pub messages: Vec<sdk::Message>,
    /// Empty when the request has no system prompt (then no `system` is sent).
    pub system: Vec<sdk::SystemContentBlock>,
    /// `inferenceConfig`: max tokens, temperature, top p, stop sequences (`None` if none is set).
    pub inference_config: Option<sdk::InferenceConfiguration>,
    /// `toolConfig`: the tools and the tool choice (`None` if neither is set).
    pub tool_config: Option<sdk::ToolConfiguration>,
    /// `guardrailConfig`; ConverseStream gets it as a `GuardrailStreamConfiguration`.
    pub guardrail_config: Option<sdk::GuardrailConfiguration>,
    /// Carries `top_k` (see [`TopKField`]).
    pub additional_model_request_fields: Option<Document>,
}

impl ConverseParts {
    /// Maps `request` for a model of `family` (`None` for a model quarry has no family for; it
    /// only decides where `top_k` goes).
    pub fn from_request(
        request: &ChatRequest,
        family: Option<Family>,
    ) -> Result<Self, ConverseError> {
        let messages = request
            .messages
            .iter()
            .enumerate()
            .map(|(i, message)| message_to_sdk(message, &format!("messages[{i}]")))
            .collect::<Result<_, _>>()?;
        let system = request
            .system
            .iter()
            .enumerate()
            .map(|(i, block)| system_block_to_sdk(block, &format!("system[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(ConverseParts {
            messages,
            system,
            inference_config: inference_config_to_sdk(request)?,
            tool_config: tool_config_to_sdk(request)?,
            guardrail_config: request.guardrail.as_ref().map(guardrail_to_sdk),
            additional_model_request_fields: request
                .top_k
                .map(|k| json_to_document(&TopKField::for_family(family).fields(k))),
        })
    }

    /// Maps `request` for `base_model_id` (no inference-profile prefix), whose family decides
    /// where `top_k` goes.
    pub fn for_base_model(
        request: &ChatRequest,
        base_model_id: &str,
    ) -> Result<Self, ConverseError> {
        Self::from_request(request, Family::of_base_model(base_model_id))
    }

    /// The request these parts describe: the exact inverse of [`ConverseParts::from_request`].
    /// Anything quarry's request cannot hold is a [`ConverseError::Unsupported`].
    pub fn to_request(&self, family: Option<Family>) -> Result<ChatRequest, ConverseError> {
        let messages = self
            .messages
            .iter()
            .enumerate()
            .map(|(i, message)| message_from_sdk(message, &format!("messages[{i}]")))
            .collect::<Result<_, _>>()?;
        let system = self
            .system
            .iter()
            .enumerate()
            .map(|(i, block)| system_block_from_sdk(block, &format!("system[{i}]")))
            .collect::<Result<_, _>>()?;
        let mut request = ChatRequest { system, messages, ..ChatRequest::default() };
        if let Some(config) = &self.inference_config {
            request.max_tokens =
                config.max_tokens.map(|n| to_u32(n, "inferenceConfig.maxTokens")).transpose()?;
            request.temperature = config.temperature;
            request.top_p = config.top_p;
            request.stop_sequences = config.stop_sequences.clone().unwrap_or_default();
        }
        if let Some(config) = &self.tool_config {
            request.tools = config
                .tools
                .iter()
                .enumerate()
                .map(|(i, tool)| tool_from_sdk(tool, &format!("toolConfig.tools[{i}]")))
                .collect::<Result<_, _>>()?;
            request.tool_choice = config
                .tool_choice
                .as_ref()
                .map(|choice| tool_choice_from_sdk(choice, "toolConfig.toolChoice"))
                .transpose()?;
        }
        request.guardrail = self.guardrail_config.as_ref().map(guardrail_from_sdk).transpose()?;
        if let Some(fields) = &self.additional_model_request_fields {
            let fields = document_to_json_at(fields, "additionalModelRequestFields")?;
            let Value::Object(mut fields) = fields else {
                return Err(unsupported(
                    "additionalModelRequestFields",
                    "a value that is not an object",
                ));
            };
            request.top_k = TopKField::for_family(family).take(&mut fields)?;
            if let Some(key) = fields.keys().next() {
                return Err(unsupported(
                    &format!("additionalModelRequestFields.{key}"),
                    "a model-specific field other than top_k",
                ));
            }
        }
        Ok(request)
    }

    /// Puts these parts on a Converse call (set the model id on the builder yourself).
    pub fn apply_to_converse(self, builder: ConverseFluentBuilder) -> ConverseFluentBuilder {
        builder
            .set_messages(Some(self.messages))
            .set_system(non_empty(self.system))
            .set_inference_config(self.inference_config)
            .set_tool_config(self.tool_config)
            .set_guardrail_config(self.guardrail_config)
            .set_additional_model_request_fields(self.additional_model_request_fields)
    }

    /// Puts these parts on a ConverseStream call. The guardrail runs in Bedrock's default
    /// (`sync`) stream processing mode.
    pub fn apply_to_converse_stream(
        self,
        builder: ConverseStreamFluentBuilder,
    ) -> ConverseStreamFluentBuilder {
        builder
            .set_messages(Some(self.messages))
            .set_system(non_empty(self.system))
            .set_inference_config(self.inference_config)
            .set_tool_config(self.tool_config)
            .set_guardrail_config(self.guardrail_config.map(|g| {
                sdk::GuardrailStreamConfiguration::builder()
                    .guardrail_identifier(g.guardrail_identifier)
                    .guardrail_version(g.guardrail_version)
                    .trace(g.trace)
                    .build()
            }))
            .set_additional_model_request_fields(self.additional_model_request_fields)
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    if items.is_empty() { None } else { Some(items) }
}

impl From<Role> for sdk::ConversationRole {
    fn from(role: Role) -> Self {
        match role {
            Role::User => sdk::ConversationRole::User,
            Role::Assistant => sdk::ConversationRole::Assistant,
        }
    }
}

fn role_from_sdk(role: &sdk::ConversationRole, path: &str) -> Result<Role, ConverseError> {
    match role {
        sdk::ConversationRole::User => Ok(Role::User),
        sdk::ConversationRole::Assistant => Ok(Role::Assistant),
        other => Err(unsupported(path, format!("the role `{}`", other.as_str()))),
    }
}

impl From<ImageFormat> for sdk::ImageFormat {
    fn from(format: ImageFormat) -> Self {
        match format {
            ImageFormat::Png => sdk::ImageFormat::Png,
            ImageFormat::Jpeg => sdk::ImageFormat::Jpeg,
            ImageFormat::Gif => sdk::ImageFormat::Gif,
            ImageFormat::Webp => sdk::ImageFormat::Webp,
        }
    }
}

fn image_format_from_sdk(
    format: &sdk::ImageFormat,
    path: &str,
) -> Result<ImageFormat, ConverseError> {
    match format {
        sdk::ImageFormat::Png => Ok(ImageFormat::Png),
        sdk::ImageFormat::Jpeg => Ok(ImageFormat::Jpeg),
        sdk::ImageFormat::Gif => Ok(ImageFormat::Gif),
        sdk::ImageFormat::Webp => Ok(ImageFormat::Webp),
        other => Err(unsupported(path, format!("the image format `{}`", other.as_str()))),
    }
}

impl From<DocumentFormat> for sdk::DocumentFormat {
    fn from(format: DocumentFormat) -> Self {
        match format {
            DocumentFormat::Pdf => sdk::DocumentFormat::Pdf,
            DocumentFormat::Csv => sdk::DocumentFormat::Csv,
            DocumentFormat::Doc => sdk::DocumentFormat::Doc,
            DocumentFormat::Docx => sdk::DocumentFormat::Docx,
            DocumentFormat::Xls => sdk::DocumentFormat::Xls,
            DocumentFormat::Xlsx => sdk::DocumentFormat::Xlsx,
            DocumentFormat::Html => sdk::DocumentFormat::Html,
            DocumentFormat::Txt => sdk::DocumentFormat::Txt,
            DocumentFormat::Md => sdk::DocumentFormat::Md,
        }
    }
}

fn document_format_from_sdk(
    format: &sdk::DocumentFormat,
    path: &str,
) -> Result<DocumentFormat, ConverseError> {
    match format {
        sdk::DocumentFormat::Pdf => Ok(DocumentFormat::Pdf),
        sdk::DocumentFormat::Csv => Ok(DocumentFormat::Csv),
        sdk::DocumentFormat::Doc => Ok(DocumentFormat::Doc),
        sdk::DocumentFormat::Docx => Ok(DocumentFormat::Docx),
        sdk::DocumentFormat::Xls => Ok(DocumentFormat::Xls),
        sdk::DocumentFormat::Xlsx => Ok(DocumentFormat::Xlsx),
        sdk::DocumentFormat::Html => Ok(DocumentFormat::Html),
        sdk::DocumentFormat::Txt => Ok(DocumentFormat::Txt),
        sdk::DocumentFormat::Md => Ok(DocumentFormat::Md),
        other => Err(unsupported(path, format!("the document format `{}`", other.as_str()))),
    }
}

fn cache_point(path: &str) -> Result<sdk::CachePointBlock, ConverseError> {
    built(sdk::CachePointBlock::builder().r#type(sdk::CachePointType::Default).build(), || {
        path.to_owned()
    })
}

fn cache_point_from_sdk(block: &sdk::CachePointBlock, path: &str) -> Result<(), ConverseError> {
    if block.ttl.is_some() {
        return Err(unsupported(path, "a cache point with a TTL"));
    }
    match block.r#type() {
        sdk::CachePointType::Default => Ok(()),
        other => Err(unsupported(path, format!("the cache point type `{}`", other.as_str()))),
    }
}

fn image_to_sdk(
    format: ImageFormat,
    data: &Base64Bytes,
    path: &str,
) -> Result<sdk::ImageBlock, ConverseError> {
    built(
        sdk::ImageBlock::builder()
            .format(format.into())
            .source(sdk::ImageSource::Bytes(Blob::new(data.0.clone())))
            .build(),
        || path.to_owned(),
    )
}

fn image_from_sdk(
    image: &sdk::ImageBlock,
    path: &str,
) -> Result<(ImageFormat, Base64Bytes), ConverseError> {
    if image.error.is_some() {
        return Err(unsupported(path, "an image that failed to generate"));
    }
    let format = image_format_from_sdk(&image.format, &format!("{path}.format"))?;
    match &image.source {
        Some(sdk::ImageSource::Bytes(blob)) => Ok((format, Base64Bytes(blob.clone().into_inner()))),
        Some(_) => Err(unsupported(&format!("{path}.source"), "an image source other than bytes")),
        None => Err(ConverseError::Missing { path: format!("{path}.source") }),
    }
}

fn message_to_sdk(message: &Message, path: &str) -> Result<sdk::Message, ConverseError> {
    let content = message
        .content
        .iter()
        .enumerate()
        .map(|(j, block)| block_to_sdk(block, &format!("{path}.content[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;
    built(
        sdk::Message::builder().role(message.role.into()).set_content(Some(content)).build(),
        || path.to_owned(),
    )
}

fn block_to_sdk(block: &ContentBlock, path: &str) -> Result<sdk::ContentBlock, ConverseError> {
    let at = || path.to_owned();
    Ok(match block {
        ContentBlock::Text { text } => sdk::ContentBlock::Text(text.clone()),
        ContentBlock::Image { format, data } => {
            sdk::ContentBlock::Image(image_to_sdk(*format, data, path)?)
        }
        ContentBlock::Document { format, name, data } => sdk::ContentBlock::Document(built(
            sdk::DocumentBlock::builder()
                .format((*format).into())
                .name(name)
                .source(sdk::DocumentSource::Bytes(Blob::new(data.0.clone())))
                .build(),
            at,
        )?),
        ContentBlock::ToolUse { id, name, input } => sdk::ContentBlock::ToolUse(built(
            sdk::ToolUseBlock::builder()
                .tool_use_id(id)
                .name(name)
                .input(json_to_document(input))
                .build(),
            at,
        )?),
        ContentBlock::ToolResult { tool_use_id, content, status } => {
            let content = content
                .iter()
                .enumerate()
                .map(|(k, item)| tool_result_item_to_sdk(item, &format!("{path}.content[{k}]")))
                .collect::<Result<Vec<_>, _>>()?;
            sdk::ContentBlock::ToolResult(built(
                sdk::ToolResultBlock::builder()
                    .tool_use_id(tool_use_id)
                    .set_content(Some(content))
                    .set_status(status.map(|s| match s {
                        ToolResultStatus::Success => sdk::ToolResultStatus::Success,
                        ToolResultStatus::Error => sdk::ToolResultStatus::Error,
                    }))
                    .build(),
                at,
            )?)
        }
        ContentBlock::Reasoning { text, signature } => {
            sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::ReasoningText(built(
                sdk::ReasoningTextBlock::builder()
                    .text(text)
                    .set_signature(signature.clone())
                    .build(),
                at,
            )?))
        }
        ContentBlock::RedactedReasoning { data } => {
            sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::RedactedContent(
                redacted_to_sdk(data, &format!("{path}.data"))?,
            ))
        }
        ContentBlock::CachePoint => sdk::ContentBlock::CachePoint(cache_point(path)?),
    })
}

fn tool_result_item_to_sdk(
    item: &ToolResultContent,
    path: &str,
) -> Result<sdk::ToolResultContentBlock, ConverseError> {
    Ok(match item {
        ToolResultContent::Text { text } => sdk::ToolResultContentBlock::Text(text.clone()),
        ToolResultContent::Json { json } => {
            sdk::ToolResultContentBlock::Json(json_to_document(json))
        }
        ToolResultContent::Image { format, data } => {
            sdk::ToolResultContentBlock::Image(image_to_sdk(*format, data, path)?)
        }
    })
}

fn system_block_to_sdk(
    block: &SystemBlock,
    path: &str,
) -> Result<sdk::SystemContentBlock, ConverseError> {
    Ok(match block {
        SystemBlock::Text { text } => sdk::SystemContentBlock::Text(text.clone()),
        SystemBlock::CachePoint => sdk::SystemContentBlock::CachePoint(cache_point(path)?),
    })
}

fn inference_config_to_sdk(
    request: &ChatRequest,
) -> Result<Option<sdk::InferenceConfiguration>, ConverseError> {
    if request.max_tokens.is_none()
        && request.temperature.is_none()
        && request.top_p.is_none()
        && request.stop_sequences.is_empty()
    {
        return Ok(None);
    }
    Ok(Some(
        sdk::InferenceConfiguration::builder()
            .set_max_tokens(request.max_tokens.map(|n| to_i32(n, "max_tokens")).transpose()?)
            .set_temperature(request.temperature)
            .set_top_p(request.top_p)
            .set_stop_sequences(non_empty(request.stop_sequences.clone()))
            .build(),
    ))
}

fn tool_config_to_sdk(
    request: &ChatRequest,
) -> Result<Option<sdk::ToolConfiguration>, ConverseError> {
    if request.tools.is_empty() && request.tool_choice.is_none() {
        return Ok(None);
    }
    let tools = request
        .tools
        .iter()
        .enumerate()
        .map(|(i, tool)| {
            let spec = sdk::ToolSpecification::builder()
                .name(&tool.name)
                .set_description(tool.description.clone())
                .input_schema(sdk::ToolInputSchema::Json(json_to_document(&tool.input_schema)))
                .build();
            built(spec, || format!("tools[{i}]")).map(sdk::Tool::ToolSpec)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tool_choice = match &request.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => {
            Some(sdk::ToolChoice::Auto(sdk::AutoToolChoice::builder().build()))
        }
        Some(ToolChoice::Any) => Some(sdk::ToolChoice::Any(sdk::AnyToolChoice::builder().build())),
        Some(ToolChoice::Tool { name }) => Some(sdk::ToolChoice::Tool(built(
            sdk::SpecificToolChoice::builder().name(name).build(),
            || "tool_choice".to_owned(),
        )?)),
    };
    built(
        sdk::ToolConfiguration::builder()
            .set_tools(Some(tools))
            .set_tool_choice(tool_choice)
            .build(),
        || "tools".to_owned(),
    )
    .map(Some)
}

fn guardrail_to_sdk(guardrail: &GuardrailConfig) -> sdk::GuardrailConfiguration {
    sdk::GuardrailConfiguration::builder()
        .guardrail_identifier(&guardrail.identifier)
        .guardrail_version(&guardrail.version)
        .trace(if guardrail.trace {
            sdk::GuardrailTrace::Enabled
        } else {
            sdk::GuardrailTrace::Disabled
        })
        .build()
}

fn guardrail_from_sdk(
    config: &sdk::GuardrailConfiguration,
) -> Result<GuardrailConfig, ConverseError> {
    let trace = match &config.trace {
        sdk::GuardrailTrace::Enabled => true,
        sdk::GuardrailTrace::Disabled => false,
        other => {
            return Err(unsupported(
                "guardrailConfig.trace",
                format!("the trace setting `{}`", other.as_str()),
            ));
        }
    };
    Ok(GuardrailConfig {
        identifier: config.guardrail_identifier.clone(),
        version: config.guardrail_version.clone(),
        trace,
    })
}

fn tool_from_sdk(tool: &sdk::Tool, path: &str) -> Result<ToolSpec, ConverseError> {
    let sdk::Tool::ToolSpec(spec) = tool else {
        return Err(unsupported(
            path,
            "a tool other than a toolSpec (a cache point or system tool)",
        ));
    };
    if spec.strict.is_some() {
        return Err(unsupported(&format!("{path}.toolSpec.strict"), "strict tool schemas"));
    }
    let schema_path = format!("{path}.toolSpec.inputSchema");
    let input_schema = match &spec.input_schema {
        Some(sdk::ToolInputSchema::Json(schema)) => {
            document_to_json_at(schema, &format!("{schema_path}.json"))?
        }
        Some(_) => return Err(unsupported(&schema_path, "an input schema that is not JSON")),
        None => return Err(ConverseError::Missing { path: schema_path }),
    };
    Ok(ToolSpec { name: spec.name.clone(), description: spec.description.clone(), input_schema })
}

fn tool_choice_from_sdk(choice: &sdk::ToolChoice, path: &str) -> Result<ToolChoice, ConverseError> {
    match choice {
        sdk::ToolChoice::Auto(_) => Ok(ToolChoice::Auto),
        sdk::ToolChoice::Any(_) => Ok(ToolChoice::Any),
        sdk::ToolChoice::Tool(tool) => Ok(ToolChoice::Tool { name: tool.name.clone() }),
        _ => Err(unsupported(path, "an unknown tool choice")),
    }
}

fn message_from_sdk(message: &sdk::Message, path: &str) -> Result<Message, ConverseError> {
    let role = role_from_sdk(&message.role, &format!("{path}.role"))?;
    let content = message
        .content
        .iter()
        .enumerate()
        .map(|(j, block)| block_from_sdk(block, &format!("{path}.content[{j}]")))
        .collect::<Result<_, _>>()?;
    Ok(Message { role, content })
}

/// What an SDK content block is, for error messages.
fn sdk_block_kind(block: &sdk::ContentBlock) -> &'static str {
    match block {
        sdk::ContentBlock::Audio(_) => "an audio block",
        sdk::ContentBlock::CitationsContent(_) => "a citations block",
        sdk::ContentBlock::GuardContent(_) => "a guardContent block",
        sdk::ContentBlock::SearchResult(_) => "a search result block",
        sdk::ContentBlock::ToolAddition(_) => "a tool addition block",
        sdk::ContentBlock::ToolRemoval(_) => "a tool removal block",
        sdk::ContentBlock::Video(_) => "a video block",
        sdk::ContentBlock::ReasoningContent(_) => {
            "a reasoning block of a kind this SDK version does not know"
        }
        _ => "a block of a kind this SDK version does not know",
    }
}

fn block_from_sdk(block: &sdk::ContentBlock, path: &str) -> Result<ContentBlock, ConverseError> {
    match block {
        sdk::ContentBlock::Text(text) => Ok(ContentBlock::Text { text: text.clone() }),
        sdk::ContentBlock::Image(image) => {
            let (format, data) = image_from_sdk(image, &format!("{path}.image"))?;
            Ok(ContentBlock::Image { format, data })
        }
        sdk::ContentBlock::Document(document) => {
            let at = format!("{path}.document");
            if document.context.is_some() || document.citations.is_some() {
                return Err(unsupported(&at, "a document with citation settings"));
            }
            let format = document_format_from_sdk(&document.format, &format!("{at}.format"))?;
            match &document.source {
                Some(sdk::DocumentSource::Bytes(blob)) => Ok(ContentBlock::Document {
                    format,
                    name: document.name.clone(),
                    data: Base64Bytes(blob.clone().into_inner()),
                }),
                Some(_) => {
                    Err(unsupported(&format!("{at}.source"), "a document source other than bytes"))
                }
                None => Err(ConverseError::Missing { path: format!("{at}.source") }),
            }
        }
        sdk::ContentBlock::ToolUse(tool_use) => {
            if tool_use.r#type.is_some() {
                return Err(unsupported(&format!("{path}.toolUse.type"), "a server-side tool use"));
            }
            Ok(ContentBlock::ToolUse {
                id: tool_use.tool_use_id.clone(),
                name: tool_use.name.clone(),
                input: document_to_json_at(&tool_use.input, &format!("{path}.toolUse.input"))?,
            })
        }
        sdk::ContentBlock::ToolResult(result) => {
            let at = format!("{path}.toolResult");
            if result.r#type.is_some() {
                return Err(unsupported(&format!("{at}.type"), "a server-side tool result"));
            }
            let content = result
                .content
                .iter()
                .enumerate()
                .map(|(k, item)| tool_result_item_from_sdk(item, &format!("{at}.content[{k}]")))
                .collect::<Result<_, _>>()?;
            let status = match &result.status {
                None => None,
                Some(sdk::ToolResultStatus::Success) => Some(ToolResultStatus::Success),
                Some(sdk::ToolResultStatus::Error) => Some(ToolResultStatus::Error),
                Some(other) => {
                    return Err(unsupported(
                        &format!("{at}.status"),
                        format!("the tool result status `{}`", other.as_str()),
                    ));
                }
            };
            Ok(ContentBlock::ToolResult {
                tool_use_id: result.tool_use_id.clone(),
                content,
                status,
            })
        }
        sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::ReasoningText(
            reasoning,
        )) => Ok(ContentBlock::Reasoning {
            text: reasoning.text.clone(),
            signature: reasoning.signature.clone(),
        }),
        sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::RedactedContent(blob)) => {
            Ok(ContentBlock::RedactedReasoning { data: redacted_from_sdk(blob) })
        }
        sdk::ContentBlock::CachePoint(point) => {
            cache_point_from_sdk(point, &format!("{path}.cachePoint"))?;
            Ok(ContentBlock::CachePoint)
        }
        other => Err(unsupported(path, sdk_block_kind(other))),
    }
}

fn tool_result_item_from_sdk(
    item: &sdk::ToolResultContentBlock,
    path: &str,
) -> Result<ToolResultContent, ConverseError> {
    match item {
        sdk::ToolResultContentBlock::Text(text) => {
            Ok(ToolResultContent::Text { text: text.clone() })
        }
        sdk::ToolResultContentBlock::Json(json) => Ok(ToolResultContent::Json {
            json: document_to_json_at(json, &format!("{path}.json"))?,
        }),
        sdk::ToolResultContentBlock::Image(image) => {
            let (format, data) = image_from_sdk(image, &format!("{path}.image"))?;
            Ok(ToolResultContent::Image { format, data })
        }
        sdk::ToolResultContentBlock::Document(_) => {
            Err(unsupported(path, "a document in a tool result"))
        }
        sdk::ToolResultContentBlock::Video(_) => Err(unsupported(path, "a video in a tool result")),
        sdk::ToolResultContentBlock::SearchResult(_) => {
            Err(unsupported(path, "a search result in a tool result"))
        }
        _ => Err(unsupported(path, "a tool result part of a kind this SDK version does not know")),
    }
}

fn system_block_from_sdk(
    block: &sdk::SystemContentBlock,
    path: &str,
) -> Result<SystemBlock, ConverseError> {
    match block {
        sdk::SystemContentBlock::Text(text) => Ok(SystemBlock::Text { text: text.clone() }),
        sdk::SystemContentBlock::CachePoint(point) => {
            cache_point_from_sdk(point, &format!("{path}.cachePoint"))?;
            Ok(SystemBlock::CachePoint)
        }
        sdk::SystemContentBlock::GuardContent(_) => Err(unsupported(path, "a guardContent block")),
        _ => Err(unsupported(path, "a system block of a kind this SDK version does not know")),
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

impl From<&sdk::StopReason> for StopReason {
    fn from(reason: &sdk::StopReason) -> Self {
        match reason {
            sdk::StopReason::EndTurn => StopReason::EndTurn,
            sdk::StopReason::ToolUse => StopReason::ToolUse,
            sdk::StopReason::MaxTokens => StopReason::MaxTokens,
            sdk::StopReason::StopSequence => StopReason::StopSequence,
            sdk::StopReason::GuardrailIntervened => StopReason::GuardrailIntervened,
            sdk::StopReason::ContentFiltered => StopReason::ContentFiltered,
            sdk::StopReason::ModelContextWindowExceeded => StopReason::ModelContextWindowExceeded,
            sdk::StopReason::MalformedModelOutput => StopReason::MalformedModelOutput,
            sdk::StopReason::MalformedToolUse => StopReason::MalformedToolUse,
            _ => StopReason::Unknown,
        }
    }
}

impl From<StopReason> for sdk::StopReason {
    /// [`StopReason::Unknown`] becomes the SDK's unknown value `"unknown"`.
    fn from(reason: StopReason) -> Self {
        match reason {
            StopReason::EndTurn => sdk::StopReason::EndTurn,
            StopReason::ToolUse => sdk::StopReason::ToolUse,
            StopReason::MaxTokens => sdk::StopReason::MaxTokens,
            StopReason::StopSequence => sdk::StopReason::StopSequence,
            StopReason::GuardrailIntervened => sdk::StopReason::GuardrailIntervened,
            StopReason::ContentFiltered => sdk::StopReason::ContentFiltered,
            StopReason::ModelContextWindowExceeded => sdk::StopReason::ModelContextWindowExceeded,
            StopReason::MalformedModelOutput => sdk::StopReason::MalformedModelOutput,
            StopReason::MalformedToolUse => sdk::StopReason::MalformedToolUse,
            StopReason::Unknown => sdk::StopReason::from("unknown"),
        }
    }
}

fn usage_from_sdk(usage: &sdk::TokenUsage, path: &str) -> Result<Usage, ConverseError> {
    let count = |value: i32, field: &str| to_u32(value, &format!("{path}.{field}"));
    Ok(Usage {
        input_tokens: count(usage.input_tokens, "inputTokens")?,
        output_tokens: count(usage.output_tokens, "outputTokens")?,
        total_tokens: count(usage.total_tokens, "totalTokens")?,
        cache_read_input_tokens: usage
            .cache_read_input_tokens
            .map(|n| count(n, "cacheReadInputTokens"))
            .transpose()?,
        cache_write_input_tokens: usage
            .cache_write_input_tokens
            .map(|n| count(n, "cacheWriteInputTokens"))
            .transpose()?,
    })
}

fn usage_to_sdk(usage: &Usage) -> Result<sdk::TokenUsage, ConverseError> {
    built(
        sdk::TokenUsage::builder()
            .input_tokens(to_i32(usage.input_tokens, "usage.input_tokens")?)
            .output_tokens(to_i32(usage.output_tokens, "usage.output_tokens")?)
            .total_tokens(to_i32(usage.total_tokens, "usage.total_tokens")?)
            .set_cache_read_input_tokens(
                usage
                    .cache_read_input_tokens
                    .map(|n| to_i32(n, "usage.cache_read_input_tokens"))
                    .transpose()?,
            )
            .set_cache_write_input_tokens(
                usage
                    .cache_write_input_tokens
                    .map(|n| to_i32(n, "usage.cache_write_input_tokens"))
                    .transpose()?,
            )
            .build(),
        || "usage".to_owned(),
    )
}

fn latency_to_sdk(latency_ms: u64) -> Result<i64, ConverseError> {
    i64::try_from(latency_ms).map_err(|_| ConverseError::OutOfRange {
        path: "latency_ms".to_owned(),
        value: latency_ms.to_string(),
        expected: "at most 9223372036854775807",
    })
}

/// The blocks of an answer that quarry can hold; the rest are skipped (see the module docs).
fn answer_blocks(
    blocks: &[sdk::ContentBlock],
    path: &str,
) -> Result<Vec<ContentBlock>, ConverseError> {
    let mut content = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        match block_from_sdk(block, &format!("{path}[{i}]")) {
            Ok(block) => content.push(block),
            Err(ConverseError::Unsupported { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(content)
}

/// Maps a Converse answer. Blocks quarry cannot hold are skipped; missing usage is zero.
pub fn response_from_converse(
    response: &SdkConverseResponse,
) -> Result<ChatResponse, ConverseError> {
    let message = match &response.output {
        Some(sdk::ConverseOutput::Message(message)) => message,
        Some(_) => return Err(unsupported("output", "an output that is not a message")),
        None => return Err(ConverseError::Missing { path: "output".to_owned() }),
    };
    let stop_reason = StopReason::from(&response.stop_reason);
    Ok(ChatResponse {
        content: answer_blocks(&message.content, "output.message.content")?,
        stop_reason,
        usage: response
            .usage
            .as_ref()
            .map(|usage| usage_from_sdk(usage, "usage"))
            .transpose()?
            .unwrap_or_default(),
        latency_ms: response
            .metrics
            .as_ref()
            .map(|m| to_u64(m.latency_ms, "metrics.latencyMs"))
            .transpose()?,
        guardrail: guardrail_outcome(
            stop_reason,
            response.trace.as_ref().and_then(|t| t.guardrail.as_ref()),
        ),
    })
}

/// The SDK's Converse output for `response` (for `aws-smithy-mocks` and tests). The guardrail
/// survives only as the stop reason: a trace does not map back.
pub fn response_to_converse(response: &ChatResponse) -> Result<SdkConverseResponse, ConverseError> {
    let content = response
        .content
        .iter()
        .enumerate()
        .map(|(i, block)| block_to_sdk(block, &format!("content[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let message = built(
        sdk::Message::builder()
            .role(sdk::ConversationRole::Assistant)
            .set_content(Some(content))
            .build(),
        || "content".to_owned(),
    )?;
    let metrics = response
        .latency_ms
        .map(|ms| {
            let metrics = sdk::ConverseMetrics::builder().latency_ms(latency_to_sdk(ms)?).build();
            built(metrics, || "latency_ms".to_owned())
        })
        .transpose()?;
    built(
        SdkConverseResponse::builder()
            .output(sdk::ConverseOutput::Message(message))
            .stop_reason(response.stop_reason.into())
            .usage(usage_to_sdk(&response.usage)?)
            .set_metrics(metrics)
            .build(),
        || "response".to_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// Guardrail trace
// ---------------------------------------------------------------------------------------------

/// The guardrail outcome of an answer: present when the guardrail stopped it or sent a trace.
fn guardrail_outcome(
    stop_reason: StopReason,
    trace: Option<&sdk::GuardrailTraceAssessment>,
) -> Option<GuardrailOutcome> {
    let stopped = stop_reason == StopReason::GuardrailIntervened;
    match trace {
        Some(trace) => Some(GuardrailOutcome {
            intervened: stopped || trace_intervened(trace),
            trace: Some(guardrail_trace_to_json(trace)),
        }),
        None if stopped => Some(GuardrailOutcome { intervened: true, trace: None }),
        None => None,
    }
}

/// Every assessment of a trace, input and output.
fn assessments(
    trace: &sdk::GuardrailTraceAssessment,
) -> impl Iterator<Item = &sdk::GuardrailAssessment> {
    let input = trace.input_assessment.iter().flat_map(|by_id| by_id.values());
    let output = trace.output_assessments.iter().flat_map(|by_id| by_id.values().flatten());
    input.chain(output)
}

/// True when any policy of the trace took an action other than `NONE` (blocked or masked).
fn trace_intervened(trace: &sdk::GuardrailTraceAssessment) -> bool {
    let acted = |action: &str| action != "NONE";
    assessments(trace).any(|a| {
        a.topic_policy.iter().flat_map(|p| &p.topics).any(|t| acted(t.action.as_str()))
            || a.content_policy.iter().flat_map(|p| &p.filters).any(|f| acted(f.action.as_str()))
            || a.word_policy.iter().any(|p| {
                p.custom_words.iter().any(|w| acted(w.action.as_str()))
                    || p.managed_word_lists.iter().any(|w| acted(w.action.as_str()))
            })
            || a.sensitive_information_policy.iter().any(|p| {
                p.pii_entities.iter().any(|e| acted(e.action.as_str()))
                    || p.regexes.iter().any(|r| acted(r.action.as_str()))
            })
            || a.contextual_grounding_policy
                .iter()
                .flat_map(|p| p.filters.iter().flatten())
                .any(|f| acted(f.action.as_str()))
    })
}

/// A JSON object of the fields that are present.
fn object<const N: usize>(fields: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        fields.into_iter().filter_map(|(key, value)| value.map(|v| (key.to_owned(), v))).collect(),
    )
}

fn list<T>(items: &[T], item: impl Fn(&T) -> Value) -> Value {
    Value::Array(items.iter().map(item).collect())
}

/// A guardrail trace in the Converse wire shape (`trace.guardrail`): model output, input and
/// output assessments per guardrail (topic, content, word, sensitive-information and contextual
/// grounding policies, invocation metrics, applied-guardrail details) and the action reason.
/// Automated-reasoning findings are not included.
pub fn guardrail_trace_to_json(trace: &sdk::GuardrailTraceAssessment) -> Value {
    object([
        ("modelOutput", trace.model_output.as_ref().map(|lines| json!(lines))),
        (
            "inputAssessment",
            trace.input_assessment.as_ref().map(|by_id| {
                Value::Object(
                    by_id.iter().map(|(id, a)| (id.clone(), assessment_to_json(a))).collect(),
                )
            }),
        ),
        (
            "outputAssessments",
            trace.output_assessments.as_ref().map(|by_id| {
                Value::Object(
                    by_id
                        .iter()
                        .map(|(id, found)| (id.clone(), list(found, assessment_to_json)))
                        .collect(),
                )
            }),
        ),
        ("actionReason", trace.action_reason.as_ref().map(|r| json!(r))),
    ])
}

fn assessment_to_json(a: &sdk::GuardrailAssessment) -> Value {
    object([
        (
            "topicPolicy",
            a.topic_policy.as_ref().map(|p| {
                json!({ "topics": list(&p.topics, |t| object([
                    ("name", Some(json!(t.name))),
                    ("type", Some(json!(t.r#type.as_str()))),
                    ("action", Some(json!(t.action.as_str()))),
                    ("detected", t.detected.map(Value::Bool)),
                ])) })
            }),
        ),
        (
            "contentPolicy",
            a.content_policy.as_ref().map(|p| {
                json!({ "filters": list(&p.filters, |f| object([
                    ("type", Some(json!(f.r#type.as_str()))),
                    ("confidence", Some(json!(f.confidence.as_str()))),
                    ("filterStrength", f.filter_strength.as_ref().map(|s| json!(s.as_str()))),
                    ("action", Some(json!(f.action.as_str()))),
                    ("detected", f.detected.map(Value::Bool)),
                ])) })
            }),
        ),
        (
            "wordPolicy",
            a.word_policy.as_ref().map(|p| {
                json!({
                    "customWords": list(&p.custom_words, |w| object([
                        ("match", Some(json!(w.r#match))),
                        ("action", Some(json!(w.action.as_str()))),
                        ("detected", w.detected.map(Value::Bool)),
                    ])),
                    "managedWordLists": list(&p.managed_word_lists, |w| object([
                        ("match", Some(json!(w.r#match))),
                        ("type", Some(json!(w.r#type.as_str()))),
                        ("action", Some(json!(w.action.as_str()))),
                        ("detected", w.detected.map(Value::Bool)),
                    ])),
                })
            }),
        ),
        (
            "sensitiveInformationPolicy",
            a.sensitive_information_policy.as_ref().map(|p| {
                json!({
                    "piiEntities": list(&p.pii_entities, |e| object([
                        ("match", Some(json!(e.r#match))),
                        ("type", Some(json!(e.r#type.as_str()))),
                        ("action", Some(json!(e.action.as_str()))),
                        ("detected", e.detected.map(Value::Bool)),
                    ])),
                    "regexes": list(&p.regexes, |r| object([
                        ("name", r.name.as_ref().map(|n| json!(n))),
                        ("match", r.r#match.as_ref().map(|m| json!(m))),
                        ("regex", r.regex.as_ref().map(|x| json!(x))),
                        ("action", Some(json!(r.action.as_str()))),
                        ("detected", r.detected.map(Value::Bool)),
                    ])),
                })
            }),
        ),
        (
            "contextualGroundingPolicy",
            a.contextual_grounding_policy.as_ref().map(|p| {
                object([(
                    "filters",
                    p.filters.as_ref().map(|filters| {
                        list(filters, |f| {
                            object([
                                ("type", Some(json!(f.r#type.as_str()))),
                                ("threshold", Some(json!(f.threshold))),
                                ("score", Some(json!(f.score))),
                                ("action", Some(json!(f.action.as_str()))),
                                ("detected", f.detected.map(Value::Bool)),
                            ])
                        })
                    }),
                )])
            }),
        ),
        ("invocationMetrics", a.invocation_metrics.as_ref().map(invocation_metrics_to_json)),
        (
            "appliedGuardrailDetails",
            a.applied_guardrail_details.as_ref().map(|d| {
                object([
                    ("guardrailId", d.guardrail_id.as_ref().map(|v| json!(v))),
                    ("guardrailVersion", d.guardrail_version.as_ref().map(|v| json!(v))),
                    ("guardrailArn", d.guardrail_arn.as_ref().map(|v| json!(v))),
                    (
                        "guardrailOrigin",
                        d.guardrail_origin.as_ref().map(|o| list(o, |x| json!(x.as_str()))),
                    ),
                    (
                        "guardrailOwnership",
                        d.guardrail_ownership.as_ref().map(|o| json!(o.as_str())),
                    ),
                ])
            }),
        ),
    ])
}

fn invocation_metrics_to_json(m: &sdk::GuardrailInvocationMetrics) -> Value {
    let coverage = |guarded: Option<i32>, total: Option<i32>| {
        object([("guarded", guarded.map(|g| json!(g))), ("total", total.map(|t| json!(t)))])
    };
    object([
        ("guardrailProcessingLatency", m.guardrail_processing_latency.map(|l| json!(l))),
        (
            "usage",
            m.usage.as_ref().map(|u| {
                object([
                    ("topicPolicyUnits", Some(json!(u.topic_policy_units))),
                    ("contentPolicyUnits", Some(json!(u.content_policy_units))),
                    ("wordPolicyUnits", Some(json!(u.word_policy_units))),
                    (
                        "sensitiveInformationPolicyUnits",
                        Some(json!(u.sensitive_information_policy_units)),
                    ),
                    (
                        "sensitiveInformationPolicyFreeUnits",
                        Some(json!(u.sensitive_information_policy_free_units)),
                    ),
                    (
                        "contextualGroundingPolicyUnits",
                        Some(json!(u.contextual_grounding_policy_units)),
                    ),
                    ("contentPolicyImageUnits", u.content_policy_image_units.map(|n| json!(n))),
                    (
                        "automatedReasoningPolicyUnits",
                        u.automated_reasoning_policy_units.map(|n| json!(n)),
                    ),
                    (
                        "automatedReasoningPolicies",
                        u.automated_reasoning_policies.map(|n| json!(n)),
                    ),
                ])
            }),
        ),
        (
            "guardrailCoverage",
            m.guardrail_coverage.as_ref().map(|c| {
                object([
                    (
                        "textCharacters",
                        c.text_characters.as_ref().map(|t| coverage(t.guarded, t.total)),
                    ),
                    ("images", c.images.as_ref().map(|i| coverage(i.guarded, i.total))),
                ])
            }),
        ),
    ])
}

// ---------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------

/// Turns the events of one ConverseStream answer into [`StreamEvent`]s, and keeps what a
/// `StreamEvent` cannot carry: the guardrail outcome (read it with
/// [`ConverseStreamDecoder::guardrail`] once the stream ends and put it on the folded response).
#[derive(Debug, Default)]
pub struct ConverseStreamDecoder {
    stopped_by_guardrail: bool,
    trace: Option<sdk::GuardrailTraceAssessment>,
}

impl ConverseStreamDecoder {
    /// A decoder for one stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps one event. Events and blocks quarry has no counterpart for (image and tool-result
    /// starts, citation deltas, unknown event types) yield `None`.
    pub fn decode(
        &mut self,
        event: &sdk::ConverseStreamOutput,
    ) -> Result<Option<StreamEvent>, ConverseError> {
        Ok(match event {
            sdk::ConverseStreamOutput::MessageStart(start) => match &start.role {
                sdk::ConversationRole::User => Some(StreamEvent::MessageStart { role: Role::User }),
                sdk::ConversationRole::Assistant => {
                    Some(StreamEvent::MessageStart { role: Role::Assistant })
                }
                _ => None,
            },
            sdk::ConverseStreamOutput::ContentBlockStart(start) => match &start.start {
                Some(sdk::ContentBlockStart::ToolUse(tool)) => {
                    Some(StreamEvent::ContentBlockStart {
                        index: to_u32(
                            start.content_block_index,
                            "contentBlockStart.contentBlockIndex",
                        )?,
                        start: BlockStart::ToolUse {
                            id: tool.tool_use_id.clone(),
                            name: tool.name.clone(),
                        },
                    })
                }
                _ => None,
            },
            sdk::ConverseStreamOutput::ContentBlockDelta(event) => {
                let delta = match &event.delta {
                    Some(sdk::ContentBlockDelta::Text(text)) => Delta::Text { text: text.clone() },
                    Some(sdk::ContentBlockDelta::ToolUse(tool)) => {
                        Delta::ToolInput { json: tool.input.clone() }
                    }
                    Some(sdk::ContentBlockDelta::ReasoningContent(
                        sdk::ReasoningContentBlockDelta::Text(text),
                    )) => Delta::Reasoning { text: text.clone() },
                    Some(sdk::ContentBlockDelta::ReasoningContent(
                        sdk::ReasoningContentBlockDelta::Signature(signature),
                    )) => Delta::ReasoningSignature { signature: signature.clone() },
                    Some(sdk::ContentBlockDelta::ReasoningContent(
                        sdk::ReasoningContentBlockDelta::RedactedContent(blob),
                    )) => Delta::RedactedReasoning { data: redacted_from_sdk(blob) },
                    _ => return Ok(None),
                };
                Some(StreamEvent::ContentBlockDelta {
                    index: to_u32(
                        event.content_block_index,
                        "contentBlockDelta.contentBlockIndex",
                    )?,
                    delta,
                })
            }
            sdk::ConverseStreamOutput::ContentBlockStop(stop) => {
                Some(StreamEvent::ContentBlockStop {
                    index: to_u32(stop.content_block_index, "contentBlockStop.contentBlockIndex")?,
                })
            }
            sdk::ConverseStreamOutput::MessageStop(stop) => {
                let stop_reason = StopReason::from(&stop.stop_reason);
                self.stopped_by_guardrail |= stop_reason == StopReason::GuardrailIntervened;
                Some(StreamEvent::MessageStop { stop_reason })
            }
            sdk::ConverseStreamOutput::Metadata(metadata) => {
                if let Some(trace) = metadata.trace.as_ref().and_then(|t| t.guardrail.as_ref()) {
                    self.trace = Some(trace.clone());
                }
                Some(StreamEvent::Metadata {
                    usage: metadata
                        .usage
                        .as_ref()
                        .map(|usage| usage_from_sdk(usage, "metadata.usage"))
                        .transpose()?
                        .unwrap_or_default(),
                    latency_ms: metadata
                        .metrics
                        .as_ref()
                        .map(|m| to_u64(m.latency_ms, "metadata.metrics.latencyMs"))
                        .transpose()?,
                })
            }
            _ => None,
        })
    }

    /// The guardrail outcome of the stream so far, as [`response_from_converse`] reports it.
    pub fn guardrail(&self) -> Option<GuardrailOutcome> {
        let stop_reason = if self.stopped_by_guardrail {
            StopReason::GuardrailIntervened
        } else {
            StopReason::EndTurn
        };
        guardrail_outcome(stop_reason, self.trace.as_ref())
    }
}

/// The ConverseStream event for `event` (for the local stack, `aws-smithy-mocks` and tests).
pub fn stream_event_to_converse(
    event: &StreamEvent,
) -> Result<sdk::ConverseStreamOutput, ConverseError> {
    let index = |i: u32| to_i32(i, "index");
    Ok(match event {
        StreamEvent::MessageStart { role } => sdk::ConverseStreamOutput::MessageStart(built(
            sdk::MessageStartEvent::builder().role((*role).into()).build(),
            || "message_start".to_owned(),
        )?),
        StreamEvent::ContentBlockStart { index: i, start: BlockStart::ToolUse { id, name } } => {
            let tool = built(
                sdk::ToolUseBlockStart::builder().tool_use_id(id).name(name).build(),
                || "content_block_start.start".to_owned(),
            )?;
            sdk::ConverseStreamOutput::ContentBlockStart(built(
                sdk::ContentBlockStartEvent::builder()
                    .content_block_index(index(*i)?)
                    .start(sdk::ContentBlockStart::ToolUse(tool))
                    .build(),
                || "content_block_start".to_owned(),
            )?)
        }
        StreamEvent::ContentBlockDelta { index: i, delta } => {
            let delta = match delta {
                Delta::Text { text } => sdk::ContentBlockDelta::Text(text.clone()),
                Delta::ToolInput { json } => sdk::ContentBlockDelta::ToolUse(built(
                    sdk::ToolUseBlockDelta::builder().input(json).build(),
                    || "content_block_delta.delta".to_owned(),
                )?),
                Delta::Reasoning { text } => sdk::ContentBlockDelta::ReasoningContent(
                    sdk::ReasoningContentBlockDelta::Text(text.clone()),
                ),
                Delta::ReasoningSignature { signature } => {
                    sdk::ContentBlockDelta::ReasoningContent(
                        sdk::ReasoningContentBlockDelta::Signature(signature.clone()),
                    )
                }
                Delta::RedactedReasoning { data } => sdk::ContentBlockDelta::ReasoningContent(
                    sdk::ReasoningContentBlockDelta::RedactedContent(redacted_to_sdk(
                        data,
                        "content_block_delta.delta.data",
                    )?),
                ),
            };
            sdk::ConverseStreamOutput::ContentBlockDelta(built(
                sdk::ContentBlockDeltaEvent::builder()
                    .content_block_index(index(*i)?)
                    .delta(delta)
                    .build(),
                || "content_block_delta".to_owned(),
            )?)
        }
        StreamEvent::ContentBlockStop { index: i } => {
            sdk::ConverseStreamOutput::ContentBlockStop(built(
                sdk::ContentBlockStopEvent::builder().content_block_index(index(*i)?).build(),
                || "content_block_stop".to_owned(),
            )?)
        }
        StreamEvent::MessageStop { stop_reason } => sdk::ConverseStreamOutput::MessageStop(built(
            sdk::MessageStopEvent::builder().stop_reason((*stop_reason).into()).build(),
            || "message_stop".to_owned(),
        )?),
        StreamEvent::Metadata { usage, latency_ms } => {
            let metrics = latency_ms
                .map(|ms| {
                    let metrics = sdk::ConverseStreamMetrics::builder()
                        .latency_ms(latency_to_sdk(ms)?)
                        .build();
                    built(metrics, || "metadata.latency_ms".to_owned())
                })
                .transpose()?;
            sdk::ConverseStreamOutput::Metadata(
                sdk::ConverseStreamMetadataEvent::builder()
                    .usage(usage_to_sdk(usage)?)
                    .set_metrics(metrics)
                    .build(),
            )
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bedrock::test_support::StubBedrock;
    use crate::chat::stream::collect_events;

    const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
    const TOOL_USE_ID: &str = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q";

    /// The `data` of the `redacted_thinking` example in Anthropic's extended-thinking guide, which
    /// the Bedrock page "Thinking encryption" (`claude-messages-thinking-encryption`) describes; it
    /// is standard base64 (of 48 bytes), so it is also what Converse's `redactedContent` blob reads
    /// as on the wire.
    pub(crate) const REDACTED_DATA: &str =
        "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP";

    // The radio-station example of "Call a tool with the Converse API" in the Amazon Bedrock
    // user guide (https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html).

    fn doc_tool_config() -> Value {
        json!({
            "tools": [{
                "toolSpec": {
                    "name": "top_song",
                    "description": "Get the most popular song played on a radio station.",
                    "inputSchema": {
                        "json": {
                            "type": "object",
                            "properties": {
                                "sign": {
                                    "type": "string",
                                    "description": "The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."
                                }
                            },
                            "required": ["sign"]
                        }
                    }
                }
            }]
        })
    }

    fn doc_user_message() -> Value {
        json!({ "role": "user", "content": [{ "text": "What is the most popular song on WZPZ?" }] })
    }

    fn doc_tool_use_response() -> Value {
        json!({
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [{
                        "toolUse": {
                            "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                            "name": "top_song",
                            "input": { "sign": "WZPZ" }
                        }
                    }]
                }
            },
            "stopReason": "tool_use"
        })
    }

    fn doc_tool_result_message() -> Value {
        json!({
            "role": "user",
            "content": [{
                "toolResult": {
                    "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                    "content": [{ "json": { "song": "Elemental Hotel", "artist": "8 Storey Hike" } }]
                }
            }]
        })
    }

    fn doc_tool_error_message() -> Value {
        json!({
            "role": "user",
            "content": [{
                "toolResult": {
                    "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                    "content": [{ "text": "Station WZPA not found." }],
                    "status": "error"
                }
            }]
        })
    }

    fn doc_final_response() -> Value {
        json!({
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [{ "text": "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike." }]
                }
            },
            "stopReason": "end_turn"
        })
    }

    /// quarry's side of the same example.
    fn top_song_tool() -> ToolSpec {
        let schema = &doc_tool_config()["tools"][0]["toolSpec"]["inputSchema"]["json"];
        ToolSpec {
            name: "top_song".into(),
            description: Some("Get the most popular song played on a radio station.".into()),
            input_schema: schema.clone(),
        }
    }

    fn top_song_call() -> ContentBlock {
        ContentBlock::ToolUse {
            id: TOOL_USE_ID.into(),
            name: "top_song".into(),
            input: json!({ "sign": "WZPZ" }),
        }
    }

    /// A request that uses every block type and every parameter quarry has.
    pub(crate) fn every_block_request() -> ChatRequest {
        ChatRequest {
            system: vec![
                SystemBlock::Text { text: "You are a radio station's assistant.".into() },
                SystemBlock::CachePoint,
            ],
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::text(
                            "Which song is on this sleeve, and is it on our playlist?",
                        ),
                        ContentBlock::Image {
                            format: ImageFormat::Png,
                            data: Base64Bytes(vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a]),
                        },
                        ContentBlock::Document {
                            format: DocumentFormat::Csv,
                            name: "Playlist (week 12)".into(),
                            data: Base64Bytes(
                                b"song,artist\nElemental Hotel,8 Storey Hike\n".to_vec(),
                            ),
                        },
                        ContentBlock::CachePoint,
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Reasoning {
                            text: "The sleeve is blurred; the station's chart will say.".into(),
                            signature: Some("ErcBCkgIAhABGAIiQ".into()),
                        },
                        ContentBlock::RedactedReasoning { data: REDACTED_DATA.into() },
                        ContentBlock::text("Let me look that up."),
                        ContentBlock::ToolUse {
                            id: TOOL_USE_ID.into(),
                            name: "top_song".into(),
                            input: json!({ "sign": "WZPZ", "limit": 1, "offset": -2, "weight": 0.5 }),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::ToolResult {
                            tool_use_id: TOOL_USE_ID.into(),
                            content: vec![
                                ToolResultContent::Text { text: "Found it.".into() },
                                ToolResultContent::Json {
                                    json: json!({ "song": "Elemental Hotel", "plays": 12, "rating": 4.5 }),
                                },
                                ToolResultContent::Image {
                                    format: ImageFormat::Jpeg,
                                    data: Base64Bytes(vec![0xff, 0xd8, 0xff, 0xe0]),
                                },
                            ],
                            status: Some(ToolResultStatus::Success),
                        },
                        ContentBlock::ToolResult {
                            tool_use_id: TOOL_USE_ID.into(),
                            content: vec![ToolResultContent::Text {
                                text: "Station WZPA not found.".into(),
                            }],
                            status: Some(ToolResultStatus::Error),
                        },
                        ContentBlock::ToolResult {
                            tool_use_id: TOOL_USE_ID.into(),
                            content: vec![ToolResultContent::Json {
                                json: json!([1, -1, 1.25, null]),
                            }],
                            status: None,
                        },
                        ContentBlock::text("Now answer."),
                    ],
                },
            ],
            max_tokens: Some(512),
            temperature: Some(0.5),
            top_p: Some(0.75),
            top_k: Some(40),
            stop_sequences: vec!["\n\nHuman:".into(), "END".into()],
            tools: vec![
                top_song_tool(),
                ToolSpec {
                    name: "station_info".into(),
                    description: None,
                    input_schema: json!({ "type": "object" }),
                },
            ],
            tool_choice: Some(ToolChoice::Tool { name: "top_song".into() }),
            guardrail: Some(GuardrailConfig {
                identifier: "gr-abc123".into(),
                version: "DRAFT".into(),
                trace: true,
            }),
        }
    }

    #[test]
    fn json_and_documents_keep_integers_and_floats_apart() {
        let value = json!({
            "count": 3, "delta": -7, "ratio": 1.5, "whole": 2.0, "max": u64::MAX, "min": i64::MIN,
            "items": [true, null, "s", { "x": -0.25 }]
        });
        let document = json_to_document(&value);
        let fields = document.as_object().expect("an object");
        assert_eq!(fields["count"], Document::Number(Number::PosInt(3)));
        assert_eq!(fields["delta"], Document::Number(Number::NegInt(-7)));
        assert_eq!(fields["ratio"], Document::Number(Number::Float(1.5)));
        assert_eq!(fields["whole"], Document::Number(Number::Float(2.0)));
        assert_eq!(fields["max"], Document::Number(Number::PosInt(u64::MAX)));
        assert_eq!(fields["min"], Document::Number(Number::NegInt(i64::MIN)));
        let back = document_to_json(&document).expect("finite numbers");
        assert_eq!(back, value);
        assert!(back["whole"].is_f64(), "2.0 must stay a float, not become 2");
        assert!(back["count"].is_u64());
    }

    #[test]
    fn a_non_finite_float_cannot_become_json_and_its_place_is_named() {
        let document = Document::Object(
            [(
                "scores".to_owned(),
                Document::Array(vec![
                    Document::Number(Number::PosInt(1)),
                    Document::Number(Number::Float(f64::NAN)),
                ]),
            )]
            .into(),
        );
        let error = document_to_json(&document).expect_err("NaN is not JSON");
        assert_eq!(
            error.to_string(),
            "$.scores[1]: NaN is not a finite number, so it cannot be JSON"
        );
    }

    #[test]
    fn a_request_with_every_block_type_round_trips_through_the_sdk_types() {
        let families =
            [None, Some(Family::Anthropic), Some(Family::AmazonNova), Some(Family::CohereCommand)];
        for family in families {
            let request = every_block_request();
            let parts = ConverseParts::from_request(&request, family).expect("maps to Converse");
            assert_eq!(parts.to_request(family).expect("maps back"), request, "{family:?}");
        }
        // Every tool choice, no guardrail trace, and a request without any option.
        for choice in [None, Some(ToolChoice::Auto), Some(ToolChoice::Any)] {
            let mut request = every_block_request();
            request.tool_choice = choice;
            request.guardrail =
                Some(GuardrailConfig { trace: false, ..request.guardrail.expect("set") });
            let parts = ConverseParts::from_request(&request, None).expect("maps to Converse");
            assert_eq!(parts.to_request(None).expect("maps back"), request);
        }
        let plain = ChatRequest::from_user_text("Hello");
        let parts = ConverseParts::from_request(&plain, None).expect("maps to Converse");
        assert_eq!(parts.inference_config, None);
        assert_eq!(parts.tool_config, None);
        assert!(parts.system.is_empty());
        assert_eq!(parts.to_request(None).expect("maps back"), plain);
    }

    #[test]
    fn converse_parts_hold_the_documented_sdk_values() {
        let parts = ConverseParts::for_base_model(&every_block_request(), MODEL).expect("maps");
        let config = parts.inference_config.expect("inference config");
        assert_eq!(config.max_tokens, Some(512));
        assert_eq!(config.temperature, Some(0.5));
        assert_eq!(config.top_p, Some(0.75));
        assert_eq!(config.stop_sequences, Some(vec!["\n\nHuman:".to_owned(), "END".to_owned()]));
        let tools = parts.tool_config.expect("tool config");
        assert_eq!(tools.tools.len(), 2);
        assert!(
            matches!(&tools.tool_choice, Some(sdk::ToolChoice::Tool(t)) if t.name == "top_song")
        );
        let guardrail = parts.guardrail_config.expect("guardrail");
        assert_eq!(guardrail.guardrail_identifier, "gr-abc123");
        assert_eq!(guardrail.trace, sdk::GuardrailTrace::Enabled);
        assert!(matches!(&parts.system[1], sdk::SystemContentBlock::CachePoint(p)
            if *p.r#type() == sdk::CachePointType::Default));
        assert_eq!(
            parts.additional_model_request_fields.map(|d| document_to_json(&d).expect("json")),
            Some(json!({ "top_k": 40 }))
        );
    }

    #[test]
    fn top_k_goes_where_each_family_reads_it() {
        let request = ChatRequest { top_k: Some(50), ..ChatRequest::from_user_text("Hi") };
        let cases = [
            ("anthropic.claude-sonnet-4-20250514-v1:0", json!({ "top_k": 50 })),
            ("amazon.nova-pro-v1:0", json!({ "inferenceConfig": { "topK": 50 } })),
            ("cohere.command-r-plus-v1:0", json!({ "k": 50 })),
            ("mistral.mistral-7b-instruct-v0:2", json!({ "top_k": 50 })),
            ("writer.palmyra-x5-v1:0", json!({ "top_k": 50 })),
        ];
        for (model, expected) in cases {
            let parts = ConverseParts::for_base_model(&request, model).expect("maps");
            let fields = parts.additional_model_request_fields.expect("top_k is sent");
            assert_eq!(document_to_json(&fields).expect("json"), expected, "{model}");
        }
    }

    #[test]
    fn sdk_request_parts_quarry_cannot_hold_are_errors_naming_their_path() {
        let mut parts = ConverseParts::from_request(&every_block_request(), None).expect("maps");
        parts.messages[1].content.push(sdk::ContentBlock::CitationsContent(
            sdk::CitationsContentBlock::builder().build(),
        ));
        let error = parts.to_request(None).expect_err("citations have no quarry block");
        assert_eq!(
            error.to_string(),
            "messages[1].content[4]: a citations block has no counterpart in quarry's chat types"
        );

        let mut parts = ConverseParts::from_request(&every_block_request(), None).expect("maps");
        parts.additional_model_request_fields =
            Some(json_to_document(&json!({ "top_k": 40, "anthropic_beta": ["x"] })));
        let error = parts.to_request(None).expect_err("an unknown model field");
        assert_eq!(
            error.to_string(),
            "additionalModelRequestFields.anthropic_beta: a model-specific field other than top_k has no counterpart in quarry's chat types"
        );

        let mut parts = ConverseParts::from_request(&every_block_request(), None).expect("maps");
        parts.guardrail_config = Some(
            sdk::GuardrailConfiguration::builder()
                .guardrail_identifier("gr")
                .guardrail_version("1")
                .trace(sdk::GuardrailTrace::EnabledFull)
                .build(),
        );
        let error = parts.to_request(None).expect_err("enabled_full has no quarry setting");
        assert_eq!(
            error.to_string(),
            "guardrailConfig.trace: the trace setting `enabled_full` has no counterpart in quarry's chat types"
        );
    }

    #[test]
    fn redacted_reasoning_in_sdk_request_parts_maps_to_quarry_byte_for_byte() {
        // Bytes whose base64 uses `+`, `/` and padding: the standard alphabet, not the URL one.
        let bytes = vec![0xfb, 0xff, 0xbf, 0x00, 0x01];
        let mut parts = ConverseParts::from_request(&every_block_request(), None).expect("maps");
        parts.messages[1].content.push(sdk::ContentBlock::ReasoningContent(
            sdk::ReasoningContentBlock::RedactedContent(Blob::new(bytes.clone())),
        ));
        let request = parts.to_request(None).expect("redacted reasoning maps to quarry");
        assert_eq!(
            request.messages[1].content[4],
            ContentBlock::RedactedReasoning { data: "+/+/AAE=".into() }
        );
        let back = ConverseParts::from_request(&request, None).expect("maps back");
        assert_eq!(
            back.messages[1].content[4],
            sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::RedactedContent(
                Blob::new(bytes)
            ))
        );
    }

    #[test]
    fn redacted_reasoning_data_that_is_not_base64_is_an_error_naming_its_path() {
        // The documentation prints the example's data cut short with `...`: not base64.
        let truncated = format!("{REDACTED_DATA}...");
        let mut request = every_block_request();
        request.messages[1].content[1] =
            ContentBlock::RedactedReasoning { data: truncated.clone() };
        let error = ConverseParts::from_request(&request, None).expect_err("not base64");
        assert!(matches!(error, ConverseError::InvalidBase64 { .. }), "{error:?}");
        assert!(
            error.to_string().starts_with(
                "messages[1].content[1].data: expected the standard base64 of the redacted reasoning's bytes: "
            ),
            "{error}"
        );

        // Unpadded or URL-alphabet base64 would not come back as the same string: refused too.
        for data in ["+/+/AAE", "-_-_AAE="] {
            request.messages[1].content[1] = ContentBlock::RedactedReasoning { data: data.into() };
            assert!(
                matches!(
                    ConverseParts::from_request(&request, None),
                    Err(ConverseError::InvalidBase64 { .. })
                ),
                "{data}"
            );
        }

        let answer = ChatResponse {
            content: vec![ContentBlock::RedactedReasoning { data: truncated.clone() }],
            ..full_answer()
        };
        let error = response_to_converse(&answer).expect_err("not base64");
        assert!(error.to_string().starts_with("content[0].data: "), "{error}");

        let event = StreamEvent::ContentBlockDelta {
            index: 1,
            delta: Delta::RedactedReasoning { data: truncated },
        };
        let error = stream_event_to_converse(&event).expect_err("not base64");
        assert!(error.to_string().starts_with("content_block_delta.delta.data: "), "{error}");
    }

    #[test]
    fn max_tokens_beyond_the_sdk_integer_is_out_of_range() {
        let request =
            ChatRequest { max_tokens: Some(u32::MAX), ..ChatRequest::from_user_text("Hi") };
        let error = ConverseParts::from_request(&request, None).expect_err("i32 overflow");
        assert_eq!(
            error.to_string(),
            "max_tokens: 4294967295 is out of range; expected at most 2147483647"
        );
    }

    #[tokio::test]
    async fn the_documented_tool_use_call_is_what_the_sdk_sends_and_its_answer_maps_back() {
        let bedrock = StubBedrock::json(&doc_tool_use_response());
        let request = ChatRequest {
            messages: vec![Message::user("What is the most popular song on WZPZ?")],
            tools: vec![top_song_tool()],
            tool_choice: Some(ToolChoice::Tool { name: "top_song".into() }),
            ..ChatRequest::default()
        };
        let parts = ConverseParts::for_base_model(&request, MODEL).expect("maps");
        let output = parts
            .apply_to_converse(bedrock.client().converse().model_id(MODEL))
            .send()
            .await
            .expect("the stub answers");

        let sent = bedrock.last_request();
        let mut expected_tool_config = doc_tool_config();
        expected_tool_config["toolChoice"] = json!({ "tool": { "name": "top_song" } });
        assert_eq!(sent["toolConfig"], expected_tool_config);
        assert_eq!(sent["messages"], json!([doc_user_message()]));
        assert_eq!(sent.get("system"), None, "no system prompt, no system field");
        assert_eq!(sent.get("inferenceConfig"), None);

        let response = response_from_converse(&output).expect("maps back");
        assert_eq!(response.content, vec![top_song_call()]);
        assert_eq!(response.stop_reason, StopReason::ToolUse);
        // The example leaves out the required `usage` and `metrics`; the SDK's client-side error
        // correction fills them with zeros.
        assert_eq!(response.usage, Usage::default());
        assert_eq!(response.latency_ms, Some(0));
        assert_eq!(response.guardrail, None);
    }

    #[tokio::test]
    async fn the_documented_tool_results_are_what_the_sdk_sends() {
        let bedrock = StubBedrock::json(&doc_final_response());
        let result = |content, status| ContentBlock::ToolResult {
            tool_use_id: TOOL_USE_ID.into(),
            content: vec![content],
            status,
        };
        let request = ChatRequest {
            messages: vec![
                Message::user("What is the most popular song on WZPZ?"),
                Message { role: Role::Assistant, content: vec![top_song_call()] },
                Message {
                    role: Role::User,
                    content: vec![result(
                        ToolResultContent::Json {
                            json: json!({ "song": "Elemental Hotel", "artist": "8 Storey Hike" }),
                        },
                        None,
                    )],
                },
            ],
            tools: vec![top_song_tool()],
            ..ChatRequest::default()
        };
        let parts = ConverseParts::for_base_model(&request, MODEL).expect("maps");
        let output = parts
            .apply_to_converse(bedrock.client().converse().model_id(MODEL))
            .send()
            .await
            .expect("the stub answers");
        let sent = bedrock.last_request();
        assert_eq!(
            sent["messages"][1]["content"][0]["toolUse"],
            doc_tool_use_response()["output"]["message"]["content"][0]["toolUse"]
        );
        assert_eq!(sent["messages"][2], doc_tool_result_message());
        let response = response_from_converse(&output).expect("maps back");
        assert_eq!(
            response.text(),
            "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike."
        );
        assert_eq!(response.stop_reason, StopReason::EndTurn);

        // The documented error result.
        let mut failing = request.clone();
        failing.messages[2].content = vec![result(
            ToolResultContent::Text { text: "Station WZPA not found.".into() },
            Some(ToolResultStatus::Error),
        )];
        ConverseParts::for_base_model(&failing, MODEL)
            .expect("maps")
            .apply_to_converse(bedrock.client().converse().model_id(MODEL))
            .send()
            .await
            .expect("the stub answers");
        assert_eq!(bedrock.last_request()["messages"][2], doc_tool_error_message());
    }

    #[tokio::test]
    async fn every_block_type_reaches_the_wire_in_the_converse_shape() {
        let bedrock = StubBedrock::json(&doc_final_response());
        ConverseParts::for_base_model(&every_block_request(), "amazon.nova-pro-v1:0")
            .expect("maps")
            .apply_to_converse(bedrock.client().converse().model_id("amazon.nova-pro-v1:0"))
            .send()
            .await
            .expect("the stub answers");
        let sent = bedrock.last_request();
        // Shapes from the API reference: SystemContentBlock, ContentBlock, ImageBlock,
        // DocumentBlock, ReasoningContentBlock, CachePointBlock, InferenceConfiguration,
        // GuardrailConfiguration (https://docs.aws.amazon.com/bedrock/latest/APIReference/).
        assert_eq!(
            sent["system"],
            json!([{ "text": "You are a radio station's assistant." }, { "cachePoint": { "type": "default" } }])
        );
        assert_eq!(
            sent["messages"][0]["content"][1],
            json!({ "image": { "format": "png", "source": { "bytes": "iVBORw0K" } } })
        );
        assert_eq!(
            sent["messages"][0]["content"][2],
            json!({ "document": { "format": "csv", "name": "Playlist (week 12)", "source": { "bytes": "c29uZyxhcnRpc3QKRWxlbWVudGFsIEhvdGVsLDggU3RvcmV5IEhpa2UK" } } })
        );
        assert_eq!(
            sent["messages"][1]["content"][0],
            json!({ "reasoningContent": { "reasoningText": { "text": "The sleeve is blurred; the station's chart will say.", "signature": "ErcBCkgIAhABGAIiQ" } } })
        );
        // ReasoningContentBlock.redactedContent is "Base64-encoded binary data": the same string.
        assert_eq!(
            sent["messages"][1]["content"][1],
            json!({ "reasoningContent": { "redactedContent": REDACTED_DATA } })
        );
        assert_eq!(
            sent["inferenceConfig"],
            json!({ "maxTokens": 512, "temperature": 0.5, "topP": 0.75, "stopSequences": ["\n\nHuman:", "END"] })
        );
        assert_eq!(
            sent["guardrailConfig"],
            json!({ "guardrailIdentifier": "gr-abc123", "guardrailVersion": "DRAFT", "trace": "enabled" })
        );
        assert_eq!(
            sent["additionalModelRequestFields"],
            json!({ "inferenceConfig": { "topK": 40 } })
        );
        assert_eq!(
            sent["messages"][2]["content"][2],
            json!({ "toolResult": { "toolUseId": TOOL_USE_ID, "content": [{ "json": [1, -1, 1.25, null] }] } })
        );
    }

    #[tokio::test]
    async fn a_converse_stream_call_carries_a_stream_guardrail_configuration() {
        let bedrock =
            StubBedrock::event_stream(&[("messageStart", json!({ "role": "assistant" }))]);
        let request = ChatRequest {
            guardrail: Some(GuardrailConfig {
                identifier: "gr-abc123".into(),
                version: "3".into(),
                trace: false,
            }),
            ..ChatRequest::from_user_text("Hi")
        };
        let mut output = ConverseParts::for_base_model(&request, MODEL)
            .expect("maps")
            .apply_to_converse_stream(bedrock.client().converse_stream().model_id(MODEL))
            .send()
            .await
            .expect("the stub answers");
        while output.stream.recv().await.expect("a well-formed stream").is_some() {}
        assert_eq!(
            bedrock.last_request()["guardrailConfig"],
            json!({ "guardrailIdentifier": "gr-abc123", "guardrailVersion": "3", "trace": "disabled", "streamProcessingMode": "sync" })
        );
    }

    #[test]
    fn every_stop_reason_maps_to_quarry_and_back() {
        let cases = [
            ("end_turn", StopReason::EndTurn),
            ("tool_use", StopReason::ToolUse),
            ("max_tokens", StopReason::MaxTokens),
            ("stop_sequence", StopReason::StopSequence),
            ("guardrail_intervened", StopReason::GuardrailIntervened),
            ("content_filtered", StopReason::ContentFiltered),
            ("model_context_window_exceeded", StopReason::ModelContextWindowExceeded),
            ("malformed_model_output", StopReason::MalformedModelOutput),
            ("malformed_tool_use", StopReason::MalformedToolUse),
            ("a_reason_from_the_future", StopReason::Unknown),
        ];
        for (wire, expected) in cases {
            let output = SdkConverseResponse::builder()
                .output(sdk::ConverseOutput::Message(
                    sdk::Message::builder()
                        .role(sdk::ConversationRole::Assistant)
                        .content(sdk::ContentBlock::Text("…".into()))
                        .build()
                        .expect("message"),
                ))
                .stop_reason(sdk::StopReason::from(wire))
                .build()
                .expect("output");
            let response = response_from_converse(&output).expect("maps");
            assert_eq!(response.stop_reason, expected, "{wire}");
            let back = sdk::StopReason::from(expected);
            let expected_wire = if expected == StopReason::Unknown { "unknown" } else { wire };
            assert_eq!(back.as_str(), expected_wire);
        }
    }

    #[tokio::test]
    async fn usage_with_cache_tokens_and_latency_come_from_the_response() {
        // Field names from the API reference: TokenUsage and ConverseMetrics
        // (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html).
        let mut body = doc_final_response();
        body["usage"] = json!({
            "inputTokens": 21, "outputTokens": 17, "totalTokens": 1062,
            "cacheReadInputTokens": 1024, "cacheWriteInputTokens": 0
        });
        body["metrics"] = json!({ "latencyMs": 742 });
        let bedrock = StubBedrock::json(&body);
        let output = bedrock
            .client()
            .converse()
            .model_id(MODEL)
            .messages(
                sdk::Message::builder()
                    .role(sdk::ConversationRole::User)
                    .content(sdk::ContentBlock::Text("Hi".into()))
                    .build()
                    .expect("message"),
            )
            .send()
            .await
            .expect("the stub answers");
        let response = response_from_converse(&output).expect("maps");
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 21,
                output_tokens: 17,
                total_tokens: 1062,
                cache_read_input_tokens: Some(1024),
                cache_write_input_tokens: Some(0),
            }
        );
        assert_eq!(response.latency_ms, Some(742));
    }

    /// A Converse `trace.guardrail` in the shape of the API reference's GuardrailTraceAssessment,
    /// GuardrailAssessment, GuardrailTopicPolicyAssessment, GuardrailContentPolicyAssessment,
    /// GuardrailSensitiveInformationPolicyAssessment and GuardrailInvocationMetrics pages.
    fn guardrail_trace(topic_action: &str) -> Value {
        json!({
            "modelOutput": ["Sorry, the model cannot answer this question."],
            "inputAssessment": {
                "gr-abc123": {
                    "topicPolicy": { "topics": [{ "name": "Investment advice", "type": "DENY", "action": topic_action, "detected": true }] },
                    "contentPolicy": { "filters": [{ "type": "INSULTS", "confidence": "NONE", "filterStrength": "HIGH", "action": "NONE", "detected": false }] },
                    "sensitiveInformationPolicy": {
                        "piiEntities": [{ "match": "555-0100", "type": "PHONE", "action": "NONE", "detected": false }],
                        "regexes": [{ "name": "account", "match": "AC-1234", "regex": "AC-\\d{4}", "action": "NONE" }]
                    },
                    "invocationMetrics": {
                        "guardrailProcessingLatency": 312,
                        "usage": {
                            "topicPolicyUnits": 1, "contentPolicyUnits": 1, "wordPolicyUnits": 0,
                            "sensitiveInformationPolicyUnits": 1, "sensitiveInformationPolicyFreeUnits": 0,
                            "contextualGroundingPolicyUnits": 0
                        },
                        "guardrailCoverage": { "textCharacters": { "guarded": 38, "total": 38 } }
                    }
                }
            },
            "outputAssessments": {
                "gr-abc123": [{
                    "wordPolicy": {
                        "customWords": [{ "match": "stock tip", "action": "NONE", "detected": false }],
                        "managedWordLists": [{ "match": "darn", "type": "PROFANITY", "action": "NONE" }]
                    },
                    "contextualGroundingPolicy": { "filters": [{ "type": "GROUNDING", "threshold": 0.75, "score": 0.9, "action": "NONE", "detected": false }] }
                }]
            },
            "actionReason": "Guardrail blocked."
        })
    }

    #[tokio::test]
    async fn a_guardrail_trace_comes_back_as_the_converse_json_and_says_whether_it_intervened() {
        let mut body = doc_final_response();
        body["output"]["message"]["content"] =
            json!([{ "text": "Sorry, the model cannot answer this question." }]);
        body["stopReason"] = json!("guardrail_intervened");
        body["trace"] = json!({ "guardrail": guardrail_trace("BLOCKED") });
        let output = StubBedrock::json(&body)
            .client()
            .converse()
            .model_id(MODEL)
            .send()
            .await
            .expect("the stub answers");
        let response = response_from_converse(&output).expect("maps");
        assert_eq!(response.stop_reason, StopReason::GuardrailIntervened);
        let guardrail = response.guardrail.expect("a guardrail outcome");
        assert!(guardrail.intervened);
        assert_eq!(
            guardrail.trace,
            Some(guardrail_trace("BLOCKED")),
            "the trace keeps every field"
        );

        // A trace where every policy let the text through: not an intervention.
        body["stopReason"] = json!("end_turn");
        body["trace"] = json!({ "guardrail": guardrail_trace("NONE") });
        let output = StubBedrock::json(&body)
            .client()
            .converse()
            .model_id(MODEL)
            .send()
            .await
            .expect("answers");
        let guardrail = response_from_converse(&output).expect("maps").guardrail.expect("traced");
        assert!(!guardrail.intervened);

        // A blocked topic alone, without the stop reason, is an intervention too.
        body["trace"] = json!({ "guardrail": guardrail_trace("BLOCKED") });
        let output = StubBedrock::json(&body)
            .client()
            .converse()
            .model_id(MODEL)
            .send()
            .await
            .expect("answers");
        assert!(
            response_from_converse(&output).expect("maps").guardrail.expect("traced").intervened
        );
    }

    #[test]
    fn a_guardrail_stop_without_a_trace_is_still_reported() {
        let stopped = ChatResponse {
            content: vec![ContentBlock::text("Sorry, the model cannot answer this question.")],
            stop_reason: StopReason::GuardrailIntervened,
            usage: Usage::new(12, 9),
            latency_ms: Some(80),
            guardrail: Some(GuardrailOutcome { intervened: true, trace: None }),
        };
        let output = response_to_converse(&stopped).expect("maps");
        assert_eq!(response_from_converse(&output).expect("maps back"), stopped);
        let answered =
            ChatResponse { stop_reason: StopReason::EndTurn, guardrail: None, ..stopped };
        let output = response_to_converse(&answered).expect("maps");
        assert_eq!(response_from_converse(&output).expect("maps back").guardrail, None);
    }

    fn full_answer() -> ChatResponse {
        ChatResponse {
            content: vec![
                ContentBlock::Reasoning {
                    text: "The user wants the chart.".into(),
                    signature: Some("ErcBCkgIAhABGAIiQ".into()),
                },
                ContentBlock::RedactedReasoning { data: REDACTED_DATA.into() },
                ContentBlock::text("Let me look that up."),
                top_song_call(),
            ],
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                input_tokens: 412,
                output_tokens: 58,
                total_tokens: 470,
                cache_read_input_tokens: Some(300),
                cache_write_input_tokens: Some(12),
            },
            latency_ms: Some(930),
            guardrail: None,
        }
    }

    #[test]
    fn an_answer_round_trips_through_the_sdk_output() {
        let answer = full_answer();
        let output = response_to_converse(&answer).expect("maps");
        assert_eq!(response_from_converse(&output).expect("maps back"), answer);
    }

    #[test]
    fn answer_blocks_quarry_cannot_hold_are_skipped_not_fatal() {
        let mut output = response_to_converse(&full_answer()).expect("maps");
        let Some(sdk::ConverseOutput::Message(message)) = &mut output.output else {
            panic!("a message output")
        };
        message.content.insert(
            1,
            sdk::ContentBlock::CitationsContent(sdk::CitationsContentBlock::builder().build()),
        );
        message.content.push(sdk::ContentBlock::CitationsContent(
            sdk::CitationsContentBlock::builder().build(),
        ));
        // The answer's redacted reasoning is kept; only the citations are skipped.
        assert_eq!(response_from_converse(&output).expect("maps").content, full_answer().content);
    }

    /// The SDK events a ConverseStream call returns for [`full_answer`], with the deltas split.
    fn full_answer_events() -> Vec<sdk::ConverseStreamOutput> {
        let delta = |index, delta| StreamEvent::ContentBlockDelta { index, delta };
        let (head, tail) = REDACTED_DATA.split_at(32);
        let events = [
            StreamEvent::MessageStart { role: Role::Assistant },
            delta(0, Delta::Reasoning { text: "The user wants ".into() }),
            delta(0, Delta::Reasoning { text: "the chart.".into() }),
            delta(0, Delta::ReasoningSignature { signature: "ErcBCkgIAhABGAIiQ".into() }),
            StreamEvent::ContentBlockStop { index: 0 },
            // Split after 32 characters (24 bytes, whole 3-byte groups): two blobs on the wire.
            delta(1, Delta::RedactedReasoning { data: head.into() }),
            delta(1, Delta::RedactedReasoning { data: tail.into() }),
            StreamEvent::ContentBlockStop { index: 1 },
            delta(2, Delta::Text { text: "Let me ".into() }),
            delta(2, Delta::Text { text: "look that up.".into() }),
            StreamEvent::ContentBlockStop { index: 2 },
            StreamEvent::ContentBlockStart {
                index: 3,
                start: BlockStart::ToolUse { id: TOOL_USE_ID.into(), name: "top_song".into() },
            },
            delta(3, Delta::ToolInput { json: "{\"si".into() }),
            delta(3, Delta::ToolInput { json: "gn\": \"WZPZ\"}".into() }),
            StreamEvent::ContentBlockStop { index: 3 },
            StreamEvent::MessageStop { stop_reason: StopReason::ToolUse },
            StreamEvent::Metadata { usage: full_answer().usage, latency_ms: Some(930) },
        ];
        events.iter().map(|e| stream_event_to_converse(e).expect("maps")).collect()
    }

    #[test]
    fn stream_events_round_trip_through_the_sdk_events() {
        let mut decoder = ConverseStreamDecoder::new();
        for sdk_event in full_answer_events() {
            let event = decoder.decode(&sdk_event).expect("decodes").expect("quarry has it");
            assert_eq!(stream_event_to_converse(&event).expect("maps"), sdk_event);
        }
    }

    #[test]
    fn a_folded_stream_equals_the_non_streamed_answer() {
        let mut decoder = ConverseStreamDecoder::new();
        let events: Vec<StreamEvent> = full_answer_events()
            .iter()
            .filter_map(|e| decoder.decode(e).expect("decodes"))
            .collect();
        let mut folded = collect_events(&events);
        folded.guardrail = decoder.guardrail();
        let direct = response_from_converse(&response_to_converse(&full_answer()).expect("maps"))
            .expect("maps");
        assert_eq!(folded, direct);
        assert_eq!(folded, full_answer());
    }

    #[test]
    fn stream_events_quarry_has_no_counterpart_for_are_skipped() {
        let skipped = [
            sdk::ConverseStreamOutput::ContentBlockDelta(
                sdk::ContentBlockDeltaEvent::builder()
                    .content_block_index(0)
                    .delta(sdk::ContentBlockDelta::Citation(sdk::CitationsDelta::builder().build()))
                    .build()
                    .expect("event"),
            ),
            sdk::ConverseStreamOutput::ContentBlockStart(
                sdk::ContentBlockStartEvent::builder()
                    .content_block_index(0)
                    .start(sdk::ContentBlockStart::Image(
                        sdk::ImageBlockStart::builder()
                            .format(sdk::ImageFormat::Png)
                            .build()
                            .expect("image start"),
                    ))
                    .build()
                    .expect("event"),
            ),
        ];
        let mut decoder = ConverseStreamDecoder::new();
        for event in &skipped {
            assert_eq!(decoder.decode(event).expect("not an error"), None, "{event:?}");
        }
    }

    #[tokio::test]
    async fn the_documented_tool_call_streamed_folds_into_the_documented_answer() {
        // ConverseStream events for the user guide's tool-use example, in the shapes of the API
        // reference's MessageStartEvent, ContentBlockStartEvent, ContentBlockDeltaEvent,
        // ContentBlockStopEvent, MessageStopEvent and ConverseStreamMetadataEvent. An event type
        // this SDK version does not know sits in the middle and must be skipped.
        let usage = json!({ "inputTokens": 412, "outputTokens": 58, "totalTokens": 470 });
        let bedrock = StubBedrock::event_stream(&[
            ("messageStart", json!({ "role": "assistant" })),
            (
                "contentBlockStart",
                json!({ "start": { "toolUse": { "toolUseId": TOOL_USE_ID, "name": "top_song" } }, "contentBlockIndex": 0 }),
            ),
            (
                "contentBlockDelta",
                json!({ "delta": { "toolUse": { "input": "{\"sign\": " } }, "contentBlockIndex": 0 }),
            ),
            ("aFutureEvent", json!({ "anything": true })),
            (
                "contentBlockDelta",
                json!({ "delta": { "toolUse": { "input": "\"WZPZ\"}" } }, "contentBlockIndex": 0 }),
            ),
            ("contentBlockStop", json!({ "contentBlockIndex": 0 })),
            ("messageStop", json!({ "stopReason": "tool_use" })),
            ("metadata", json!({ "usage": usage, "metrics": { "latencyMs": 930 } })),
        ]);
        let request = ChatRequest {
            messages: vec![Message::user("What is the most popular song on WZPZ?")],
            tools: vec![top_song_tool()],
            ..ChatRequest::default()
        };
        let mut output = ConverseParts::for_base_model(&request, MODEL)
            .expect("maps")
            .apply_to_converse_stream(bedrock.client().converse_stream().model_id(MODEL))
            .send()
            .await
            .expect("the stub answers");
        let mut decoder = ConverseStreamDecoder::new();
        let mut events = Vec::new();
        while let Some(event) = output.stream.recv().await.expect("a well-formed stream") {
            events.extend(decoder.decode(&event).expect("decodes"));
        }
        assert_eq!(events.len(), 7, "the unknown event is skipped: {events:?}");
        let mut folded = collect_events(&events);
        folded.guardrail = decoder.guardrail();

        let mut body = doc_tool_use_response();
        body["usage"] = usage;
        body["metrics"] = json!({ "latencyMs": 930 });
        let direct = StubBedrock::json(&body)
            .client()
            .converse()
            .model_id(MODEL)
            .send()
            .await
            .expect("answers");
        assert_eq!(folded, response_from_converse(&direct).expect("maps"));
        assert_eq!(folded.content, vec![top_song_call()]);
    }

    #[tokio::test]
    async fn redacted_reasoning_from_the_wire_is_kept_in_answers_and_streams() {
        // ReasoningContentBlock and ReasoningContentBlockDelta in the API reference
        // (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ReasoningContentBlock.html):
        // `redactedContent` is "Base64-encoded binary data", the blob the provider encrypted.
        let mut body = doc_final_response();
        body["output"]["message"]["content"] = json!([
            { "reasoningContent": { "redactedContent": REDACTED_DATA } },
            { "text": "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike." }
        ]);
        let output = StubBedrock::json(&body)
            .client()
            .converse()
            .model_id(MODEL)
            .send()
            .await
            .expect("the stub answers");
        let answer = response_from_converse(&output).expect("maps");
        assert_eq!(
            answer.content[0],
            ContentBlock::RedactedReasoning { data: REDACTED_DATA.into() }
        );

        // Streamed as two blobs of 10 and 38 bytes: their base64 pieces are padded, yet the folded
        // block holds the base64 of the whole blob, as the non-streamed answer does.
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(REDACTED_DATA)
            .expect("the example is base64");
        let piece = |part: &[u8]| {
            json!({ "delta": { "reasoningContent": { "redactedContent":
                base64::engine::general_purpose::STANDARD.encode(part) } }, "contentBlockIndex": 0 })
        };
        let bedrock = StubBedrock::event_stream(&[
            ("messageStart", json!({ "role": "assistant" })),
            ("contentBlockDelta", piece(&bytes[..10])),
            ("contentBlockDelta", piece(&bytes[10..])),
            ("contentBlockStop", json!({ "contentBlockIndex": 0 })),
            (
                "contentBlockDelta",
                json!({ "delta": { "text": "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike." }, "contentBlockIndex": 1 }),
            ),
            ("contentBlockStop", json!({ "contentBlockIndex": 1 })),
            ("messageStop", json!({ "stopReason": "end_turn" })),
        ]);
        let mut output = bedrock
            .client()
            .converse_stream()
            .model_id(MODEL)
            .send()
            .await
            .expect("the stub answers");
        let mut decoder = ConverseStreamDecoder::new();
        let mut events = Vec::new();
        while let Some(event) = output.stream.recv().await.expect("a well-formed stream") {
            events.extend(decoder.decode(&event).expect("decodes"));
        }
        assert!(
            matches!(&events[1], StreamEvent::ContentBlockDelta { index: 0, delta: Delta::RedactedReasoning { data } } if data == "EmwKAhgBEgy3vQ=="),
            "{events:?}"
        );
        assert_eq!(collect_events(&events).content, answer.content);
    }

    #[tokio::test]
    async fn a_streamed_guardrail_trace_is_kept_by_the_decoder() {
        let bedrock = StubBedrock::event_stream(&[
            ("messageStart", json!({ "role": "assistant" })),
            (
                "contentBlockDelta",
                json!({ "delta": { "text": "Sorry, the model cannot answer this question." }, "contentBlockIndex": 0 }),
            ),
            ("contentBlockStop", json!({ "contentBlockIndex": 0 })),
            ("messageStop", json!({ "stopReason": "guardrail_intervened" })),
            (
                "metadata",
                json!({
                    "usage": { "inputTokens": 9, "outputTokens": 0, "totalTokens": 9 },
                    "metrics": { "latencyMs": 120 },
                    "trace": { "guardrail": guardrail_trace("BLOCKED") }
                }),
            ),
        ]);
        let mut output = bedrock
            .client()
            .converse_stream()
            .model_id(MODEL)
            .send()
            .await
            .expect("the stub answers");
        let mut decoder = ConverseStreamDecoder::new();
        while let Some(event) = output.stream.recv().await.expect("a well-formed stream") {
            decoder.decode(&event).expect("decodes");
        }
        assert_eq!(
            decoder.guardrail(),
            Some(GuardrailOutcome { intervened: true, trace: Some(guardrail_trace("BLOCKED")) })
        );
    }
}
