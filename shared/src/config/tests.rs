//! Tests of `quarry.toml` parsing, validation and the environment contract.

use super::*;

/// The repository's example configuration.
const REPO_CONFIG: &str = include_str!("../../../quarry.toml");

/// The smallest valid configuration: only the required fields.
const MINIMAL: &str = r#"
[stack]
name = "quarry-dev"
region = "eu-central-1"

[models]
chat = ["eu.anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.nova-pro-v1:0"]

[embedding]
model = "cohere.embed-multilingual-v3"
"#;

fn id(text: &str) -> ModelId {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn parse(text: &str) -> QuarryConfig {
    QuarryConfig::from_toml_str(text).unwrap_or_else(|e| panic!("{e}"))
}

/// The repository config with its commented-out settings (`#key = value`, `#[section]`) enabled.
fn repo_config_with_every_option() -> String {
    REPO_CONFIG
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '[') => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with `key = …` under `[section]` replaced by `key = value` (added if absent).
fn with(text: &str, section: &str, key: &str, value: &str) -> String {
    let header = format!("[{section}]");
    let mut out = Vec::new();
    let mut in_section = false;
    let mut done = false;
    for line in text.lines() {
        if line.starts_with('[') {
            if in_section && !done {
                out.push(format!("{key} = {value}"));
                done = true;
            }
            in_section = line.trim() == header;
        }
        if in_section && line.split('=').next().is_some_and(|k| k.trim() == key) {
            out.push(format!("{key} = {value}"));
            done = true;
            continue;
        }
        out.push(line.to_owned());
    }
    if !done {
        if !in_section {
            out.push(header);
        }
        out.push(format!("{key} = {value}"));
    }
    out.join("\n")
}

/// The problems validation reports for `text`, as `field: problem` lines.
fn problems(text: &str) -> Vec<String> {
    match QuarryConfig::from_toml_str(text) {
        Ok(_) => vec![],
        Err(e) => {
            let problems: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
            assert!(!problems.is_empty(), "expected rule violations, got: {e}");
            problems
        }
    }
}

fn resources() -> StackResources {
    StackResources {
        catalog_bucket: "quarry-catalog-123456789012-us-east-1".to_owned(),
        vector_bucket: "quarry-vectors-123456789012-us-east-1".to_owned(),
    }
}

fn lookup(vars: &BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> + '_ {
    |name| vars.get(name).cloned()
}

fn env_problem(error: ConfigError) -> (&'static str, String) {
    match error {
        ConfigError::Env { var, problem } => (var, problem),
        other => panic!("expected an environment error, got {other:?}"),
    }
}

#[test]
fn the_repository_config_is_valid_and_complete() {
    let config = parse(REPO_CONFIG);
    assert_eq!(config.stack, StackConfig { name: "quarry".into(), region: "us-east-1".into() });
    assert_eq!(
        config.models.allowed,
        vec![
            id("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            id("amazon.nova-lite-v1:0"),
            id("meta.llama3-1-8b-instruct-v1:0"),
        ]
    );
    assert_eq!(config.models.default, id("amazon.nova-lite-v1:0"));
    assert_eq!(config.models.aliases["fast"], id("amazon.nova-lite-v1:0"));
    assert_eq!(
        config.models.price(&id("us.anthropic.claude-3-5-haiku-20241022-v1:0")),
        Some(&ModelPrice { input_per_1k_tokens: 0.0008, output_per_1k_tokens: 0.004 })
    );
    assert_eq!(config.embedding.model, EmbeddingModel::TitanTextV2);
    assert_eq!(config.embedding.dimensions, 1024);
    assert_eq!(config.catalog.schedule.as_str(), "rate(1 day)");
    assert_eq!(config.auth.secret_name(), Some("quarry/api-keys"));
    assert_eq!(config.guardrail, None);
    assert!(!config.log_prompts);
}

#[test]
fn the_repository_configs_commented_out_options_are_valid_too() {
    let config = parse(&repo_config_with_every_option());
    assert_eq!(
        config.guardrail,
        Some(GuardrailConfig { id: "gr1abc2def3g".into(), version: "1".into() })
    );
    let AuthConfig::ApiKeys { secret_name, key_sha256 } = &config.auth else {
        panic!("api_keys mode expected, got {:?}", config.auth);
    };
    assert_eq!(secret_name.as_deref(), Some("quarry/api-keys"));
    assert_eq!(key_sha256.len(), 1);
}

#[test]
fn the_repository_config_writes_its_defaults_out() {
    // Every value the example shows equals the default a config without it gets, so the
    // example documents the defaults truthfully.
    let repo = parse(REPO_CONFIG);
    let minimal = parse(
        r#"
[stack]
name = "quarry"
region = "us-east-1"
[models]
chat = ["amazon.nova-lite-v1:0"]
[embedding]
model = "amazon.titan-embed-text-v2:0"
[auth]
secret_name = "quarry/api-keys"
"#,
    );
    assert_eq!(repo.embedding, minimal.embedding);
    assert_eq!(repo.vector_store, minimal.vector_store);
    assert_eq!(repo.catalog, minimal.catalog);
    assert_eq!(repo.functions, minimal.functions);
    assert_eq!(repo.auth, minimal.auth);
    assert_eq!(repo.ingest, minimal.ingest);
    assert_eq!(repo.limits, minimal.limits);
    assert_eq!(repo.api, minimal.api);
    assert_eq!(repo.log_retention_days, minimal.log_retention_days);
    assert_eq!(repo.log_prompts, minimal.log_prompts);
}

#[test]
fn only_stack_models_and_embedding_are_required() {
    let config = parse(MINIMAL);
    assert_eq!(config.models.default, id("eu.anthropic.claude-3-5-sonnet-20240620-v1:0"));
    assert!(config.models.aliases.is_empty() && config.models.prices.is_empty());
    assert_eq!(config.embedding.model, EmbeddingModel::CohereMultilingualV3);
    assert_eq!(config.embedding.dimensions, 1024);
    assert_eq!(
        config.vector_store,
        VectorStoreConfig { index_name: "quarry-docs".into(), metric: DistanceMetric::Cosine }
    );
    assert_eq!(config.catalog.schedule.interval(), Some(std::time::Duration::from_secs(86_400)));
    assert_eq!(config.catalog.key, "catalog/models.json");
    assert_eq!(config.catalog.cache_ttl_seconds, 300);
    assert_eq!(config.functions.invoke, FunctionConfig { memory_mb: 512, timeout_seconds: 300 });
    assert_eq!(config.functions.ingest, FunctionConfig { memory_mb: 1024, timeout_seconds: 300 });
    assert_eq!(
        config.functions.catalog_sync,
        FunctionConfig { memory_mb: 256, timeout_seconds: 60 }
    );
    assert_eq!(
        config.auth,
        AuthConfig::ApiKeys { secret_name: Some("quarry-dev/api-keys".into()), key_sha256: vec![] }
    );
    assert_eq!(config.log_retention_days, 30);
    assert_eq!(config.ingest, IngestLimits::default());
    assert_eq!(config.limits, InvokeLimits { max_body_bytes: 1_048_576, max_compare_models: 4 });
    assert_eq!(config.api, ApiConfig { rate_limit_per_second: 50, burst_limit: 100 });
    assert!(!config.log_prompts);
    assert_eq!(config.guardrail, None);
}

#[test]
fn api_throttling_is_read_and_bounded_by_api_gateways_quotas() {
    let config = parse(&with(MINIMAL, "api", "burst_limit", "20"));
    assert_eq!(config.api, ApiConfig { rate_limit_per_second: 50, burst_limit: 20 });
    let text =
        with(&with(MINIMAL, "api", "rate_limit_per_second", "0"), "api", "burst_limit", "5001");
    assert_eq!(
        problems(&text),
        vec![
            "api.rate_limit_per_second: must be between 1 and 10000, got 0".to_owned(),
            "api.burst_limit: must be between 1 and 5000, got 5001".to_owned(),
        ]
    );
}

#[test]
fn a_function_section_overrides_only_the_keys_it_names() {
    let config = parse(&with(MINIMAL, "functions.ingest", "memory_mb", "2048"));
    assert_eq!(config.functions.ingest, FunctionConfig { memory_mb: 2048, timeout_seconds: 300 });
    assert_eq!(config.functions.invoke, FunctionConfig { memory_mb: 512, timeout_seconds: 300 });
}

#[test]
fn typos_are_errors_with_line_and_column() {
    let text = MINIMAL.replace("region = \"eu-central-1\"", "regoin = \"eu-central-1\"");
    let err = QuarryConfig::from_toml_str(&text).expect_err("unknown key");
    let message = err.to_string();
    assert!(matches!(err, ConfigError::Syntax(_)), "{err:?}");
    assert!(message.contains("line 4, column 1"), "{message}");
    assert!(message.contains("unknown field `regoin`"), "{message}");

    let text = with(MINIMAL, "limits", "max_body_byte", "10");
    let message = QuarryConfig::from_toml_str(&text).expect_err("unknown key").to_string();
    assert!(message.contains("unknown field `max_body_byte`"), "{message}");
}

#[test]
fn toml_syntax_and_type_errors_carry_the_position() {
    let text = MINIMAL.replace("name = \"quarry-dev\"", "name = quarry-dev");
    let message = QuarryConfig::from_toml_str(&text).expect_err("bare string").to_string();
    assert!(message.contains("line 3, column 8"), "{message}");

    let text = with(MINIMAL, "functions.invoke", "memory_mb", "\"lots\"");
    let message = QuarryConfig::from_toml_str(&text).expect_err("string memory").to_string();
    assert!(message.contains("invalid type: string \"lots\""), "{message}");
    assert!(message.contains("line 12"), "{message}");

    let text = MINIMAL.replace("[embedding]\nmodel = \"cohere.embed-multilingual-v3\"\n", "");
    let message = QuarryConfig::from_toml_str(&text).expect_err("no embedding").to_string();
    assert!(message.contains("missing field `embedding`"), "{message}");
}

#[test]
fn range_errors_name_the_field_and_the_value() {
    let cases = [
        (
            "functions.invoke",
            "memory_mb",
            "64",
            "functions.invoke.memory_mb: must be between 128 and 10240, got 64",
        ),
        (
            "functions.catalog_sync",
            "timeout_seconds",
            "901",
            "functions.catalog_sync.timeout_seconds: must be between 1 and 900, got 901",
        ),
        (
            "catalog",
            "cache_ttl_seconds",
            "0",
            "catalog.cache_ttl_seconds: must be between 1 and 86400, got 0",
        ),
        (
            "limits",
            "max_body_bytes",
            "10485760",
            "limits.max_body_bytes: must be between 1024 and 6291456, got 10485760",
        ),
        (
            "limits",
            "max_compare_models",
            "0",
            "limits.max_compare_models: must be between 1 and 10, got 0",
        ),
        (
            "ingest",
            "max_concurrency",
            "100",
            "ingest.max_concurrency: must be between 1 and 64, got 100",
        ),
    ];
    for (section, key, value, expected) in cases {
        assert_eq!(problems(&with(MINIMAL, section, key, value)), vec![expected.to_owned()]);
    }
}

#[test]
fn model_list_errors_name_the_entry() {
    let text = MINIMAL.replace(
        r#"chat = ["eu.anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.nova-pro-v1:0"]"#,
        r#"chat = ["amazon.nova-pro-v1:0", "amazon.titan-embed-text-v2:0", "claude-3", "amazon.nova-pro-v1:0", "us.amazon.nova-lite-v1:0", "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0"]"#,
    );
    let found = problems(&text);
    assert_eq!(found.len(), 5, "{found:#?}");
    assert_eq!(
        found[0],
        "models.chat[1]: `amazon.titan-embed-text-v2:0` is an embedding model; set it as embedding.model instead"
    );
    assert!(
        found[1].starts_with("models.chat[2]: `claude-3` is not a Bedrock model id: there is no `.` between provider and model name"),
        "{}",
        found[1]
    );
    assert_eq!(
        found[2],
        "models.chat[3]: `amazon.nova-pro-v1:0` is listed twice (also models.chat[0])"
    );
    assert!(
        found[3].starts_with("models.chat[4]: `us.amazon.nova-lite-v1:0` is a `us.` cross-region inference profile, which cannot be called from eu-central-1"),
        "{}",
        found[3]
    );
    assert!(
        found[4].starts_with("models.chat[5]: `arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0` is in region us-west-2, but the stack deploys to eu-central-1"),
        "{}",
        found[4]
    );

    let empty = MINIMAL.replace(
        r#"["eu.anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.nova-pro-v1:0"]"#,
        "[]",
    );
    assert_eq!(problems(&empty), vec!["models.chat: list at least one chat model id".to_owned()]);
}

#[test]
fn default_aliases_and_prices_must_name_allowed_models() {
    let text = format!(
        r#"{MINIMAL}
[models.aliases]
big = "amazon.nova-premier-v1:0"
"amazon.nova-pro-v1:0" = "amazon.nova-pro-v1:0"
"bad alias" = "amazon.nova-pro-v1:0"
pro = "amazon.nova-pro-v1:0"

[models.prices."amazon.nova-micro-v1:0"]
input_per_1k_tokens = 0.000035
output_per_1k_tokens = 0.00014

[models.prices."amazon.nova-pro-v1:0"]
input_per_1k_tokens = -0.0008
output_per_1k_tokens = 0.0032
"#
    )
    .replace("[models]\n", "[models]\ndefault = \"amazon.nova-lite-v1:0\"\n");
    assert_eq!(
        problems(&text),
        vec![
            "models.default: `amazon.nova-lite-v1:0` is not in models.chat; add it there first",
            "models.aliases.\"amazon.nova-pro-v1:0\": alias `amazon.nova-pro-v1:0` is itself an allowed model id; pick another name",
            "models.aliases.\"bad alias\": alias `bad alias` must be 1 to 64 characters of letters, digits, `.`, `_`, `:` and `-`",
            "models.aliases.big: `amazon.nova-premier-v1:0` is not in models.chat; add it there first",
            "models.prices.\"amazon.nova-micro-v1:0\": `amazon.nova-micro-v1:0` is not in models.chat; add it there first",
            "models.prices.\"amazon.nova-pro-v1:0\".input_per_1k_tokens: must be a price in USD of 0 or more, got -0.0008",
        ]
    );
}

#[test]
fn embedding_errors_name_the_field() {
    let text = with(MINIMAL, "embedding", "dimensions", "512");
    let found = problems(&text);
    assert_eq!(
        found,
        vec![
            "embedding.dimensions: cohere.embed-multilingual-v3 cannot produce 512-dimensional embeddings; supported: [1024]"
        ]
    );
    let text = with(MINIMAL, "embedding", "model", "\"amazon.nova-pro-v1:0\"");
    let found = problems(&text);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("embedding.model: "), "{}", found[0]);
    assert!(found[0].contains("amazon.titan-embed-text-v2:0"), "lists supported: {}", found[0]);
    // A chunk longer than the model embeds.
    let text = with(MINIMAL, "ingest", "chunk_chars", "3000");
    assert_eq!(
        problems(&text),
        vec![
            "ingest.chunk_chars: must be between 100 and 2048, got 3000 (cohere.embed-multilingual-v3 embeds at most 2048 characters per text)"
        ]
    );
}

#[test]
fn ingest_limits_are_checked_against_each_other_and_memory() {
    let text = with(MINIMAL, "ingest", "chunk_overlap_chars", "2000");
    assert_eq!(
        problems(&text),
        vec!["ingest.chunk_overlap_chars: must be less than chunk_chars (2000), got 2000"]
    );
    let text = with(
        &with(MINIMAL, "functions.ingest", "memory_mb", "128"),
        "ingest",
        "max_document_bytes",
        "209715200",
    );
    assert_eq!(
        problems(&text),
        vec![
            "ingest.max_document_bytes: 209715200 bytes does not fit in the ingest function's 128 MB of memory (functions.ingest.memory_mb)"
        ]
    );
}

#[test]
fn stack_vector_catalog_and_log_errors_name_the_field() {
    let text = MINIMAL.replace("quarry-dev", "quarry_dev").replace("eu-central-1", "europe");
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("stack.name: `quarry_dev` is not a CloudFormation stack name"));
    assert_eq!(found[1], "stack.region: `europe` is not an AWS region name like `us-east-1`");

    let text = with(MINIMAL, "vector_store", "index_name", "\"Docs\"");
    assert!(problems(&text)[0].starts_with("vector_store.index_name: `Docs` must be 3 to 63"));
    let text = with(MINIMAL, "vector_store", "metric", "\"dot\"");
    let message = QuarryConfig::from_toml_str(&text).expect_err("metric").to_string();
    assert!(
        message.contains("unknown variant `dot`, expected `cosine` or `euclidean`"),
        "{message}"
    );

    let text = with(MINIMAL, "catalog", "schedule", "\"rate(1 days)\"");
    assert_eq!(
        problems(&text),
        vec![
            "catalog.schedule: `rate(1 days)`: the unit must be singular for 1 (`rate(1 day)`, `rate(2 days)`)"
        ]
    );
    let text = with(MINIMAL, "catalog", "key", "\"/models.json\"");
    assert!(problems(&text)[0].starts_with("catalog.key: `/models.json` starts with `/`"));

    let text = format!("log_retention_days = 10\n{MINIMAL}");
    assert!(
        problems(&text)[0]
            .starts_with("log_retention_days: CloudWatch Logs keeps logs for one of 1, 3, 5")
    );
}

#[test]
fn auth_rules() {
    let iam = parse(&with(MINIMAL, "auth", "mode", "\"iam\""));
    assert_eq!(iam.auth, AuthConfig::Iam);
    assert_eq!(iam.auth.secret_name(), None);

    let text = with(&with(MINIMAL, "auth", "mode", "\"iam\""), "auth", "secret_name", "\"x\"");
    assert_eq!(
        problems(&text),
        vec!["auth.secret_name: is only used with auth.mode = \"api_keys\""]
    );

    // Inline hashes alone: no secret (so infra grants no secretsmanager access); hashes lowercased.
    let hash = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
    let inline = parse(&with(MINIMAL, "auth", "api_key_sha256", &format!("[\"{hash}\"]")));
    assert_eq!(
        inline.auth,
        AuthConfig::ApiKeys { secret_name: None, key_sha256: vec![hash.to_ascii_lowercase()] }
    );

    let text = with(MINIMAL, "auth", "api_key_sha256", "[\"sk-live-abc\"]");
    let found = problems(&text);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("auth.api_key_sha256[0]: expected the 64 hexadecimal characters"));
    assert!(!found[0].contains("sk-live-abc"), "a pasted key must not be echoed");

    let text = with(MINIMAL, "auth", "secret_name", "\"api keys\"");
    assert!(
        problems(&text)[0]
            .starts_with("auth.secret_name: `api keys` is not a Secrets Manager secret name")
    );

    let text = with(MINIMAL, "auth", "mode", "\"none\"");
    let message = QuarryConfig::from_toml_str(&text).expect_err("mode").to_string();
    assert!(message.contains("unknown variant `none`, expected `api_keys` or `iam`"), "{message}");
}

#[test]
fn guardrail_rules() {
    let numbered = parse(&format!("{MINIMAL}\n[guardrail]\nid = \"abc123\"\nversion = 3\n"));
    assert_eq!(
        numbered.guardrail,
        Some(GuardrailConfig { id: "abc123".into(), version: "3".into() })
    );
    let found =
        problems(&format!("{MINIMAL}\n[guardrail]\nid = \"My Guardrail\"\nversion = \"latest\"\n"));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("guardrail.id: `My Guardrail` is not a guardrail identifier"));
    assert!(found[1].starts_with("guardrail.version: `latest` is not a guardrail version"));
}

#[test]
fn every_problem_is_reported_at_once_one_per_line() {
    let text = with(
        &with(MINIMAL, "functions.invoke", "memory_mb", "64"),
        "limits",
        "max_compare_models",
        "11",
    );
    let err = QuarryConfig::from_toml_str(&text).expect_err("two problems");
    assert_eq!(
        err.to_string(),
        "functions.invoke.memory_mb: must be between 128 and 10240, got 64\n\
limits.max_compare_models: must be between 1 and 10, got 11"
    );
}

#[test]
fn from_path_names_the_file() {
    let dir = std::env::temp_dir().join(format!("quarry-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("quarry.toml");
    std::fs::write(&path, with(MINIMAL, "functions.invoke", "memory_mb", "64")).expect("write");
    let err = QuarryConfig::from_path(&path).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: functions.invoke.memory_mb: must be between 128 and 10240, got 64",
            path.display()
        )
    );
    assert_eq!(err.problems().len(), 1);
    std::fs::write(&path, MINIMAL).expect("write");
    assert_eq!(QuarryConfig::from_path(&path).expect("valid"), parse(MINIMAL));
    std::fs::remove_dir_all(&dir).expect("clean up");

    let missing = dir.join("nope.toml");
    let err = QuarryConfig::from_path(&missing).expect_err("missing");
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("cannot read {}: ", missing.display())));
}

#[test]
fn the_allowlist_and_prices_come_from_the_models_section() {
    let config = parse(REPO_CONFIG);
    let allowlist = config.models.allowlist();
    let fast =
        allowlist.resolve("fast", crate::model::known_without_catalog).expect("alias resolves");
    assert_eq!(fast.id, id("amazon.nova-lite-v1:0"));
    let default = allowlist.resolve("", crate::model::known_without_catalog).expect("default");
    assert_eq!(default.id, config.models.default);
    let price = config.models.price(&fast.id).expect("priced");
    // 1,000 input + 2,000 output tokens of Nova Lite: 0.00006 + 2 × 0.00024 USD.
    assert!((price.cost_usd(1_000, 2_000) - 0.00054).abs() < 1e-12);
}

// ---- The environment contract -------------------------------------------------------------

#[test]
fn invoke_settings_round_trip_through_the_environment() {
    for text in [REPO_CONFIG.to_owned(), repo_config_with_every_option(), MINIMAL.to_owned()] {
        let settings = parse(&text).invoke_settings(&resources());
        let vars = settings.to_env();
        assert!(vars.keys().all(|name| name.starts_with("QUARRY_")), "{vars:?}");
        assert_eq!(InvokeSettings::from_env(lookup(&vars)).expect("valid environment"), settings);
    }
    let iam = parse(&with(MINIMAL, "auth", "mode", "\"iam\"")).invoke_settings(&resources());
    assert_eq!(InvokeSettings::from_env(lookup(&iam.to_env())).expect("iam"), iam);
}

#[test]
fn ingest_and_catalog_sync_settings_round_trip_through_the_environment() {
    for text in [REPO_CONFIG, MINIMAL] {
        let config = parse(text);
        let ingest = config.ingest_settings(&resources());
        assert_eq!(IngestSettings::from_env(lookup(&ingest.to_env())).expect("ingest"), ingest);
        let sync = config.catalog_sync_settings(&resources());
        assert_eq!(
            CatalogSyncSettings::from_env(lookup(&sync.to_env())).expect("catalog sync"),
            sync
        );
    }
}

#[test]
fn catalog_sync_watches_every_model_quarry_calls() {
    let sync = parse(REPO_CONFIG).catalog_sync_settings(&resources());
    let watched: Vec<String> = sync.watched_models().iter().map(ToString::to_string).collect();
    assert_eq!(
        watched,
        [
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "amazon.nova-lite-v1:0",
            "meta.llama3-1-8b-instruct-v1:0",
            "amazon.titan-embed-text-v2:0"
        ]
    );
    let vars = sync.to_env();
    assert_eq!(
        vars.keys().map(String::as_str).collect::<Vec<_>>(),
        [env::CATALOG_BUCKET, env::CATALOG_KEY, env::CHAT_MODELS, env::EMBEDDING_MODEL]
    );
}

#[test]
fn the_catalog_sync_environment_is_smaller_than_the_invoke_environment() {
    // check_environment_size bounds the invoke function's variables; catalog-sync's are a subset.
    for config in [parse(&large_config(12)), parse(MINIMAL)] {
        let sync = config.catalog_sync_settings(&resources()).to_env();
        let invoke = config.invoke_settings(&resources()).to_env();
        assert!(sync.iter().all(|(name, value)| invoke.get(name) == Some(value)), "{sync:?}");
        assert!(env_size(&sync) < env_size(&invoke));
    }
}

#[test]
fn the_invoke_environment_is_compact_and_readable() {
    let vars = parse(REPO_CONFIG).invoke_settings(&resources()).to_env();
    let get = |name: &str| vars.get(name).map(String::as_str);
    assert_eq!(
        get(env::CHAT_MODELS),
        Some(
            "us.anthropic.claude-3-5-haiku-20241022-v1:0,amazon.nova-lite-v1:0,meta.llama3-1-8b-instruct-v1:0"
        )
    );
    assert_eq!(get(env::DEFAULT_MODEL), Some("amazon.nova-lite-v1:0"));
    assert_eq!(
        get(env::MODEL_ALIASES),
        Some("fast=amazon.nova-lite-v1:0,haiku=us.anthropic.claude-3-5-haiku-20241022-v1:0")
    );
    assert_eq!(
        get(env::MODEL_PRICES),
        Some(
            "amazon.nova-lite-v1:0=0.00006/0.00024,meta.llama3-1-8b-instruct-v1:0=0.00022/0.00022,us.anthropic.claude-3-5-haiku-20241022-v1:0=0.0008/0.004"
        )
    );
    assert_eq!(get(env::AUTH_MODE), Some("api_keys"));
    assert_eq!(get(env::AUTH_SECRET_NAME), Some("quarry/api-keys"));
    assert_eq!(get(env::API_KEY_SHA256), None, "no inline hashes, no variable");
    assert_eq!(get(env::GUARDRAIL_ID), None);
    assert_eq!(get(env::MAX_BODY_BYTES), Some("1048576"));
    assert_eq!(get(env::LOG_PROMPTS), Some("false"));
    assert_eq!(get(env::CATALOG_BUCKET), Some("quarry-catalog-123456789012-us-east-1"));
    assert_eq!(get(env::EMBEDDING_MODEL), Some("amazon.titan-embed-text-v2:0"));
    assert_eq!(get(env::VECTOR_METRIC), Some("cosine"));
    assert!(env_size(&vars) < 1500, "{} bytes", env_size(&vars));
}

/// A large but realistic deployment: a dozen chat models, aliases and prices for each, a
/// guardrail ARN and three inline keys.
fn large_config(models: usize) -> String {
    let catalog = [
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "us.anthropic.claude-opus-4-1-20250805-v1:0",
        "us.amazon.nova-pro-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-micro-v1:0",
        "us.meta.llama3-3-70b-instruct-v1:0",
        "us.meta.llama4-maverick-17b-instruct-v1:0",
        "mistral.mistral-large-2407-v1:0",
        "cohere.command-r-plus-v1:0",
        "us.deepseek.r1-v1:0",
        "openai.gpt-oss-120b-1:0",
    ];
    let chat: Vec<String> = (0..models)
        .map(|i| match catalog.get(i) {
            Some(id) => id.to_string(),
            None => format!("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/{i:0>12}"),
        })
        .collect();
    let mut text = format!(
        "[stack]\nname = \"quarry-production\"\nregion = \"us-east-1\"\n\n[models]\nchat = [{}]\n\n[models.aliases]\n",
        chat.iter().map(|id| format!("\"{id}\"")).collect::<Vec<_>>().join(", ")
    );
    for (i, id) in chat.iter().enumerate().take(6) {
        text.push_str(&format!("model-{i} = \"{id}\"\n"));
    }
    for id in &chat {
        text.push_str(&format!(
            "\n[models.prices.\"{id}\"]\ninput_per_1k_tokens = 0.003\noutput_per_1k_tokens = 0.015\n"
        ));
    }
    text.push_str(
        "\n[embedding]\nmodel = \"us.cohere.embed-v4:0\"\ndimensions = 1536\n\n[auth]\nsecret_name = \"quarry-production/api-keys\"\napi_key_sha256 = [\n",
    );
    for _ in 0..3 {
        text.push_str(&format!("  \"{}\",\n", "ab".repeat(32)));
    }
    text.push_str(
        "]\n\n[guardrail]\nid = \"arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123def456\"\nversion = \"12\"\n",
    );
    text
}

#[test]
fn a_large_realistic_config_fits_in_lambdas_environment_limit() {
    let config = parse(&large_config(12));
    let vars = config.invoke_settings(&resources()).to_env();
    let size = env_size(&vars);
    assert!(size < LAMBDA_ENV_LIMIT_BYTES, "{size} bytes");
    assert_eq!(
        InvokeSettings::from_env(lookup(&vars)).expect("round trip"),
        config.invoke_settings(&resources())
    );
}

#[test]
fn a_config_whose_environment_would_not_fit_is_rejected() {
    let found = problems(&large_config(40));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("models: with these models, aliases, prices and inline API key hashes the invoke function's environment would be "), "{}", found[0]);
    assert!(found[0].contains("over Lambda's 4096-byte limit"), "{}", found[0]);
}

#[test]
fn env_size_measures_the_json_lambda_measures() {
    let vars = BTreeMap::from([("A".to_owned(), "b\"c".to_owned())]);
    assert_eq!(env_size(&vars), r#"{"A":"b\"c"}"#.len());
}

#[test]
fn environment_errors_name_the_variable() {
    let good = parse(&repo_config_with_every_option()).invoke_settings(&resources()).to_env();
    let cases: [(&str, Option<&str>, &str, &str); 15] = [
        (env::CHAT_MODELS, None, env::CHAT_MODELS, "is not set; infra sets it from quarry.toml"),
        (
            env::CHAT_MODELS,
            Some("amazon.nova-lite-v1:0,,x"),
            env::CHAT_MODELS,
            "the model id is empty",
        ),
        (
            env::DEFAULT_MODEL,
            Some("amazon.nova-pro-v1:0"),
            env::DEFAULT_MODEL,
            "`amazon.nova-pro-v1:0` is not in QUARRY_CHAT_MODELS",
        ),
        (
            env::MODEL_ALIASES,
            Some("fast"),
            env::MODEL_ALIASES,
            "entry `fast` is not `alias=model-id`",
        ),
        (
            env::MODEL_ALIASES,
            Some("big=amazon.nova-pro-v1:0"),
            env::MODEL_ALIASES,
            "`amazon.nova-pro-v1:0` is not in QUARRY_CHAT_MODELS",
        ),
        (
            env::MODEL_PRICES,
            Some("amazon.nova-lite-v1:0=0.1"),
            env::MODEL_PRICES,
            "price `0.1` is not `input/output` in USD per 1,000 tokens",
        ),
        (env::GUARDRAIL_VERSION, None, env::GUARDRAIL_VERSION, "is not set"),
        (env::AUTH_MODE, Some("open"), env::AUTH_MODE, "expected `api_keys` or `iam`, got `open`"),
        (
            env::AUTH_MODE,
            Some("iam"),
            env::AUTH_SECRET_NAME,
            "is set, but QUARRY_AUTH_MODE is `iam`",
        ),
        (
            env::API_KEY_SHA256,
            Some("abc"),
            env::API_KEY_SHA256,
            "expected the 64 hexadecimal characters",
        ),
        (
            env::MAX_BODY_BYTES,
            Some("lots"),
            env::MAX_BODY_BYTES,
            "expected a whole number, got `lots`",
        ),
        (
            env::MAX_COMPARE_MODELS,
            Some("50"),
            env::MAX_COMPARE_MODELS,
            "must be between 1 and 10, got 50",
        ),
        (env::LOG_PROMPTS, Some("yes"), env::LOG_PROMPTS, "expected `true` or `false`, got `yes`"),
        (
            env::EMBEDDING_DIMENSIONS,
            Some("768"),
            env::EMBEDDING_DIMENSIONS,
            "amazon.titan-embed-text-v2:0 cannot produce 768-dimensional embeddings",
        ),
        (
            env::VECTOR_BUCKET,
            Some("Vectors"),
            env::VECTOR_BUCKET,
            "`Vectors` must be 3 to 63 lowercase letters",
        ),
    ];
    for (name, value, var, problem) in cases {
        let mut vars = good.clone();
        match value {
            Some(value) => vars.insert(name.to_owned(), value.to_owned()),
            None => vars.remove(name),
        };
        let (found_var, found) =
            env_problem(InvokeSettings::from_env(lookup(&vars)).expect_err(name));
        assert_eq!(found_var, var, "{name}={value:?}: {found}");
        assert!(found.starts_with(problem), "{name}={value:?}: {found}");
    }
}

#[test]
fn api_keys_mode_without_any_key_source_is_rejected_at_cold_start() {
    let mut vars = parse(REPO_CONFIG).invoke_settings(&resources()).to_env();
    vars.remove(env::AUTH_SECRET_NAME);
    let err = InvokeSettings::from_env(lookup(&vars)).expect_err("no key source");
    assert_eq!(
        err.to_string(),
        "environment variable QUARRY_AUTH_MODE: is `api_keys`, but neither QUARRY_AUTH_SECRET_NAME nor QUARRY_API_KEY_SHA256 is set, so no key could ever be accepted"
    );
}

#[test]
fn ingest_environment_errors_name_the_variable() {
    let good = parse(MINIMAL).ingest_settings(&resources()).to_env();
    let cases = [
        (env::CHUNK_CHARS, "4000", "must be between 100 and 2048, got 4000"),
        (env::CHUNK_OVERLAP_CHARS, "2000", "must be less than chunk_chars (2000), got 2000"),
        (env::INGEST_CONCURRENCY, "0", "must be between 1 and 64, got 0"),
        (env::VECTOR_METRIC, "dot", "expected `cosine` or `euclidean`, got `dot`"),
        (env::EMBEDDING_MODEL, "amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
    ];
    for (name, value, problem) in cases {
        let mut vars = good.clone();
        vars.insert(name.to_owned(), value.to_owned());
        let (var, found) = env_problem(IngestSettings::from_env(lookup(&vars)).expect_err(name));
        assert_eq!(var, name, "{found}");
        assert!(found.starts_with(problem) || found.contains(problem), "{name}: {found}");
    }
    let good = parse(MINIMAL).catalog_sync_settings(&resources()).to_env();
    for missing in [env::CATALOG_KEY, env::CHAT_MODELS, env::EMBEDDING_MODEL] {
        let mut vars = good.clone();
        vars.remove(missing);
        let (var, _) =
            env_problem(CatalogSyncSettings::from_env(lookup(&vars)).expect_err(missing));
        assert_eq!(var, missing);
    }
    let mut vars = good;
    vars.insert(env::CHAT_MODELS.to_owned(), "amazon.nova-lite-v1:0,Not An Id".to_owned());
    let (var, _) = env_problem(CatalogSyncSettings::from_env(lookup(&vars)).expect_err("bad id"));
    assert_eq!(var, env::CHAT_MODELS);
}
