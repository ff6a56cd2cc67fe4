//! The local stack: quarry's HTTP API (the invoke function's axum Router, served by `axum::serve`)
//! and the local Bedrock endpoint it calls, started together on loopback in one process.
//!
//! The Router is exactly the one the invoke Lambda serves; only its Bedrock client differs: it is
//! pointed at the local endpoint, with dummy credentials (signatures are not checked), the
//! region of `quarry.toml` and the SDK's standard retries. It is built from the SDK's own config
//! builder — not from `~/.aws` or `AWS_*` variables — so a developer's AWS setup can never send
//! local traffic to AWS.
//!
//! On start the stack also writes `<data-dir>/invoke.env`: the invoke function's environment
//! (`QUARRY_*` from `quarry.toml`, AWS variables pointing at this stack's Bedrock endpoint), in the
//! `KEY=VALUE` lines `cargo lambda watch --env-file` reads, so the Lambda binary itself can be run
//! against the local stack with the sample events in `events/`.
//!
//! Authentication stays on: API keys, as deployed. The key given (`--api-key`), or one generated
//! for the run, is accepted, and so are the inline hashes of `auth.api_key_sha256`. The Secrets
//! Manager secret is not read locally, and IAM mode (which only API Gateway can check) is replaced
//! by the API key locally.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use quarry::config::{AuthConfig, QuarryConfig, StackResources};
use quarry_invoke::auth::{AuthError, hash_api_key};
use quarry_invoke::{AppState, Authenticator};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::bedrock::guardrail::LocalGuardrail;
use crate::bedrock::{BedrockConfig, CatalogSource, RunningServer, ServeError, serve};
use crate::faults::FaultConfig;

/// The API's port when none is given (`--api-port`).
pub const DEFAULT_API_PORT: u16 = 3000;

/// Where local state lives when no `--data-dir` is given (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = ".quarry";

/// The invoke function's environment file, in the data directory.
pub const INVOKE_ENV_FILE: &str = "invoke.env";

/// How long in-flight requests (a long stream, say) may run on after a shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Bucket names the local stack plays (in AWS, infra creates them).
const LOCAL_CATALOG_BUCKET: &str = "quarry-local-catalog";
const LOCAL_VECTOR_BUCKET: &str = "quarry-local-vectors";

/// How the local stack is set up.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The validated `quarry.toml`.
    pub config: QuarryConfig,
    /// The API's port on 127.0.0.1; 0 picks a free one.
    pub api_port: u16,
    /// The local Bedrock endpoint's port on 127.0.0.1; 0 picks a free one.
    pub bedrock_port: u16,
    /// The API key callers send; `None` generates one for this run.
    pub api_key: Option<String>,
    /// Where local state is kept (created if missing).
    pub data_dir: PathBuf,
    /// Faults the local Bedrock endpoint starts with.
    pub faults: FaultConfig,
}

impl StackOptions {
    /// The defaults around `config`: API on port 3000, Bedrock on a free port, a generated key,
    /// `.quarry/` for data, no faults.
    pub fn new(config: QuarryConfig) -> Self {
        StackOptions {
            config,
            api_port: DEFAULT_API_PORT,
            bedrock_port: 0,
            api_key: None,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            faults: FaultConfig::default(),
        }
    }
}

/// What can go wrong starting or stopping the local stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("could not create the data directory {}: {source}", path.display())]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("the API key is empty: give a non-empty key, or none to have one generated")]
    EmptyApiKey,
    #[error("auth.api_key_sha256 in quarry.toml: {0}")]
    KeyHash(#[from] AuthError),
    #[error("the local Bedrock endpoint: {0}")]
    Bedrock(#[from] ServeError),
    #[error("could not write the invoke function's environment to {}: {source}", path.display())]
    EnvFile { path: PathBuf, source: std::io::Error },
    #[error("could not listen on 127.0.0.1:{port} for the API: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("the API server failed: {0}")]
    Serve(std::io::Error),
    #[error("the API server task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Who may call the local API, and what of `quarry.toml`'s `[auth]` does not apply locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAuth {
    /// The key to send as `Authorization: Bearer <key>`.
    pub key: String,
    /// The key was generated for this run (none was given).
    pub generated: bool,
    /// The hex SHA-256 digests of every accepted key: `auth.api_key_sha256`'s, then the key's.
    pub accepted_sha256: Vec<String>,
    /// The Secrets Manager secret of the config, which is not read locally.
    pub unread_secret: Option<String>,
    /// `quarry.toml` asks for IAM, which only API Gateway checks: the API key is used instead.
    pub iam_replaced: bool,
}

impl LocalAuth {
    /// The keys accepted for `config`'s `[auth]` and the key given (or a generated one).
    pub fn resolve(config: &AuthConfig, key: Option<String>) -> Result<LocalAuth, StackError> {
        let (key, generated) = match key {
            Some(key) if key.trim().is_empty() => return Err(StackError::EmptyApiKey),
            Some(key) => (key.trim().to_owned(), false),
            None => (generate_key(), true),
        };
        let (mut accepted_sha256, unread_secret, iam_replaced) = match config {
            AuthConfig::ApiKeys { secret_name, key_sha256 } => {
                (key_sha256.clone(), secret_name.clone(), false)
            }
            AuthConfig::Iam => (Vec::new(), None, true),
        };
        // Checked here so a malformed inline hash is reported at start-up, by its index.
        Authenticator::api_keys(&accepted_sha256)?;
        accepted_sha256.push(hash_api_key(&key));
        Ok(LocalAuth { key, generated, accepted_sha256, unread_secret, iam_replaced })
    }

    /// How many of `auth.api_key_sha256`'s hashes are accepted besides the key.
    pub fn inline_hashes(&self) -> usize {
        self.accepted_sha256.len() - 1
    }

    /// The authenticator accepting exactly these keys.
    pub fn authenticator(&self) -> Result<Authenticator, StackError> {
        Ok(Authenticator::api_keys(&self.accepted_sha256)?)
    }
}

/// A fresh random key for one run: `qk-local-` and 32 hex digits (122 random bits).
fn generate_key() -> String {
    format!("qk-local-{}", uuid::Uuid::new_v4().simple())
}

/// The local stack, running. Dropping it stops both servers (without waiting for them).
#[derive(Debug)]
pub struct RunningStack {
    api_url: String,
    api_addr: SocketAddr,
    auth: LocalAuth,
    data_dir: PathBuf,
    invoke_env: PathBuf,
    config: QuarryConfig,
    bedrock: RunningServer,
    stop: Option<oneshot::Sender<()>>,
    api_task: JoinHandle<std::io::Result<()>>,
}

impl RunningStack {
    /// The API's base URL, e.g. `http://127.0.0.1:3000` (OpenAI clients take `<url>/v1`).
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The local Bedrock endpoint's URL (any AWS SDK can be pointed at it too).
    pub fn bedrock_url(&self) -> &str {
        self.bedrock.url()
    }

    /// The local Bedrock endpoint, e.g. to switch faults at run time.
    pub fn bedrock(&self) -> &RunningServer {
        &self.bedrock
    }

    /// Who may call the API.
    pub fn auth(&self) -> &LocalAuth {
        &self.auth
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The invoke function's environment file ([`INVOKE_ENV_FILE`] in the data directory).
    pub fn invoke_env_path(&self) -> &Path {
        &self.invoke_env
    }

    /// What a person reads on start: the URLs, the key, the models, and copy-paste examples
    /// (curl and the OpenAI Python SDK).
    pub fn banner(&self) -> String {
        let api = &self.api_url;
        let key = &self.auth.key;
        let models = &self.config.models;
        let model = models.default.to_string();
        let mut lines = vec![
            "quarry local stack".to_owned(),
            format!("  API:           {api}   (OpenAI-compatible base URL: {api}/v1)"),
            format!(
                "  Bedrock:       {}   (local stand-in for Amazon Bedrock, region {})",
                self.bedrock.url(),
                self.config.stack.region
            ),
            format!("  API key:       {key}"),
            format!("  Data:          {}", self.data_dir.display()),
            format!(
                "  Lambda env:    {}   (cargo lambda watch --env-file; see events/README.md)",
                self.invoke_env.display()
            ),
            format!(
                "  Models:        {} (default {model}); embeddings: {}",
                models.allowed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                self.config.embedding.model_id
            ),
        ];
        if self.auth.generated {
            lines.push(
                "  The key was generated for this run; pass --api-key (or QUARRY_API_KEY) to keep one."
                    .to_owned(),
            );
        }
        if self.auth.inline_hashes() > 0 {
            lines.push(format!(
                "  Keys matching the {} hash(es) of auth.api_key_sha256 in quarry.toml work too.",
                self.auth.inline_hashes()
            ));
        }
        if let Some(secret) = &self.auth.unread_secret {
            lines.push(format!(
                "  The secret `{secret}` (auth.secret_name) is not read locally: its keys do not work here."
            ));
        }
        if self.auth.iam_replaced {
            lines.push(
                "  quarry.toml uses IAM auth, which only API Gateway checks: locally, send the API key."
                    .to_owned(),
            );
        }
        lines.push(String::new());
        lines.push("Chat with curl:".to_owned());
        lines.push(format!(
            "  curl {api}/v1/chat/completions \\\n    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n    -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"system\", \"content\": \"The office opens at 9am. Parking is free for visitors.\"}}, {{\"role\": \"user\", \"content\": \"When does the office open?\"}}]}}'"
        ));
        lines.push(String::new());
        lines.push("With the OpenAI Python SDK (pip install openai):".to_owned());
        lines.push(format!(
            "  from openai import OpenAI\n  client = OpenAI(base_url=\"{api}/v1\", api_key=\"{key}\")\n  answer = client.chat.completions.create(\n      model=\"{model}\",\n      messages=[\n          {{\"role\": \"system\", \"content\": \"The office opens at 9am. Parking is free for visitors.\"}},\n          {{\"role\": \"user\", \"content\": \"Is parking free?\"}},\n      ],\n  )\n  print(answer.choices[0].message.content)"
        ));
        lines.push(String::new());
        lines.push("Ctrl-C stops the stack.".to_owned());
        lines.join("\n")
    }

    /// Stops both servers: the API first (in-flight requests get [`SHUTDOWN_GRACE`] to finish,
    /// then are cut), then the Bedrock endpoint it was calling.
    pub async fn shutdown(mut self) -> Result<(), StackError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let api = match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.api_task).await {
            Ok(result) => {
                result.map_err(StackError::from).and_then(|r| r.map_err(StackError::Serve))
            }
            Err(_) => {
                tracing::warn!(
                    "requests still running {}s after shutdown was asked for; cutting them",
                    SHUTDOWN_GRACE.as_secs()
                );
                self.api_task.abort();
                Ok(())
            }
        };
        let bedrock = match tokio::time::timeout(SHUTDOWN_GRACE, self.bedrock.shutdown()).await {
            Ok(result) => result.map_err(StackError::from),
            Err(_) => {
                tracing::warn!("the local Bedrock endpoint did not stop in time; leaving it");
                Ok(())
            }
        };
        api.and(bedrock)
    }
}

/// Starts the local Bedrock endpoint and the API on loopback, in the background of the current
/// Tokio runtime, and returns once both listen.
pub async fn start(options: StackOptions) -> Result<RunningStack, StackError> {
    let StackOptions { config, api_port, bedrock_port, api_key, data_dir, faults } = options;
    std::fs::create_dir_all(&data_dir)
        .map_err(|source| StackError::DataDir { path: data_dir.clone(), source })?;
    let auth = LocalAuth::resolve(&config.auth, api_key)?;
    let authenticator = auth.authenticator()?;

    let region = config.stack.region.clone();
    let mut guardrails = vec![LocalGuardrail::demo()];
    if let Some(configured) = &config.guardrail {
        // The configured guardrail exists locally too, with the demo guardrail's policies.
        let id =
            configured.id.rsplit_once(":guardrail/").map_or(configured.id.as_str(), |(_, id)| id);
        if id != LocalGuardrail::demo().id {
            guardrails.push(LocalGuardrail { id: id.to_owned(), ..LocalGuardrail::demo() });
        }
    }
    let bedrock = serve(BedrockConfig {
        port: bedrock_port,
        faults,
        guardrails,
        catalog: CatalogSource::new(region.clone(), None),
    })
    .await?;

    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, api_port))
        .await
        .map_err(|source| StackError::Bind { port: api_port, source })?;
    let api_addr =
        listener.local_addr().map_err(|source| StackError::Bind { port: api_port, source })?;

    let mut settings = config.invoke_settings(&StackResources {
        catalog_bucket: LOCAL_CATALOG_BUCKET.to_owned(),
        vector_bucket: LOCAL_VECTOR_BUCKET.to_owned(),
    });
    // What is really checked locally: the key's hash and the inline hashes, no secret.
    settings.auth =
        AuthConfig::ApiKeys { secret_name: None, key_sha256: auth.accepted_sha256.clone() };
    let invoke_env = data_dir.join(INVOKE_ENV_FILE);
    write_env_file(&invoke_env, &lambda_env(&settings.to_env(), bedrock.url(), &region))?;
    let client = bedrock_client(bedrock.url(), &region);
    let router = quarry_invoke::app(AppState::new(client, settings, authenticator));

    let (stop, stopped) = oneshot::channel::<()>();
    let api_task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(api = %api_addr, bedrock = bedrock.url(), "local stack listening");
    Ok(RunningStack {
        api_url: format!("http://{api_addr}"),
        api_addr,
        auth,
        data_dir,
        invoke_env,
        config,
        bedrock,
        stop: Some(stop),
        api_task,
    })
}

/// The invoke function's environment against this stack: its `QUARRY_*` variables, the local
/// Bedrock endpoint with dummy credentials, and the request path without API Gateway's stage
/// (lambda_http puts `/<stage>` in front of REST API paths unless told not to).
pub fn lambda_env(
    quarry_env: &BTreeMap<String, String>,
    bedrock_url: &str,
    region: &str,
) -> BTreeMap<String, String> {
    let mut vars = quarry_env.clone();
    for (name, value) in [
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock_url),
        ("AWS_REGION", region),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true"),
    ] {
        vars.insert(name.to_owned(), value.to_owned());
    }
    vars
}

/// Writes `KEY=VALUE` lines through a temporary file and a rename (never seen half written).
fn write_env_file(path: &Path, vars: &BTreeMap<String, String>) -> Result<(), StackError> {
    let text: String = vars.iter().map(|(name, value)| format!("{name}={value}\n")).collect();
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| StackError::EnvFile { path: path.to_owned(), source })
}

/// A Bedrock runtime client for the local endpoint at `endpoint`: dummy credentials, `region`,
/// standard retries — and nothing from the environment or `~/.aws`.
pub fn bedrock_client(endpoint: &str, region: &str) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("local", "local", None, None, "quarry-local"))
        .retry_config(RetryConfig::standard())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn bearer(key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {key}").parse().expect("header value"));
        headers
    }

    fn api_keys(secret: Option<&str>, hashes: &[String]) -> AuthConfig {
        AuthConfig::ApiKeys { secret_name: secret.map(str::to_owned), key_sha256: hashes.to_vec() }
    }

    #[test]
    fn the_given_key_and_the_inline_hashes_pass_and_the_secret_is_reported_unread() {
        let config = api_keys(Some("quarry/api-keys"), &[hash_api_key("team-key")]);
        let auth = LocalAuth::resolve(&config, Some("my-key".into())).expect("resolve");
        let authenticator = auth.authenticator().expect("authenticator");
        assert_eq!(auth.key, "my-key");
        assert!(!auth.generated);
        assert_eq!(auth.inline_hashes(), 1);
        assert_eq!(auth.unread_secret.as_deref(), Some("quarry/api-keys"));
        assert!(authenticator.check(&bearer("my-key"), None).is_ok());
        assert!(authenticator.check(&bearer("team-key"), None).is_ok());
        assert!(authenticator.check(&bearer("other"), None).is_err());
    }

    #[test]
    fn without_a_key_a_fresh_random_one_is_generated_and_accepted() {
        let config = api_keys(None, &[]);
        let first = LocalAuth::resolve(&config, None).expect("resolve");
        let second = LocalAuth::resolve(&config, None).expect("resolve");
        let authenticator = first.authenticator().expect("authenticator");
        assert!(first.generated);
        assert!(first.key.starts_with("qk-local-") && first.key.len() == 9 + 32, "{}", first.key);
        assert_ne!(first.key, second.key);
        assert!(authenticator.check(&bearer(&first.key), None).is_ok());
        assert!(authenticator.check(&bearer(&second.key), None).is_err());
    }

    #[test]
    fn iam_mode_is_replaced_by_the_key_locally_and_empty_keys_are_refused() {
        let auth = LocalAuth::resolve(&AuthConfig::Iam, Some("k".into())).expect("resolve");
        let authenticator = auth.authenticator().expect("authenticator");
        assert!(auth.iam_replaced);
        assert!(authenticator.check(&bearer("k"), None).is_ok());
        let error = LocalAuth::resolve(&AuthConfig::Iam, Some("  ".into())).expect_err("empty");
        assert!(matches!(error, StackError::EmptyApiKey));
    }

    #[test]
    fn a_malformed_inline_hash_is_reported_against_quarry_toml() {
        let error = LocalAuth::resolve(&api_keys(None, &["abc".into()]), Some("k".into()))
            .expect_err("bad hash");
        let message = error.to_string();
        assert!(message.contains("auth.api_key_sha256") && message.contains("#0"), "{message}");
    }
}
