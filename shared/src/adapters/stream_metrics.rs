//! The `amazon-bedrock-invocationMetrics` object Bedrock adds to the last chunk of every
//! InvokeModelWithResponseStream answer (whatever the family), and how decoders turn it — or the
//! model's own token counts when it is missing — into the stream's [`StreamEvent::Metadata`];
//! and [`TextBlockStream`], the events of families whose whole answer is one text block.

use serde::{Deserialize, Serialize};

use crate::chat::{Delta, Role, StopReason, StreamEvent, Usage};

/// The JSON key under which Bedrock appends [`InvocationMetrics`] to the last chunk of a stream.
pub const INVOCATION_METRICS_KEY: &str = "amazon-bedrock-invocationMetrics";

/// Bedrock's metrics for one streamed invocation (token counts and latencies in milliseconds),
/// found under the `amazon-bedrock-invocationMetrics` key of each family's stream chunk type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationMetrics {
    pub input_token_count: u32,
    pub output_token_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_latency: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_latency: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_token_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_input_token_count: Option<u32>,
}

impl InvocationMetrics {
    /// The usage these metrics report; cache counts they lack are taken from `model_usage`.
    pub fn usage(&self, model_usage: Option<Usage>) -> Usage {
        let mut usage = Usage::new(self.input_token_count, self.output_token_count);
        usage.cache_read_input_tokens = self
            .cache_read_input_token_count
            .or(model_usage.and_then(|u| u.cache_read_input_tokens));
        usage.cache_write_input_tokens = self
            .cache_write_input_token_count
            .or(model_usage.and_then(|u| u.cache_write_input_tokens));
        usage
    }
}

/// What every stream decoder tracks beyond its family's own state: whether the message has
/// started, and whether the closing [`StreamEvent::Metadata`] was sent.
#[derive(Debug, Default)]
pub(crate) struct StreamProgress {
    started: bool,
    metadata_sent: bool,
}

impl StreamProgress {
    /// Pushes the stream's one `MessageStart` the first time it is called.
    pub(crate) fn start(&mut self, events: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            events.push(StreamEvent::MessageStart { role: Role::Assistant });
        }
    }

    /// Closes a chunk: a chunk carrying invocation metrics yields a `Metadata` event from them;
    /// a stream that `ended` without any yields one from the model's own counts, if it gave some.
    pub(crate) fn finish_chunk(
        &mut self,
        events: &mut Vec<StreamEvent>,
        metrics: Option<&InvocationMetrics>,
        ended: bool,
        model_usage: Option<Usage>,
    ) {
        if let Some(metrics) = metrics {
            self.metadata_sent = true;
            events.push(StreamEvent::Metadata {
                usage: metrics.usage(model_usage),
                latency_ms: metrics.invocation_latency,
            });
        } else if ended
            && !self.metadata_sent
            && let Some(usage) = model_usage
        {
            self.metadata_sent = true;
            events.push(StreamEvent::Metadata { usage, latency_ms: None });
        }
    }
}

/// The events of a stream whose answer is one text block at index 0 (Titan Text, Llama): the
/// text as it comes, then the block's end and the stop, then the metadata.
#[derive(Debug, Default)]
pub(crate) struct TextBlockStream {
    progress: StreamProgress,
    text_started: bool,
}

impl TextBlockStream {
    /// The events of one chunk carrying `text`, the stop reason on the last chunk, Bedrock's
    /// `metrics` if the chunk has them, and the model's own `usage` so far.
    pub(crate) fn chunk(
        &mut self,
        text: String,
        stop: Option<StopReason>,
        metrics: Option<&InvocationMetrics>,
        usage: Option<Usage>,
    ) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        self.progress.start(&mut events);
        if !text.is_empty() {
            self.text_started = true;
            events.push(StreamEvent::ContentBlockDelta { index: 0, delta: Delta::Text { text } });
        }
        let ended = stop.is_some();
        if let Some(stop_reason) = stop {
            if self.text_started {
                events.push(StreamEvent::ContentBlockStop { index: 0 });
            }
            events.push(StreamEvent::MessageStop { stop_reason });
        }
        self.progress.finish_chunk(&mut events, metrics, ended, usage);
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_become_usage_and_keep_the_models_cache_counts() {
        let metrics: InvocationMetrics = serde_json::from_str(
            r#"{"inputTokenCount":12,"outputTokenCount":30,"invocationLatency":812,"firstByteLatency":301}"#,
        )
        .expect("metrics");
        let mut model = Usage::new(12, 30);
        model.cache_read_input_tokens = Some(100);
        let usage = metrics.usage(Some(model));
        assert_eq!((usage.input_tokens, usage.output_tokens, usage.total_tokens), (12, 30, 42));
        assert_eq!(usage.cache_read_input_tokens, Some(100));
        assert_eq!(usage.cache_write_input_tokens, None);
    }

    #[test]
    fn message_start_is_sent_once_and_metadata_falls_back_to_model_counts() {
        let mut progress = StreamProgress::default();
        let mut events = Vec::new();
        progress.start(&mut events);
        progress.start(&mut events);
        progress.finish_chunk(&mut events, None, false, Some(Usage::new(1, 1)));
        assert_eq!(events.len(), 1, "no metadata before the end: {events:?}");
        progress.finish_chunk(&mut events, None, true, Some(Usage::new(3, 4)));
        assert_eq!(events[1], StreamEvent::Metadata { usage: Usage::new(3, 4), latency_ms: None });
        progress.finish_chunk(&mut events, None, true, Some(Usage::new(3, 4)));
        assert_eq!(events.len(), 2, "fallback metadata is sent once: {events:?}");
    }
}
