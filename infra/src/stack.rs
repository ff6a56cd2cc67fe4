//! quarry's stack, synthesized from `quarry.toml`: the three functions with least-privilege roles
//! derived from the config, the streaming REST API, the documents bucket → SQS → ingest pipeline,
//! the S3 Vectors index, the catalog bucket and schedule, alarms and outputs.
//!
//! Every grant is written here next to the reason it exists; the only `Resource: "*"` are
//! `bedrock:ListFoundationModels` and `bedrock:ListInferenceProfiles`, which AWS does not scope.

use std::collections::BTreeMap;

use quarry::config::{AuthConfig, LAMBDA_ENV_LIMIT_BYTES, QuarryConfig, StackResources, env_size};
use quarry::model::{INVOKE_ACTIONS, ModelId, Partition};
use sha2::{Digest, Sha256};

use crate::cfn::{Expr, Options, Parameter, Sub, Template, TemplateError};
use crate::functions::LambdaFunction;
use crate::policy::{PolicyDocument, Principal, Site, Statement, model_grant};
use crate::resources::*;

/// The template parameter naming the bucket the function zips are uploaded to.
pub const ASSETS_BUCKET_PARAMETER: &str = "AssetsBucket";
/// The API Gateway stage (the first path segment of the API URL).
pub const STAGE_NAME: &str = "api";
/// Stack outputs `deploy` prints and `destroy` reads.
pub mod outputs {
    /// The API's base URL (append `/v1/...`).
    pub const API_URL: &str = "ApiUrl";
    /// Upload documents here.
    pub const DOCUMENTS_BUCKET: &str = "DocumentsBucketName";
    /// The ingest queue.
    pub const INGEST_QUEUE_URL: &str = "IngestQueueUrl";
    /// The catalog bucket (emptied by `destroy`).
    pub const CATALOG_BUCKET: &str = "CatalogBucketName";
}

/// The vector-metadata keys stored with each chunk but excluded from filtering (the chunk text can
/// exceed S3 Vectors' 2 KB filterable-metadata limit): the store's own list, so the index infra
/// creates matches what the store writes. Fixed when the index is created.
pub use quarry::vector::NON_FILTERABLE_METADATA_KEYS;

/// Receives before a message moves to the dead-letter queue.
const MAX_RECEIVE_COUNT: u32 = 5;
/// SQS keeps messages at most 14 days; the dead-letter queue keeps them that long.
const FOURTEEN_DAYS: u32 = 14 * 24 * 3600;
/// Older document versions are kept this long after being replaced or deleted.
const NONCURRENT_VERSION_DAYS: u32 = 30;
/// Bucket names keep at most this much of the stack name (so `-docs-<account>-<region>` fits in
/// S3's 63 characters).
const BUCKET_PREFIX_MAX: usize = 30;
/// IAM's limit on the inline policies of one role together, in characters without whitespace.
pub const ROLE_POLICY_LIMIT: usize = 10_240;
/// Set on the invoke function: lambda_http then hands the Router the path without the stage
/// (`/v1/models`, not `/api/v1/models`).
const IGNORE_STAGE_VAR: &str = "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH";

/// Why the stack cannot be synthesized.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// A template rule was broken.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A model's invoke grant cannot be derived.
    #[error("{field}: cannot grant `{model}`: {reason}")]
    Grant { field: String, model: String, reason: String },
    /// The stack name makes a derived name too long.
    #[error(
        "stack.name: `{name}` makes the function name `{function}` longer than Lambda's 64 characters; use at most {max} characters"
    )]
    NameTooLong { name: String, function: String, max: usize },
    /// The stack's region is not in a partition quarry knows.
    #[error("stack.region: `{0}` is not in the aws, aws-us-gov or aws-cn partition")]
    Partition(String),
    /// A role's inline policies would exceed IAM's size limit.
    #[error(
        "the {role}'s policies would be {size} characters, over IAM's {limit} per role; list fewer models in models.chat (each cross-region profile adds its model in every region it routes to)"
    )]
    PolicyTooLarge { role: String, size: usize, limit: usize },
    /// A function's environment would not fit Lambda's limit.
    #[error(
        "the {function} function's environment would be {size} bytes, over Lambda's {limit}-byte limit; list fewer models or aliases in quarry.toml"
    )]
    Environment { function: &'static str, size: usize, limit: usize },
}

/// A synthesized stack: the template and what the reader should know about it.
#[derive(Debug)]
pub struct Synthesis {
    /// The template.
    pub template: Template,
    /// Grants quarry could not derive in full (the model behind an application inference
    /// profile or provisioned model ARN); printed by `synth` and `deploy`.
    pub warnings: Vec<String>,
}

/// Synthesizes the stack `config` describes.
pub fn synthesize(config: &QuarryConfig) -> Result<Synthesis, StackError> {
    let mut builder = Builder::new(config)?;
    builder.build()?;
    Ok(Synthesis { template: builder.template, warnings: builder.warnings })
}

/// Names the stack derives from `quarry.toml`.
struct Names {
    partition: &'static str,
    /// Lowercase, truncated stack name for bucket names.
    prefix: String,
}

struct Builder<'a> {
    config: &'a QuarryConfig,
    site: Site<'a>,
    names: Names,
    template: Template,
    warnings: Vec<String>,
}

impl<'a> Builder<'a> {
    fn new(config: &'a QuarryConfig) -> Result<Self, StackError> {
        let region = config.stack.region.as_str();
        let partition =
            Partition::of_region(region).ok_or_else(|| StackError::Partition(region.to_owned()))?;
        let longest = LambdaFunction::CatalogSync.function_name(&config.stack.name);
        if longest.len() > 64 {
            return Err(StackError::NameTooLong {
                name: config.stack.name.clone(),
                function: longest.clone(),
                max: 64 - (longest.len() - config.stack.name.len()),
            });
        }
        let mut prefix = config.stack.name.to_ascii_lowercase();
        prefix.truncate(BUCKET_PREFIX_MAX);
        let prefix = prefix.trim_end_matches('-').to_owned();
        Ok(Builder {
            config,
            site: Site { partition, region },
            names: Names { partition: partition.as_str(), prefix },
            template: Template::new(&format!(
                "quarry stack `{}`: Bedrock gateway, document ingestion and model catalog (synthesized from quarry.toml by quarry-infra)",
                config.stack.name
            )),
            warnings: Vec::new(),
        })
    }

    fn build(&mut self) -> Result<(), StackError> {
        self.parameters()?;
        self.catalog_bucket()?;
        self.documents_pipeline()?;
        self.vector_store()?;
        for function in LambdaFunction::ALL {
            self.function(function)?;
        }
        self.ingest_event_source()?;
        self.api()?;
        self.catalog_schedule()?;
        self.alarms()?;
        self.outputs()?;
        self.template.require_region(self.site.region);
        Ok(())
    }

    // ---- Names and ARNs ---------------------------------------------------------------------

    /// `<prefix>-<what>-<account>-<region>`: globally unique bucket names CloudFormation knows
    /// before the bucket exists (the queue policy names the documents bucket, which in turn
    /// waits for the policy).
    fn account_scoped_name(&self, what: &str) -> Expr {
        Sub::new()
            .text(&format!("{}-{what}-", self.names.prefix))
            .var("AWS::AccountId")
            .text(&format!("-{}", self.site.region))
            .build()
    }

    fn documents_bucket_name(&self) -> Expr {
        self.account_scoped_name("docs")
    }

    fn vector_bucket_name(&self) -> Expr {
        self.account_scoped_name("vec")
    }

    /// `arn:<partition>:<service>:<region>:${AWS::AccountId}:<rest>`.
    fn arn(&self, service: &str, rest: &str) -> Sub {
        Sub::new()
            .text(&format!("arn:{}:{service}:{}:", self.names.partition, self.site.region))
            .var("AWS::AccountId")
            .text(&format!(":{rest}"))
    }

    /// The catalog object: the only S3 object invoke and catalog-sync touch.
    fn catalog_object_arn(&self) -> Expr {
        Sub::new()
            .text(&format!("arn:{}:s3:::", self.names.partition))
            .var("CatalogBucket")
            .text(&format!("/{}", self.config.catalog.key))
            .build()
    }

    /// Listing the catalog bucket, limited to the catalog's own key. S3 answers a GetObject of a
    /// missing key with 403 instead of 404 unless the caller may list the bucket; with this, a
    /// first sync (no catalog yet) sees NoSuchKey and writes one, and invoke falls back cleanly.
    fn catalog_listing(&self) -> Statement {
        let bucket = Sub::new()
            .text(&format!("arn:{}:s3:::", self.names.partition))
            .var("CatalogBucket")
            .build();
        Statement::allow(&["s3:ListBucket"], vec![bucket])
            .when("StringEquals", "s3:prefix", self.config.catalog.key.as_str())
            .sid("SeeWhetherTheCatalogExists")
    }

    fn bucket_arns(&self, name: &Expr) -> (Expr, Expr) {
        let arn = |suffix: &str| match name {
            Expr::Ref(id) => Sub::new()
                .text(&format!("arn:{}:s3:::", self.names.partition))
                .var(id)
                .text(suffix)
                .build(),
            Expr::Sub(pattern) => {
                Expr::Sub(format!("arn:{}:s3:::{pattern}{suffix}", self.names.partition))
            }
            other => Expr::Join(
                String::new(),
                vec![
                    Expr::from(format!("arn:{}:s3:::", self.names.partition)),
                    other.clone(),
                    Expr::from(suffix),
                ],
            ),
        };
        (arn(""), arn("/*"))
    }

    // ---- Parameters and storage -------------------------------------------------------------

    fn parameters(&mut self) -> Result<(), StackError> {
        self.template.parameter(
            ASSETS_BUCKET_PARAMETER,
            Parameter::string("The S3 bucket holding the function zips (created by `quarry-infra deploy` in its bootstrap stack).")
                .pattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "an S3 bucket name"),
        )?;
        for function in LambdaFunction::ALL {
            self.template.parameter(
                &function.code_key_parameter(),
                Parameter::string(&format!(
                    "The S3 key of {}'s zip (target/lambda/{}/bootstrap.zip from `cargo lambda build --release --arm64 --output-format zip`).",
                    function.binary(),
                    function.binary()
                ))
                .pattern("^[^/].{0,1023}$", "an S3 object key"),
            )?;
        }
        Ok(())
    }

    /// A bucket policy refusing every request not made over TLS.
    fn tls_only_policy(&mut self, id: &str, bucket: Expr) -> Result<(), StackError> {
        let (arn, objects) = self.bucket_arns(&bucket);
        // A Deny of every S3 action: the one place a service-wide action belongs, since it
        // takes rights away (from non-TLS requests) and grants none.
        let deny = Statement::allow(&["s3:*"], vec![arn, objects])
            .sid("DenyRequestsWithoutTls")
            .principal(Principal::Anyone)
            .deny()
            .when("Bool", "aws:SecureTransport", "false");
        self.template
            .add(id, &BucketPolicy { bucket, policy_document: PolicyDocument::new(vec![deny]) })?;
        Ok(())
    }

    fn catalog_bucket(&mut self) -> Result<(), StackError> {
        self.template.add("CatalogBucket", &Bucket::private(None))?;
        self.tls_only_policy("CatalogBucketPolicy", Expr::reference("CatalogBucket"))
    }

    /// Documents bucket → (ObjectCreated, ObjectRemoved) → ingest queue → (5 receives) → DLQ.
    fn documents_pipeline(&mut self) -> Result<(), StackError> {
        self.template.add(
            "IngestDeadLetterQueue",
            &Queue {
                message_retention_period: FOURTEEN_DAYS,
                visibility_timeout: 30,
                sqs_managed_sse_enabled: true,
                redrive_policy: None,
            },
        )?;
        // AWS recommends a visibility timeout of six times the function timeout for SQS event
        // sources, so a batch being retried is not handed out twice. SQS caps it at 12 hours.
        let visibility = (self.config.functions.ingest.timeout_seconds * 6).min(43_200);
        self.template.add(
            "IngestQueue",
            &Queue {
                message_retention_period: 4 * 24 * 3600,
                visibility_timeout: visibility,
                sqs_managed_sse_enabled: true,
                redrive_policy: Some(RedrivePolicy {
                    dead_letter_target_arn: Expr::get_att("IngestDeadLetterQueue", "Arn"),
                    max_receive_count: MAX_RECEIVE_COUNT,
                }),
            },
        )?;
        let documents = self.documents_bucket_name();
        let (documents_arn, _) = self.bucket_arns(&documents);
        // S3 may send to the queue only for this bucket, in this account.
        let send =
            Statement::allow(&["sqs:SendMessage"], vec![Expr::get_att("IngestQueue", "Arn")])
                .sid("DocumentsBucketSendsEvents")
                .principal(Principal::Service("s3.amazonaws.com"))
                .when("ArnEquals", "aws:SourceArn", documents_arn)
                .when("StringEquals", "aws:SourceAccount", Expr::reference("AWS::AccountId"));
        self.template.add(
            "IngestQueuePolicy",
            &QueuePolicy {
                queues: vec![Expr::reference("IngestQueue")],
                policy_document: PolicyDocument::new(vec![send]),
            },
        )?;

        let mut bucket = Bucket::private(Some(documents.clone()));
        bucket.versioning_configuration = Some(Versioning { status: "Enabled" });
        bucket.lifecycle_configuration = Some(Lifecycle {
            rules: vec![LifecycleRule {
                id: "ExpireReplacedVersions",
                status: "Enabled",
                expiration_in_days: None,
                noncurrent_version_expiration: Some(NoncurrentExpiration {
                    noncurrent_days: NONCURRENT_VERSION_DAYS,
                }),
                abort_incomplete_multipart_upload: AbortIncompleteUpload {
                    days_after_initiation: 7,
                },
            }],
        });
        let queue = Expr::get_att("IngestQueue", "Arn");
        bucket.notification_configuration = Some(Notifications {
            queue_configurations: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
                .into_iter()
                .map(|event| QueueNotification { event, queue: queue.clone() })
                .collect(),
        });
        // S3 checks that it may send to the queue when the notification is set: the queue
        // policy comes first. The bucket holds the user's documents: it outlives the stack.
        self.template.add_with(
            "DocumentsBucket",
            &bucket,
            Options::depends_on(["IngestQueuePolicy"]).retain(),
        )?;
        self.tls_only_policy("DocumentsBucketPolicy", documents)
    }

    fn vector_store(&mut self) -> Result<(), StackError> {
        self.template
            .add("VectorBucket", &VectorBucket { vector_bucket_name: self.vector_bucket_name() })?;
        let store = &self.config.vector_store;
        self.template.add_with(
            "VectorIndex",
            &VectorIndex {
                vector_bucket_name: self.vector_bucket_name(),
                index_name: store.index_name.clone(),
                data_type: "float32",
                dimension: self.config.embedding.dimensions,
                distance_metric: store.metric.as_str(),
                metadata_configuration: VectorMetadata {
                    non_filterable_metadata_keys: NON_FILTERABLE_METADATA_KEYS.to_vec(),
                },
            },
            Options::depends_on(["VectorBucket"]),
        )?;
        Ok(())
    }

    // ---- Functions and their roles ----------------------------------------------------------

    fn function(&mut self, function: LambdaFunction) -> Result<(), StackError> {
        let name = function.function_name(&self.config.stack.name);
        let log_group = function.log_group_id();
        self.template.add(
            &log_group,
            &LogGroup {
                log_group_name: Some(format!("/aws/lambda/{name}")),
                retention_in_days: self.config.log_retention_days,
            },
        )?;

        // Each function writes only to its own log group: no logs:CreateLogGroup (the stack
        // creates the group) and no other group.
        let logs = Statement::allow(
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![Expr::get_att(&log_group, "Arn")],
        )
        .sid("WriteOwnLogGroup");
        let statements = match function {
            LambdaFunction::Invoke => self.invoke_statements()?,
            LambdaFunction::Ingest => self.ingest_statements()?,
            LambdaFunction::CatalogSync => self.catalog_sync_statements(),
        };
        let role = Role {
            description: format!("{name}: least privilege derived from quarry.toml"),
            assume_role_policy_document: PolicyDocument::new(vec![Statement::assumed_by(
                "lambda.amazonaws.com",
            )]),
            policies: vec![
                InlinePolicy {
                    policy_name: function.stem().to_ascii_lowercase(),
                    policy_document: PolicyDocument::new(statements),
                },
                InlinePolicy {
                    policy_name: "logs".to_owned(),
                    policy_document: PolicyDocument::new(vec![logs]),
                },
            ],
        };
        // Measured on the template's form: `${AWS::AccountId}` is longer than the 12 digits IAM
        // will see, so this errs on the safe side.
        let size: usize = role
            .policies
            .iter()
            .map(|p| serde_json::to_string(&p.policy_document).map_or(usize::MAX, |j| j.len()))
            .fold(0, usize::saturating_add);
        if size > ROLE_POLICY_LIMIT {
            return Err(StackError::PolicyTooLarge {
                role: format!("{} function's role", function.binary()),
                size,
                limit: ROLE_POLICY_LIMIT,
            });
        }
        self.template.add(&function.role_id(), &role)?;

        let settings = function.settings(self.config);
        self.template.add_with(
            &function.function_id(),
            &Function {
                function_name: name,
                description: function.description().to_owned(),
                runtime: "provided.al2023",
                architectures: vec!["arm64"],
                handler: "bootstrap",
                code: Code {
                    s3_bucket: Expr::reference(ASSETS_BUCKET_PARAMETER),
                    s3_key: Expr::reference(&function.code_key_parameter()),
                },
                role: Expr::get_att(&function.role_id(), "Arn"),
                memory_size: settings.memory_mb,
                timeout: settings.timeout_seconds,
                environment: Environment { variables: self.environment(function)? },
            },
            // The log group exists (with its retention) before the first line is written.
            Options::depends_on([log_group]),
        )?;
        Ok(())
    }

    /// The function's `QUARRY_*` variables from the settings' `to_env()`, with the bucket names
    /// the stack creates as CloudFormation values.
    fn environment(&self, function: LambdaFunction) -> Result<BTreeMap<String, Expr>, StackError> {
        const CATALOG: &str = "{{CatalogBucket}}";
        const VECTORS: &str = "{{VectorBucket}}";
        let placeholders = StackResources {
            catalog_bucket: CATALOG.to_owned(),
            vector_bucket: VECTORS.to_owned(),
        };
        let mut vars = match function {
            LambdaFunction::Invoke => self.config.invoke_settings(&placeholders).to_env(),
            LambdaFunction::Ingest => self.config.ingest_settings(&placeholders).to_env(),
            LambdaFunction::CatalogSync => {
                self.config.catalog_sync_settings(&placeholders).to_env()
            }
        };
        if function == LambdaFunction::Invoke {
            vars.insert(IGNORE_STAGE_VAR.to_owned(), "true".to_owned());
        }
        // The size Lambda will measure, with the longest bucket names S3 allows.
        let longest: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| {
                (k.clone(), v.replace(CATALOG, &"b".repeat(63)).replace(VECTORS, &"b".repeat(63)))
            })
            .collect();
        let size = env_size(&longest);
        if size > LAMBDA_ENV_LIMIT_BYTES {
            return Err(StackError::Environment {
                function: function.binary(),
                size,
                limit: LAMBDA_ENV_LIMIT_BYTES,
            });
        }
        Ok(vars
            .into_iter()
            .map(|(name, value)| {
                let value = match value.as_str() {
                    CATALOG => Expr::reference("CatalogBucket"),
                    VECTORS => self.vector_bucket_name(),
                    _ => Expr::Text(value),
                };
                (name, value)
            })
            .collect())
    }

    /// The model statements for `models` with `actions`, deduplicated, with warnings for grants
    /// that need the underlying model too.
    fn model_statements(
        &mut self,
        models: &[(String, ModelId)],
        actions: &[&str],
    ) -> Result<Vec<Statement>, StackError> {
        let mut statements: Vec<Statement> = Vec::new();
        for (field, model) in models {
            let (grant, needs_underlying) =
                model_grant(model, self.site, actions).map_err(|e| StackError::Grant {
                    field: field.clone(),
                    model: model.to_string(),
                    reason: e.to_string(),
                })?;
            if needs_underlying {
                self.warnings.push(format!(
                    "{field}: `{model}` is granted as written, but the model it runs cannot be read from its ARN; add the underlying model's grant to the role by hand or list its base or profile id instead"
                ));
            }
            for statement in grant {
                if !statements.contains(&statement) {
                    statements.push(statement);
                }
            }
        }
        Ok(statements)
    }

    fn invoke_statements(&mut self) -> Result<Vec<Statement>, StackError> {
        let config = self.config;
        // Bedrock authorizes Converse/ConverseStream by InvokeModel/InvokeModelWithResponseStream
        // on exactly the resources quarry::model derives for each allowed model; RAG queries
        // embed with the embedding model.
        let mut models: Vec<(String, ModelId)> = config
            .models
            .allowed
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("models.chat[{i}]"), id.clone()))
            .collect();
        models.push(("embedding.model".to_owned(), config.embedding.model_id.clone()));
        let mut statements = self.model_statements(&models, &INVOKE_ACTIONS)?;

        if let Some(guardrail) = &config.guardrail {
            let arn = if guardrail.id.starts_with("arn:") {
                Expr::from(guardrail.id.as_str())
            } else {
                self.arn("bedrock", &format!("guardrail/{}", guardrail.id)).build()
            };
            statements.push(
                Statement::allow(&["bedrock:ApplyGuardrail"], vec![arn])
                    .sid("ApplyConfiguredGuardrail"),
            );
        }
        statements.push(
            Statement::allow(&["s3:GetObject"], vec![self.catalog_object_arn()])
                .sid("ReadModelCatalog"),
        );
        statements.push(self.catalog_listing());
        statements.push(
            Statement::allow(
                &["s3vectors:QueryVectors", "s3vectors:GetVectors"],
                vec![Expr::get_att("VectorIndex", "IndexArn")],
            )
            .sid("QueryDocumentIndex"),
        );
        if let AuthConfig::ApiKeys { secret_name: Some(secret), .. } = &config.auth {
            // Referenced by name: Secrets Manager appends `-` and six random characters to a
            // secret's ARN, which `-??????` matches exactly.
            statements.push(
                Statement::allow(
                    &["secretsmanager:GetSecretValue"],
                    vec![self.arn("secretsmanager", &format!("secret:{secret}-??????")).build()],
                )
                .sid("ReadApiKeySecret"),
            );
        }
        Ok(statements)
    }

    fn ingest_statements(&mut self) -> Result<Vec<Statement>, StackError> {
        let (bucket, objects) = self.bucket_arns(&self.documents_bucket_name());
        let mut statements = vec![
            Statement::allow(&["s3:GetObject"], vec![objects]).sid("ReadDocuments"),
            // Without ListBucket, S3 answers a GetObject of a key deleted before its create event
            // is processed with 403 instead of 404, and that message would dead-letter instead of
            // being skipped as "object gone".
            Statement::allow(&["s3:ListBucket"], vec![bucket]).sid("SeeWhetherADocumentExists"),
            // Receive/delete/visibility are the batch's work; GetQueueAttributes is what the
            // event source mapping checks on the role when it is created.
            Statement::allow(
                &[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                vec![Expr::get_att("IngestQueue", "Arn")],
            )
            .sid("ConsumeIngestQueue"),
        ];
        let embedding = [("embedding.model".to_owned(), self.config.embedding.model_id.clone())];
        statements.extend(self.model_statements(&embedding, &["bedrock:InvokeModel"])?);
        statements.push(
            Statement::allow(
                &[
                    "s3vectors:PutVectors",
                    "s3vectors:DeleteVectors",
                    "s3vectors:ListVectors",
                    "s3vectors:GetVectors",
                ],
                vec![Expr::get_att("VectorIndex", "IndexArn")],
            )
            .sid("WriteDocumentIndex"),
        );
        Ok(statements)
    }

    fn catalog_sync_statements(&self) -> Vec<Statement> {
        vec![
            // AWS offers no resource-level scoping for ListFoundationModels: "*" is the only
            // resource it accepts.
            Statement::allow(&["bedrock:ListFoundationModels"], vec!["*".into()])
                .sid("ListFoundationModelsHasNoResourceScoping"),
            // Same for ListInferenceProfiles: it takes no resource, so it is granted on "*".
            Statement::allow(&["bedrock:ListInferenceProfiles"], vec!["*".into()])
                .sid("ListInferenceProfilesHasNoResourceScoping"),
            Statement::allow(&["s3:GetObject", "s3:PutObject"], vec![self.catalog_object_arn()])
                .sid("ReadWriteModelCatalog"),
            self.catalog_listing(),
        ]
    }

    fn ingest_event_source(&mut self) -> Result<(), StackError> {
        self.template.add(
            "IngestEventSource",
            &EventSourceMapping {
                event_source_arn: Expr::get_att("IngestQueue", "Arn"),
                function_name: Expr::reference(&LambdaFunction::Ingest.function_id()),
                batch_size: 10,
                maximum_batching_window_in_seconds: 5,
                function_response_types: vec!["ReportBatchItemFailures"],
                enabled: true,
            },
        )?;
        Ok(())
    }

    // ---- API --------------------------------------------------------------------------------

    fn api(&mut self) -> Result<(), StackError> {
        let config = self.config;
        self.template.add(
            "Api",
            &RestApi {
                name: format!("{}-api", config.stack.name),
                description: "quarry: native and OpenAI-compatible Bedrock API (Lambda proxy, response streaming)".into(),
                endpoint_configuration: EndpointConfiguration { types: vec!["REGIONAL"] },
            },
        )?;
        self.template.add(
            "ApiProxyResource",
            &ApiResource {
                rest_api_id: Expr::reference("Api"),
                parent_id: Expr::get_att("Api", "RootResourceId"),
                path_part: "{proxy+}",
            },
        )?;
        let invoke = LambdaFunction::Invoke.function_id();
        // InvokeWithResponseStream (API version 2021-11-15) instead of the buffered Invoke.
        let uri = Sub::new()
            .text(&format!(
                "arn:{}:apigateway:{}:lambda:path/2021-11-15/functions/",
                self.names.partition, self.site.region
            ))
            .var(&format!("{invoke}.Arn"))
            .text("/response-streaming-invocations")
            .build();
        let authorization_type = match config.auth {
            // API Gateway checks the SigV4 signature and the caller's execute-api:Invoke right.
            AuthConfig::Iam => "AWS_IAM",
            // The function checks the key against the stored hashes.
            AuthConfig::ApiKeys { .. } => "NONE",
        };
        let method = |resource_id: Expr| Method {
            rest_api_id: Expr::reference("Api"),
            resource_id,
            http_method: "ANY",
            authorization_type,
            integration: Integration {
                kind: "AWS_PROXY",
                integration_http_method: "POST",
                uri: uri.clone(),
                response_transfer_mode: "STREAM",
                timeout_in_millis: config.functions.invoke.timeout_seconds * 1000,
            },
        };
        let root = method(Expr::get_att("Api", "RootResourceId"));
        let proxy = method(Expr::reference("ApiProxyResource"));
        // A deployment is a snapshot: its logical id carries a hash of the methods, so a
        // changed method makes a new deployment the stage then serves.
        let mut hasher = Sha256::new();
        for m in [&root, &proxy] {
            hasher.update(serde_json::to_vec(m).unwrap_or_default());
        }
        let deployment = format!("ApiDeployment{}", &hex::encode(hasher.finalize())[..12]);
        self.template.add("ApiRootMethod", &root)?;
        self.template.add("ApiProxyMethod", &proxy)?;
        self.template.add_with(
            &deployment,
            &Deployment {
                rest_api_id: Expr::reference("Api"),
                description: format!("quarry API ({authorization_type} authorization)"),
            },
            Options::depends_on(["ApiRootMethod", "ApiProxyMethod"]),
        )?;
        self.template.add(
            "ApiAccessLogGroup",
            &LogGroup { log_group_name: None, retention_in_days: config.log_retention_days },
        )?;
        self.template.add(
            "ApiStage",
            &Stage {
                rest_api_id: Expr::reference("Api"),
                deployment_id: Expr::reference(&deployment),
                stage_name: STAGE_NAME,
                access_log_setting: AccessLogSetting {
                    destination_arn: Expr::get_att("ApiAccessLogGroup", "Arn"),
                    format: access_log_format(),
                },
                method_settings: vec![MethodSetting {
                    resource_path: "/*",
                    http_method: "*",
                    throttling_rate_limit: f64::from(config.api.rate_limit_per_second),
                    throttling_burst_limit: config.api.burst_limit,
                    metrics_enabled: true,
                }],
            },
        )?;
        // API Gateway may invoke the function only for this API.
        self.template.add(
            "ApiInvokePermission",
            &Permission {
                action: "lambda:InvokeFunction",
                function_name: Expr::reference(&invoke),
                principal: "apigateway.amazonaws.com",
                source_arn: self.arn("execute-api", "").var("Api").text("/*").build(),
            },
        )?;
        Ok(())
    }

    // ---- Schedule, alarms, outputs ----------------------------------------------------------

    fn catalog_schedule(&mut self) -> Result<(), StackError> {
        let function = LambdaFunction::CatalogSync.function_id();
        let function_arn = Expr::get_att(&function, "Arn");
        // The scheduler's own role: invoke catalog-sync and nothing else, assumable only by
        // EventBridge Scheduler acting for this account.
        let trust = Statement::assumed_by("scheduler.amazonaws.com").when(
            "StringEquals",
            "aws:SourceAccount",
            Expr::reference("AWS::AccountId"),
        );
        self.template.add(
            "CatalogSyncScheduleRole",
            &Role {
                description: "EventBridge Scheduler: invoke the catalog-sync function only".into(),
                assume_role_policy_document: PolicyDocument::new(vec![trust]),
                policies: vec![InlinePolicy {
                    policy_name: "invoke-catalog-sync".into(),
                    policy_document: PolicyDocument::new(vec![
                        Statement::allow(&["lambda:InvokeFunction"], vec![function_arn.clone()])
                            .sid("InvokeCatalogSync"),
                    ]),
                }],
            },
        )?;
        self.template.add(
            "CatalogSyncSchedule",
            &Schedule {
                description: "quarry: sync the model catalog from Bedrock".into(),
                schedule_expression: self.config.catalog.schedule.as_str().to_owned(),
                schedule_expression_timezone: "UTC",
                flexible_time_window: FlexibleTimeWindow { mode: "OFF" },
                state: "ENABLED",
                target: ScheduleTarget {
                    arn: function_arn,
                    role_arn: Expr::get_att("CatalogSyncScheduleRole", "Arn"),
                    retry_policy: RetryPolicy {
                        maximum_retry_attempts: 2,
                        maximum_event_age_in_seconds: 3600,
                    },
                },
            },
        )?;
        Ok(())
    }

    fn alarms(&mut self) -> Result<(), StackError> {
        let alarm = |description: String,
                     namespace: &'static str,
                     metric_name: &'static str,
                     dimension: Dimension,
                     statistic: &'static str| Alarm {
            alarm_description: description,
            namespace,
            metric_name,
            dimensions: vec![dimension],
            statistic,
            period: 300,
            evaluation_periods: 1,
            threshold: 1.0,
            comparison_operator: "GreaterThanOrEqualToThreshold",
            treat_missing_data: "notBreaching",
        };
        self.template.add(
            "IngestDeadLetterQueueAlarm",
            &alarm(
                "Documents failed ingestion 5 times and wait in the dead-letter queue".into(),
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                Dimension {
                    name: "QueueName",
                    value: Expr::get_att("IngestDeadLetterQueue", "QueueName"),
                },
                "Maximum",
            ),
        )?;
        for function in LambdaFunction::ALL {
            let dimension = || Dimension {
                name: "FunctionName",
                value: Expr::reference(&function.function_id()),
            };
            let name = function.binary();
            self.template.add(
                &format!("{}ErrorsAlarm", function.stem()),
                &alarm(
                    format!("{name} returned errors in the last 5 minutes"),
                    "AWS/Lambda",
                    "Errors",
                    dimension(),
                    "Sum",
                ),
            )?;
            self.template.add(
                &format!("{}ThrottlesAlarm", function.stem()),
                &alarm(
                    format!("{name} was throttled in the last 5 minutes"),
                    "AWS/Lambda",
                    "Throttles",
                    dimension(),
                    "Sum",
                ),
            )?;
        }
        Ok(())
    }

    fn outputs(&mut self) -> Result<(), StackError> {
        let url = Sub::new()
            .text("https://")
            .var("Api")
            .text(".execute-api.")
            .var("AWS::Region")
            .text(".")
            .var("AWS::URLSuffix")
            .text(&format!("/{STAGE_NAME}"))
            .build();
        let vector_bucket = self.vector_bucket_name();
        let t = &mut self.template;
        t.output(
            outputs::API_URL,
            "The API's base URL: append /v1/chat/completions, /v1/models, …",
            url,
        )?;
        t.output(
            outputs::DOCUMENTS_BUCKET,
            "Upload documents here; they are ingested into the vector index",
            Expr::reference("DocumentsBucket"),
        )?;
        t.output(
            outputs::INGEST_QUEUE_URL,
            "The queue of document events the ingest function consumes",
            Expr::reference("IngestQueue"),
        )?;
        t.output(
            outputs::CATALOG_BUCKET,
            "The bucket holding the model catalog",
            Expr::reference("CatalogBucket"),
        )?;
        t.output(
            "IngestDeadLetterQueueUrl",
            "Document events that failed 5 times",
            Expr::reference("IngestDeadLetterQueue"),
        )?;
        t.output("VectorBucketName", "The S3 vector bucket", vector_bucket)?;
        for function in LambdaFunction::ALL {
            t.output(
                &format!("{}FunctionName", function.stem()),
                &format!("The {} function", function.binary()),
                Expr::reference(&function.function_id()),
            )?;
        }
        if let Some(secret) = self.config.auth.secret_name() {
            t.output(
                "ApiKeySecretName",
                "The Secrets Manager secret holding the API key hashes (create it before the first request)",
                Expr::from(secret),
            )?;
        }
        Ok(())
    }
}

/// One JSON line per request (API Gateway requires `$context.requestId` or
/// `$context.extendedRequestId`).
fn access_log_format() -> String {
    let fields = [
        ("requestId", "$context.requestId"),
        ("extendedRequestId", "$context.extendedRequestId"),
        ("ip", "$context.identity.sourceIp"),
        ("caller", "$context.identity.caller"),
        ("userArn", "$context.identity.userArn"),
        ("requestTime", "$context.requestTime"),
        ("httpMethod", "$context.httpMethod"),
        ("path", "$context.path"),
        ("status", "$context.status"),
        ("protocol", "$context.protocol"),
        ("responseLength", "$context.responseLength"),
        ("integrationLatency", "$context.integrationLatency"),
        ("integrationError", "$context.integration.error"),
    ];
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    format!("{{{}}}", body.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_named(name: &str, region: &str) -> QuarryConfig {
        let text = format!(
            "[stack]\nname = \"{name}\"\nregion = \"{region}\"\n[models]\nchat = [\"amazon.nova-lite-v1:0\"]\n[embedding]\nmodel = \"amazon.titan-embed-text-v2:0\"\n"
        );
        QuarryConfig::from_toml_str(&text).expect("config")
    }

    #[test]
    fn bucket_names_fit_s3_for_long_mixed_case_stack_names() {
        let config = config_named("Team-Quarry-Production-Environment-East", "ap-southeast-7");
        let builder = Builder::new(&config).expect("builder");
        assert_eq!(builder.names.prefix, "team-quarry-production-environ");
        let Expr::Sub(pattern) = builder.documents_bucket_name() else { panic!("a Sub") };
        let longest = pattern.replace("${AWS::AccountId}", "123456789012");
        assert_eq!(longest, "team-quarry-production-environ-docs-123456789012-ap-southeast-7");
        assert!(longest.len() <= 63);
        // A cut that ends on `-` is trimmed: S3 names end in a letter or digit.
        let config = config_named("abcdefghijklmnopqrstuvwxyz012-rest", "us-east-1");
        assert_eq!(
            Builder::new(&config).expect("builder").names.prefix,
            "abcdefghijklmnopqrstuvwxyz012"
        );
    }

    #[test]
    fn access_logs_are_one_json_object_with_the_request_id() {
        let format: serde_json::Value = serde_json::from_str(&access_log_format()).expect("JSON");
        assert_eq!(format["requestId"], "$context.requestId");
        assert_eq!(format["status"], "$context.status");
    }
}
