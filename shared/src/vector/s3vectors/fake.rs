//! A stateful, in-process stand-in for one S3 Vectors index, served through the SDK's HTTP client
//! seam: the real `aws-sdk-s3vectors` client serializes every call, this answers it from memory,
//! and the client deserializes the answer. It implements what quarry calls — PutVectors,
//! GetVectors, DeleteVectors, QueryVectors (REST-JSON `POST /<Operation>`) — with the documented
//! limits (S3 user guide "Limitations and restrictions": 500 vectors per PutVectors/DeleteVectors,
//! 100 keys per GetVectors, topK ≤ 100, 2 KB filterable / 40 KB total metadata per vector) and the
//! filter operators of "Metadata filtering" (`$eq` matching any element of a list, `$ne`, `$in`,
//! `$nin`, `$exists`, `$and`, `$or`; filtering on a non-filterable key is refused). Errors are
//! answered as the service does: status, `x-amzn-errortype` and a `{"message": …}` body.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_s3vectors::Client;
use aws_sdk_s3vectors::config::http::{HttpRequest, HttpResponse};
use aws_sdk_s3vectors::config::retry::RetryConfig;
use aws_sdk_s3vectors::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use serde_json::{Map, Value, json};

use super::NON_FILTERABLE_METADATA_KEYS;
use crate::config::DistanceMetric;

/// One stored vector.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StoredVector {
    pub data: Vec<f32>,
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Default)]
struct State {
    vectors: BTreeMap<String, StoredVector>,
    /// Every request: operation name and JSON body.
    requests: Vec<(String, Value)>,
    /// Fail the n-th (1-based) call of an operation with ServiceUnavailableException.
    fail: Option<(String, usize)>,
}

/// The fake index.
#[derive(Debug, Clone)]
pub(super) struct FakeIndex {
    dimension: usize,
    metric: DistanceMetric,
    state: Arc<Mutex<State>>,
}

/// An error answer.
struct Failure {
    status: u16,
    code: &'static str,
    message: String,
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure { status: 400, code: "ValidationException", message: message.into() }
}

impl FakeIndex {
    pub(super) fn new(dimension: usize, metric: DistanceMetric) -> Self {
        FakeIndex { dimension, metric, state: Arc::default() }
    }

    /// A client whose every call this index answers.
    pub(super) fn client(&self) -> Client {
        let config = aws_sdk_s3vectors::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .http_client(self.clone())
            .build();
        Client::from_conf(config)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake index lock")
    }

    /// Every stored vector, by key.
    pub(super) fn vectors(&self) -> BTreeMap<String, StoredVector> {
        self.state().vectors.clone()
    }

    /// The requests of `operation`, their JSON bodies in order.
    pub(super) fn requests(&self, operation: &str) -> Vec<Value> {
        self.state()
            .requests
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// Makes the `nth` (1-based, counting from now) call of `operation` fail with a 503.
    pub(super) fn fail_call(&self, operation: &str, nth: usize) {
        let mut state = self.state();
        let done = state.requests.iter().filter(|(op, _)| op == operation).count();
        state.fail = Some((operation.to_owned(), done + nth));
    }

    fn answer(&self, operation: &str, body: Value) -> Result<Value, Failure> {
        let mut state = self.state();
        state.requests.push((operation.to_owned(), body.clone()));
        let count = state.requests.iter().filter(|(op, _)| op == operation).count();
        if state.fail.as_ref().is_some_and(|(op, nth)| op == operation && *nth == count) {
            state.fail = None;
            return Err(Failure {
                status: 503,
                code: "ServiceUnavailableException",
                message: "injected failure".into(),
            });
        }
        for field in ["vectorBucketName", "indexName"] {
            if body.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(invalid(format!("{field} is required")));
            }
        }
        match operation {
            "PutVectors" => self.put(&mut state, &body),
            "GetVectors" => Self::get(&state, &body),
            "DeleteVectors" => Self::delete(&mut state, &body),
            "QueryVectors" => self.query(&state, &body),
            other => Err(Failure {
                status: 404,
                code: "UnknownOperationException",
                message: other.into(),
            }),
        }
    }

    fn put(&self, state: &mut State, body: &Value) -> Result<Value, Failure> {
        let vectors = body["vectors"].as_array().ok_or_else(|| invalid("vectors is required"))?;
        if vectors.is_empty() || vectors.len() > 500 {
            return Err(invalid(format!(
                "{} vectors: a PutVectors call takes 1 to 500",
                vectors.len()
            )));
        }
        let mut parsed = Vec::new();
        for vector in vectors {
            let key = vector["key"].as_str().ok_or_else(|| invalid("vector key is required"))?;
            let data = float32(&vector["data"])
                .ok_or_else(|| invalid(format!("{key}: data.float32 is required")))?;
            if data.len() != self.dimension {
                return Err(invalid(format!(
                    "{key}: {} dimensions, the index has {}",
                    data.len(),
                    self.dimension
                )));
            }
            let metadata = vector["metadata"].as_object().cloned().unwrap_or_default();
            check_metadata(key, &metadata)?;
            parsed.push((key.to_owned(), StoredVector { data, metadata }));
        }
        state.vectors.extend(parsed);
        Ok(json!({}))
    }

    fn get(state: &State, body: &Value) -> Result<Value, Failure> {
        let keys = keys(body, 100)?;
        let with_data = body["returnData"].as_bool().unwrap_or(false);
        let with_metadata = body["returnMetadata"].as_bool().unwrap_or(false);
        let found: Vec<Value> = keys
            .iter()
            .filter_map(|key| state.vectors.get(key).map(|v| (key, v)))
            .map(|(key, vector)| {
                let mut out = json!({ "key": key });
                if with_data {
                    out["data"] = json!({ "float32": vector.data });
                }
                if with_metadata {
                    out["metadata"] = Value::Object(vector.metadata.clone());
                }
                out
            })
            .collect();
        Ok(json!({ "vectors": found }))
    }

    fn delete(state: &mut State, body: &Value) -> Result<Value, Failure> {
        for key in keys(body, 500)? {
            state.vectors.remove(&key);
        }
        Ok(json!({}))
    }

    fn query(&self, state: &State, body: &Value) -> Result<Value, Failure> {
        let top_k = body["topK"].as_u64().ok_or_else(|| invalid("topK is required"))?;
        if !(1..=100).contains(&top_k) {
            return Err(invalid(format!("topK {top_k}: must be 1 to 100")));
        }
        let query = float32(&body["queryVector"])
            .ok_or_else(|| invalid("queryVector.float32 is required"))?;
        if query.len() != self.dimension {
            return Err(invalid(format!(
                "query has {} dimensions, the index has {}",
                query.len(),
                self.dimension
            )));
        }
        let mut scored = Vec::new();
        for (key, vector) in &state.vectors {
            let keep = match body.get("filter") {
                None | Some(Value::Null) => true,
                Some(filter) => matches(filter, &vector.metadata)?,
            };
            if keep {
                scored.push((self.distance(&query, &vector.data), key, vector));
            }
        }
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let with_metadata = body["returnMetadata"].as_bool().unwrap_or(false);
        let with_distance = body["returnDistance"].as_bool().unwrap_or(false);
        let vectors: Vec<Value> = scored
            .into_iter()
            .take(usize::try_from(top_k).unwrap_or(100))
            .map(|(distance, key, vector)| {
                let mut out = json!({ "key": key });
                if with_distance {
                    out["distance"] = json!(distance);
                }
                if with_metadata {
                    out["metadata"] = Value::Object(vector.metadata.clone());
                }
                out
            })
            .collect();
        Ok(json!({ "vectors": vectors, "distanceMetric": self.metric.as_str() }))
    }

    fn distance(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.metric {
            DistanceMetric::Cosine => {
                let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
                1.0 - dot / (norm(a) * norm(b))
            }
            DistanceMetric::Euclidean => {
                a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
            }
        }
    }
}

fn float32(data: &Value) -> Option<Vec<f32>> {
    data["float32"].as_array()?.iter().map(|v| v.as_f64().map(|f| f as f32)).collect()
}

fn keys(body: &Value, max: usize) -> Result<Vec<String>, Failure> {
    let keys: Vec<String> = body["keys"]
        .as_array()
        .ok_or_else(|| invalid("keys is required"))?
        .iter()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    if keys.is_empty() || keys.len() > max {
        return Err(invalid(format!("{} keys: the call takes 1 to {max}", keys.len())));
    }
    Ok(keys)
}

/// The documented per-vector metadata limits.
fn check_metadata(key: &str, metadata: &Map<String, Value>) -> Result<(), Failure> {
    if metadata.len() > 50 {
        return Err(invalid(format!("{key}: {} metadata keys, at most 50", metadata.len())));
    }
    let size = |entries: &mut dyn Iterator<Item = (&String, &Value)>| -> usize {
        entries.map(|(name, value)| name.len() + value.to_string().len()).sum()
    };
    let filterable = size(
        &mut metadata
            .iter()
            .filter(|(name, _)| !NON_FILTERABLE_METADATA_KEYS.contains(&name.as_str())),
    );
    if filterable > 2048 {
        return Err(invalid(format!(
            "{key}: {filterable} bytes of filterable metadata, at most 2 KB"
        )));
    }
    let total = size(&mut metadata.iter());
    if total > 40 * 1024 {
        return Err(invalid(format!("{key}: {total} bytes of metadata, at most 40 KB")));
    }
    Ok(())
}

/// Evaluates a metadata filter against one vector's metadata.
fn matches(filter: &Value, metadata: &Map<String, Value>) -> Result<bool, Failure> {
    let conditions = filter.as_object().ok_or_else(|| invalid("a filter is a JSON object"))?;
    for (name, condition) in conditions {
        let holds = match name.as_str() {
            "$and" | "$or" => {
                let parts = condition
                    .as_array()
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| invalid(format!("{name} takes a non-empty array")))?;
                let results = parts
                    .iter()
                    .map(|part| matches(part, metadata))
                    .collect::<Result<Vec<_>, _>>()?;
                if name == "$and" { results.iter().all(|r| *r) } else { results.iter().any(|r| *r) }
            }
            key => {
                if NON_FILTERABLE_METADATA_KEYS.contains(&key) {
                    return Err(invalid(format!("`{key}` is non-filterable metadata")));
                }
                field_matches(metadata.get(key), condition)?
            }
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

fn field_matches(value: Option<&Value>, condition: &Value) -> Result<bool, Failure> {
    let equals = |operand: &Value| match value {
        Some(Value::Array(items)) => items.contains(operand),
        Some(value) => value == operand,
        None => false,
    };
    let Some(operators) = condition.as_object() else {
        return Ok(equals(condition));
    };
    for (operator, operand) in operators {
        let holds = match operator.as_str() {
            "$eq" => equals(operand),
            "$ne" => !equals(operand),
            "$in" => {
                operand.as_array().ok_or_else(|| invalid("$in takes an array"))?.iter().any(equals)
            }
            "$nin" => !operand
                .as_array()
                .ok_or_else(|| invalid("$nin takes an array"))?
                .iter()
                .any(equals),
            "$exists" => {
                operand.as_bool().ok_or_else(|| invalid("$exists takes a boolean"))?
                    == value.is_some()
            }
            other => return Err(invalid(format!("unsupported operator {other}"))),
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

impl HttpConnector for FakeIndex {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request.uri().rsplit('/').next().unwrap_or_default().to_owned();
        let body: Value = serde_json::from_slice(request.body().bytes().unwrap_or_default())
            .unwrap_or(Value::Null);
        let (status, code, payload) = match self.answer(&operation, body) {
            Ok(payload) => (200, None, payload),
            Err(failure) => {
                (failure.status, Some(failure.code), json!({ "message": failure.message }))
            }
        };
        let mut response = HttpResponse::new(
            status.try_into().expect("a valid status"),
            SdkBody::from(serde_json::to_vec(&payload).expect("serialize the answer")),
        );
        response.headers_mut().insert("content-type", "application/json");
        if let Some(code) = code {
            response.headers_mut().insert("x-amzn-errortype", code);
        }
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for FakeIndex {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
