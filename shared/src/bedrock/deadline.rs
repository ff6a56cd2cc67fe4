//! The deadline of one call: fail fast when it has passed, give the SDK an operation timeout of
//! the time left, bound each wait for a stream event, and say when a timeout was the deadline's.

use std::future::Future;
use std::time::Instant;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::client::customize::CustomizableOperation;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};

use super::{CallError, CallOptions};
use crate::error::classify;

/// The time one call may take, decided just before it is sent.
#[derive(Debug, Clone)]
pub(crate) struct CallBudget {
    deadline: Option<Instant>,
    /// The timeouts for this call: the client's, with the operation timeout cut to the time left.
    timeouts: Option<TimeoutConfig>,
}

impl CallBudget {
    /// The budget of a call about to start, or [`CallError::DeadlineExceeded`] if no time is left.
    pub(crate) fn start(client: &Client, options: &CallOptions) -> Result<Self, CallError> {
        let Some(deadline) = options.deadline else {
            return Ok(CallBudget { deadline: None, timeouts: None });
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(CallError::DeadlineExceeded);
        }
        let client_timeouts = client.config().timeout_config();
        let operation = client_timeouts
            .and_then(TimeoutConfig::operation_timeout)
            .map_or(left, |own| own.min(left));
        let mut timeouts = TimeoutConfig::builder().operation_timeout(operation).build();
        if let Some(own) = client_timeouts {
            // Keep the client's connect, read and attempt timeouts: an override replaces them.
            timeouts.take_defaults_from(own);
        }
        Ok(CallBudget { deadline: Some(deadline), timeouts: Some(timeouts) })
    }

    /// The instant the call must be over by.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Puts this budget's operation timeout on one call.
    pub(crate) fn apply<T, E, B>(
        &self,
        operation: CustomizableOperation<T, E, B>,
    ) -> CustomizableOperation<T, E, B> {
        match &self.timeouts {
            Some(timeouts) => operation.config_override(
                aws_sdk_bedrockruntime::Config::builder().timeout_config(timeouts.clone()),
            ),
            None => operation,
        }
    }

    /// The [`CallError`] of an SDK failure: a timeout that fired at the deadline is
    /// [`CallError::DeadlineExceeded`]; everything else is classified.
    pub(crate) fn error<E, R>(&self, error: &SdkError<E, R>) -> CallError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let deadline_passed = self.deadline.is_some_and(|deadline| Instant::now() >= deadline);
        if deadline_passed && matches!(error, SdkError::TimeoutError(_)) {
            CallError::DeadlineExceeded
        } else {
            CallError::Bedrock(classify(error))
        }
    }
}

/// Waits for `future` until `deadline`; past it, [`CallError::DeadlineExceeded`].
pub(crate) async fn until<F: Future>(
    deadline: Option<Instant>,
    future: F,
) -> Result<F::Output, CallError> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.into(), future)
            .await
            .map_err(|_| CallError::DeadlineExceeded),
        None => Ok(future.await),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};

    use super::*;

    fn client(timeouts: TimeoutConfig) -> Client {
        let config = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .timeout_config(timeouts)
            .build();
        Client::from_conf(config)
    }

    #[test]
    fn no_deadline_changes_nothing() {
        let budget = CallBudget::start(&client(TimeoutConfig::disabled()), &CallOptions::default())
            .expect("no deadline, no failure");
        assert!(budget.deadline().is_none());
        assert!(budget.timeouts.is_none());
    }

    #[test]
    fn a_passed_deadline_fails_before_any_call() {
        let past = CallOptions { deadline: Some(Instant::now()) };
        assert!(matches!(
            CallBudget::start(&client(TimeoutConfig::disabled()), &past),
            Err(CallError::DeadlineExceeded)
        ));
    }

    #[test]
    fn the_operation_timeout_is_the_time_left_unless_the_client_has_a_shorter_one() {
        let own = TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(3_100))
            .operation_attempt_timeout(Duration::from_secs(20))
            .build();
        let budget = CallBudget::start(&client(own), &CallOptions::within(Duration::from_secs(30)))
            .expect("time is left");
        let timeouts = budget.timeouts.expect("timeouts");
        let operation = timeouts.operation_timeout().expect("an operation timeout");
        assert!(operation <= Duration::from_secs(30) && operation > Duration::from_secs(29));
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_millis(3_100)), "kept");
        assert_eq!(timeouts.operation_attempt_timeout(), Some(Duration::from_secs(20)), "kept");

        let shorter = TimeoutConfig::builder().operation_timeout(Duration::from_secs(5)).build();
        let budget =
            CallBudget::start(&client(shorter), &CallOptions::within(Duration::from_secs(30)))
                .expect("time is left");
        let operation = budget.timeouts.and_then(|t| t.operation_timeout());
        assert_eq!(operation, Some(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn waiting_past_the_deadline_is_deadline_exceeded() {
        let soon = Some(Instant::now() + Duration::from_millis(20));
        let waited = until(soon, std::future::pending::<()>()).await;
        assert!(matches!(waited, Err(CallError::DeadlineExceeded)));
        assert_eq!(until(None, async { 7 }).await.expect("no deadline"), 7);
        let later = Some(Instant::now() + Duration::from_secs(5));
        assert_eq!(until(later, async { 7 }).await.expect("in time"), 7);
    }
}
