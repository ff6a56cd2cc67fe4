//! Who may call the API: bearer API keys checked against SHA-256 hashes in constant time, or IAM,
//! where API Gateway's IAM authorizer has already verified the SigV4 signature.
//!
//! Never open: with API keys and no hash configured, every request is refused.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// A caller API Gateway's IAM authorizer has verified (its principal ARN). The Lambda entry point
/// adds it from the request context; requests without it are refused in IAM mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamCaller(pub String);

/// What went wrong loading credentials at start-up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("API key hash #{index} is not 64 hexadecimal characters (a SHA-256 digest)")]
    BadHash { index: usize },
    #[error("could not read the API key secret `{secret}`: {reason}")]
    Secret { secret: String, reason: String },
}

/// How requests are authenticated.
#[derive(Clone)]
pub enum Authenticator {
    /// Bearer keys whose SHA-256 digests are listed.
    ApiKeys(Vec<[u8; 32]>),
    /// API Gateway's IAM authorizer checked the caller.
    Iam,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authenticator::ApiKeys(keys) => write!(f, "ApiKeys({} keys)", keys.len()),
            Authenticator::Iam => f.write_str("Iam"),
        }
    }
}

impl Authenticator {
    /// API-key authentication from hex SHA-256 digests.
    pub fn api_keys<S: AsRef<str>>(hashes: &[S]) -> Result<Self, AuthError> {
        let digests = hashes
            .iter()
            .enumerate()
            .map(|(index, hash)| {
                let mut digest = [0_u8; 32];
                hex::decode_to_slice(hash.as_ref().trim(), &mut digest)
                    .map_err(|_| AuthError::BadHash { index })?;
                Ok(digest)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Authenticator::ApiKeys(digests))
    }

    /// Checks one request's credentials.
    pub fn check(&self, headers: &HeaderMap, iam: Option<&IamCaller>) -> Result<(), ApiError> {
        match self {
            Authenticator::Iam => match iam {
                Some(_) => Ok(()),
                None => Err(ApiError::unauthorized(
                    "this API uses IAM authorization: sign the request with SigV4 through API Gateway",
                )),
            },
            Authenticator::ApiKeys(digests) => {
                let key = presented_key(headers).ok_or_else(|| {
                    ApiError::unauthorized(
                        "missing API key: send `Authorization: Bearer <key>` (or `x-api-key: <key>`)",
                    )
                })?;
                let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
                // Compare against every digest without stopping early, so timing says nothing
                // about which (or whether any) key matched.
                let matched = digests.iter().fold(subtle::Choice::from(0), |found, digest| {
                    found | digest.ct_eq(&presented)
                });
                if bool::from(matched) {
                    Ok(())
                } else {
                    Err(ApiError::unauthorized("invalid API key"))
                }
            }
        }
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    bearer
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|key| !key.is_empty())
}

/// The lowercase hex SHA-256 of an API key: what quarry.toml and the secret store.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Parses the API-key secret: a JSON array of hex digests, or an object whose `api_key_sha256`
/// field is one.
pub fn hashes_from_secret(secret: &str, text: &str) -> Result<Vec<String>, AuthError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| AuthError::Secret {
        secret: secret.to_owned(),
        reason: format!("not JSON: {e}"),
    })?;
    let list = value.get("api_key_sha256").unwrap_or(&value);
    let hashes = list.as_array().ok_or_else(|| AuthError::Secret {
        secret: secret.to_owned(),
        reason: "expected a JSON array of hex SHA-256 digests (or {\"api_key_sha256\": [...]})"
            .into(),
    })?;
    hashes
        .iter()
        .map(|h| {
            h.as_str().map(str::to_owned).ok_or_else(|| AuthError::Secret {
                secret: secret.to_owned(),
                reason: "every entry must be a string".into(),
            })
        })
        .collect()
}

/// Loads the API-key digests from a Secrets Manager secret (at start-up, once).
pub async fn load_secret_hashes(
    client: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> Result<Vec<String>, AuthError> {
    let output =
        client.get_secret_value().secret_id(secret).send().await.map_err(|e| {
            AuthError::Secret { secret: secret.to_owned(), reason: aws_error_text(&e) }
        })?;
    let text = output.secret_string().ok_or_else(|| AuthError::Secret {
        secret: secret.to_owned(),
        reason: "the secret has no string value".into(),
    })?;
    hashes_from_secret(secret, text)
}

fn aws_error_text<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: &aws_sdk_secretsmanager::error::SdkError<E, R>,
) -> String {
    aws_sdk_secretsmanager::error::DisplayErrorContext(error).to_string()
}

/// Middleware: refuses requests without valid credentials.
pub async fn require_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let iam = request.extensions().get::<IamCaller>();
    match state.auth().check(request.headers(), iam) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
        headers
    }

    #[test]
    fn a_listed_key_passes_as_bearer_or_x_api_key_and_others_do_not() {
        let auth = Authenticator::api_keys(&[hash_api_key("other"), hash_api_key("secret-key")])
            .expect("hashes");
        assert!(auth.check(&headers("authorization", "Bearer secret-key"), None).is_ok());
        assert!(auth.check(&headers("x-api-key", "secret-key"), None).is_ok());
        let wrong = auth.check(&headers("authorization", "Bearer nope"), None).expect_err("wrong");
        assert_eq!(wrong.status, axum::http::StatusCode::UNAUTHORIZED);
        let missing = auth.check(&HeaderMap::new(), None).expect_err("missing");
        assert!(missing.message().contains("missing API key"));
    }

    #[test]
    fn with_no_keys_configured_everything_is_refused() {
        let auth = Authenticator::api_keys::<String>(&[]).expect("empty");
        assert!(auth.check(&headers("authorization", "Bearer anything"), None).is_err());
    }

    #[test]
    fn iam_mode_needs_the_caller_api_gateway_verified() {
        let auth = Authenticator::Iam;
        assert!(auth.check(&HeaderMap::new(), None).is_err());
        let caller = IamCaller("arn:aws:iam::123456789012:user/alice".into());
        assert!(auth.check(&HeaderMap::new(), Some(&caller)).is_ok());
    }

    #[test]
    fn bad_hashes_are_rejected_at_start_up() {
        let err = Authenticator::api_keys(&["abc"]).expect_err("short");
        assert!(err.to_string().contains("#0"));
    }

    #[test]
    fn secrets_hold_an_array_or_an_object_with_the_array() {
        let hash = hash_api_key("k");
        let array = format!("[\"{hash}\"]");
        let object = format!("{{\"api_key_sha256\": [\"{hash}\"]}}");
        assert_eq!(hashes_from_secret("s", &array).expect("array"), vec![hash.clone()]);
        assert_eq!(hashes_from_secret("s", &object).expect("object"), vec![hash]);
        assert!(hashes_from_secret("s", "not json").is_err());
        assert!(hashes_from_secret("s", "{\"keys\": 1}").is_err());
    }
}
