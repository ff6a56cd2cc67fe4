//! Observability: a request id on every request and answer, one JSON access-log line per request,
//! one log line per Bedrock call (model, tokens, latency, outcome — never the prompt unless
//! `log_prompts` is on), and CloudWatch embedded-metric-format (EMF) metrics per model.

use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use quarry::chat::{ChatRequest, Usage};
use serde_json::json;

/// The id of one request: Lambda's request id when running in Lambda, else a fresh UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The CloudWatch namespace quarry's metrics go to.
pub const METRICS_NAMESPACE: &str = "quarry";

/// Middleware: makes sure the request has a [`RequestId`], echoes it as `x-request-id`, and logs
/// the request's route, status and latency when it is answered.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = match request.extensions().get::<RequestId>() {
        Some(id) => id.clone(),
        None => {
            let id = RequestId(uuid::Uuid::new_v4().to_string());
            request.extensions_mut().insert(id.clone());
            id
        }
    };
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path().to_owned(), |p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert("x-request-id", value);
    }
    tracing::info!(
        request_id = %id.0,
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        latency_ms = millis(started.elapsed()),
        "request"
    );
    response
}

/// The outcome of one Bedrock call, logged and turned into metrics.
#[derive(Debug)]
pub struct CallRecord<'a> {
    pub request_id: &'a str,
    pub route: &'static str,
    /// The model id called.
    pub model: String,
    pub usage: Option<Usage>,
    pub latency: Duration,
    /// The HTTP status the caller got (or will get, for a stream's end).
    pub status: u16,
}

impl CallRecord<'_> {
    /// Logs the call and writes its EMF metrics line.
    pub fn emit(&self) {
        let usage = self.usage.unwrap_or_default();
        tracing::info!(
            request_id = %self.request_id,
            route = self.route,
            model = %self.model,
            input_tokens = usage.input_tokens,
            output_tokens = usage.output_tokens,
            latency_ms = millis(self.latency),
            status = self.status,
            "bedrock call"
        );
        let line = self.emf(SystemTime::now());
        let mut stdout = std::io::stdout().lock();
        // A metrics line lost to a closed stdout is not worth failing a request over.
        let _ = writeln!(stdout, "{line}");
    }

    /// The CloudWatch EMF document of this call: tokens, latency and errors per model (and per
    /// model and route).
    pub fn emf(&self, now: SystemTime) -> serde_json::Value {
        let usage = self.usage.unwrap_or_default();
        let timestamp = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        json!({
            "_aws": {
                "Timestamp": u64::try_from(timestamp).unwrap_or(u64::MAX),
                "CloudWatchMetrics": [{
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [["Model"], ["Model", "Route"]],
                    "Metrics": [
                        {"Name": "InputTokens", "Unit": "Count"},
                        {"Name": "OutputTokens", "Unit": "Count"},
                        {"Name": "Latency", "Unit": "Milliseconds"},
                        {"Name": "Errors", "Unit": "Count"},
                        {"Name": "Throttles", "Unit": "Count"}
                    ]
                }]
            },
            "Model": self.model,
            "Route": self.route,
            "InputTokens": usage.input_tokens,
            "OutputTokens": usage.output_tokens,
            "Latency": millis(self.latency),
            "Errors": u8::from(self.status >= 400 && self.status != 429),
            "Throttles": u8::from(self.status == 429),
            "RequestId": self.request_id,
        })
    }
}

/// Logs the prompt of a request when `log_prompts` is on (it is off by default: prompts may hold
/// personal or confidential data).
pub fn log_prompt(log_prompts: bool, request_id: &str, request: &ChatRequest) {
    if log_prompts {
        let prompt = serde_json::to_string(request).unwrap_or_default();
        tracing::info!(request_id = %request_id, prompt = %prompt, "prompt");
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_declares_its_metrics_and_carries_their_values_per_model() {
        let record = CallRecord {
            request_id: "r-1",
            route: "/v1/chat/completions",
            model: "amazon.nova-lite-v1:0".into(),
            usage: Some(Usage::new(12, 34)),
            latency: Duration::from_millis(250),
            status: 429,
        };
        let emf = record.emf(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_eq!(emf["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        let declared = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "quarry");
        for metric in declared["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("name");
            assert!(emf.get(name).is_some(), "{name} declared but missing");
        }
        for dimensions in declared["Dimensions"].as_array().expect("dimensions") {
            for dimension in dimensions.as_array().expect("set") {
                assert!(emf.get(dimension.as_str().expect("dim")).is_some());
            }
        }
        assert_eq!(emf["InputTokens"], 12);
        assert_eq!(emf["Throttles"], 1);
        assert_eq!(emf["Errors"], 0);
    }
}
