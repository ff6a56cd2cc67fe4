//! The token counts InvokeModel sends as response headers (`x-amzn-bedrock-input-token-count`,
//! `x-amzn-bedrock-output-token-count`), read by a per-call interceptor: the SDK's
//! `InvokeModelOutput` has no field for them.

use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_bedrockruntime::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_bedrockruntime::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_bedrockruntime::error::BoxError;

/// The header with the number of input tokens of an InvokeModel call.
pub(crate) const INPUT_TOKEN_COUNT: &str = "x-amzn-bedrock-input-token-count";
/// The header with the number of output tokens of an InvokeModel call.
pub(crate) const OUTPUT_TOKEN_COUNT: &str = "x-amzn-bedrock-output-token-count";

/// The token counts of one InvokeModel answer, where its headers had them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TokenCounts {
    pub input: Option<u32>,
    pub output: Option<u32>,
}

/// An interceptor for one call that keeps the token-count headers of the last response (with
/// retries, the attempt that answered). Clone it before handing it to the call.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenCountHeaders {
    seen: Arc<Mutex<TokenCounts>>,
}

impl TokenCountHeaders {
    /// The counts of the last response, once the call is done.
    pub(crate) fn counts(&self) -> TokenCounts {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Intercept for TokenCountHeaders {
    fn name(&self) -> &'static str {
        "quarry::bedrock::TokenCountHeaders"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context.response().headers();
        let count = |name: &str| headers.get(name).and_then(|value| value.trim().parse().ok());
        let counts =
            TokenCounts { input: count(INPUT_TOKEN_COUNT), output: count(OUTPUT_TOKEN_COUNT) };
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = counts;
        Ok(())
    }
}
