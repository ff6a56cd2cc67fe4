//! quarry's three Lambda functions as the stack and the deploy tool name them: binary (what
//! `cargo lambda build` writes), logical ids, code parameter and function name.

use quarry::config::{FunctionConfig, QuarryConfig};

/// One of quarry's Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LambdaFunction {
    /// The HTTP API behind API Gateway.
    Invoke,
    /// S3 → SQS → vector index.
    Ingest,
    /// The scheduled model catalog.
    CatalogSync,
}

impl LambdaFunction {
    /// All three, in a fixed order.
    pub const ALL: [LambdaFunction; 3] =
        [LambdaFunction::Invoke, LambdaFunction::Ingest, LambdaFunction::CatalogSync];

    /// The binary (and crate) name: `cargo lambda build` writes
    /// `target/lambda/<binary>/bootstrap.zip`.
    pub fn binary(self) -> &'static str {
        match self {
            LambdaFunction::Invoke => "quarry-invoke",
            LambdaFunction::Ingest => "quarry-ingest",
            LambdaFunction::CatalogSync => "quarry-catalog-sync",
        }
    }

    /// The logical-id stem: `Invoke`, `Ingest`, `CatalogSync`.
    pub fn stem(self) -> &'static str {
        match self {
            LambdaFunction::Invoke => "Invoke",
            LambdaFunction::Ingest => "Ingest",
            LambdaFunction::CatalogSync => "CatalogSync",
        }
    }

    /// The function's logical id (`InvokeFunction`).
    pub fn function_id(self) -> String {
        format!("{}Function", self.stem())
    }

    /// Its execution role's logical id (`InvokeRole`).
    pub fn role_id(self) -> String {
        format!("{}Role", self.stem())
    }

    /// Its log group's logical id (`InvokeLogGroup`).
    pub fn log_group_id(self) -> String {
        format!("{}LogGroup", self.stem())
    }

    /// The template parameter holding its zip's S3 key (`InvokeCodeKey`).
    pub fn code_key_parameter(self) -> String {
        format!("{}CodeKey", self.stem())
    }

    /// The deployed function's name: `<stack>-invoke`, `<stack>-ingest`, `<stack>-catalog-sync`
    /// (for the stack `quarry` the binary names, so `cargo lambda deploy quarry-invoke` finds it).
    pub fn function_name(self, stack_name: &str) -> String {
        let suffix = match self {
            LambdaFunction::Invoke => "invoke",
            LambdaFunction::Ingest => "ingest",
            LambdaFunction::CatalogSync => "catalog-sync",
        };
        format!("{stack_name}-{suffix}")
    }

    /// Its memory and timeout from `quarry.toml`.
    pub fn settings(self, config: &QuarryConfig) -> FunctionConfig {
        match self {
            LambdaFunction::Invoke => config.functions.invoke,
            LambdaFunction::Ingest => config.functions.ingest,
            LambdaFunction::CatalogSync => config.functions.catalog_sync,
        }
    }

    /// What it does, for the function's description.
    pub fn description(self) -> &'static str {
        match self {
            LambdaFunction::Invoke => {
                "quarry invoke API: Bedrock chat, embeddings, models, compare"
            }
            LambdaFunction::Ingest => "quarry ingest: S3 documents to the vector index",
            LambdaFunction::CatalogSync => "quarry catalog sync: Bedrock models to the S3 catalog",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_stack_names_functions_like_their_binaries() {
        for function in LambdaFunction::ALL {
            assert_eq!(function.function_name("quarry"), function.binary());
        }
        assert_eq!(LambdaFunction::CatalogSync.function_name("team-a"), "team-a-catalog-sync");
        assert_eq!(LambdaFunction::CatalogSync.code_key_parameter(), "CatalogSyncCodeKey");
    }
}
