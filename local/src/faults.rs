//! Switchable faults for the local Bedrock endpoint: throttling, 5xx errors, model timeouts, added
//! latency and cut streams, so callers' retry, timeout and stream-error handling can be exercised.
//!
//! All faults are off by default. They are set for the process from `QUARRY_LOCAL_FAULTS` (a comma
//! list such as `throttle_every=3,latency_ms=50`, see [`FaultConfig::from_str`]) and changed at run
//! time through the admin endpoint `GET`/`PUT /_quarry/faults` (the same keys as a flat JSON object)
//! or in process through the [`Faults`] handle.
//!
//! Each faultable request (every model invocation and ApplyGuardrail) gets the next call number
//! `n` (1, 2, 3, … — reset whenever the configuration is replaced). An error fault fires on call `n`
//! when `n` is a multiple of its `*_every`, or when a pseudo-random draw derived only from `seed`,
//! `n` and the fault kind falls under its `*_rate`: the same configuration and call sequence always
//! fail the same calls. Error faults are checked in the order model timeout, service unavailable,
//! internal error, throttling; the first that fires answers the call.
//!
//! A cut stream (`cut_stream_after=N`) delivers N event-stream messages and then either drops the
//! connection mid-body (`cut_stream_with=abort`, the default: the HTTP response never completes, as
//! when a network path or the service dies) or sends a `modelStreamErrorException` exception message
//! and ends the stream (`cut_stream_with=exception`, as Bedrock does when the model fails mid-answer).

use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::aws_error::AwsError;

/// The environment variable that sets the process's faults at start-up.
pub const FAULTS_ENV: &str = "QUARRY_LOCAL_FAULTS";

/// What can be wrong with a fault specification.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultSpecError {
    #[error("fault setting `{0}` is not `key=value`")]
    NotKeyValue(String),
    #[error(
        "unknown fault `{0}`; expected one of throttle_every, throttle_rate, unavailable_every, unavailable_rate, internal_every, internal_rate, timeout_every, timeout_rate, latency_ms, latency_per_token_ms, cut_stream_after, cut_stream_with, seed"
    )]
    UnknownKey(String),
    #[error("fault `{key}` expects {expected}, got `{value}`")]
    BadValue { key: String, expected: &'static str, value: String },
}

/// How a cut stream ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamCut {
    /// The connection is dropped mid-body: the client sees an incomplete response.
    #[default]
    Abort,
    /// A `modelStreamErrorException` exception message ends the stream.
    Exception,
}

/// The fault settings; every field unset or zero means that fault is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Answer every Nth call with ThrottlingException (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_every: Option<u32>,
    /// Answer this fraction of calls (0–1) with ThrottlingException (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_rate: Option<f64>,
    /// Answer every Nth call with ServiceUnavailableException (503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_every: Option<u32>,
    /// Answer this fraction of calls with ServiceUnavailableException (503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_rate: Option<f64>,
    /// Answer every Nth call with InternalServerException (500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_every: Option<u32>,
    /// Answer this fraction of calls with InternalServerException (500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_rate: Option<f64>,
    /// Answer every Nth call with ModelTimeoutException (408).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_every: Option<u32>,
    /// Answer this fraction of calls with ModelTimeoutException (408).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_rate: Option<f64>,
    /// Added before every answer (time to first byte), in milliseconds.
    pub latency_ms: u64,
    /// Added per output token, in milliseconds (streams pay it delta by delta).
    pub latency_per_token_ms: u64,
    /// Streams stop after this many event-stream messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_stream_after: Option<u32>,
    /// How a cut stream ends.
    pub cut_stream_with: StreamCut,
    /// Seed of the pseudo-random draws behind the `*_rate` faults.
    pub seed: u64,
}

impl FaultConfig {
    /// Reads [`FAULTS_ENV`]; unset or empty means no faults.
    pub fn from_env() -> Result<Self, FaultSpecError> {
        match std::env::var(FAULTS_ENV) {
            Ok(spec) => spec.parse(),
            Err(_) => Ok(FaultConfig::default()),
        }
    }

    /// Checks ranges: rates within 0–1 and `*_every` at least 1.
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        let rates = [
            ("throttle_rate", self.throttle_rate),
            ("unavailable_rate", self.unavailable_rate),
            ("internal_rate", self.internal_rate),
            ("timeout_rate", self.timeout_rate),
        ];
        for (key, rate) in rates {
            if let Some(rate) = rate
                && !(0.0..=1.0).contains(&rate)
            {
                return Err(bad(key, "a fraction between 0 and 1", &rate.to_string()));
            }
        }
        let everies = [
            ("throttle_every", self.throttle_every),
            ("unavailable_every", self.unavailable_every),
            ("internal_every", self.internal_every),
            ("timeout_every", self.timeout_every),
        ];
        for (key, every) in everies {
            if every == Some(0) {
                return Err(bad(key, "a whole number of calls of at least 1", "0"));
            }
        }
        Ok(())
    }

    /// Whether any fault is switched on.
    pub fn is_active(&self) -> bool {
        *self != FaultConfig { seed: self.seed, ..FaultConfig::default() }
    }
}

fn bad(key: &str, expected: &'static str, value: &str) -> FaultSpecError {
    FaultSpecError::BadValue { key: key.to_owned(), expected, value: value.to_owned() }
}

impl FromStr for FaultConfig {
    type Err = FaultSpecError;

    /// Parses `key=value` pairs separated by commas, e.g. `throttle_every=3,latency_ms=50`.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut config = FaultConfig::default();
        for setting in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = setting
                .split_once('=')
                .ok_or_else(|| FaultSpecError::NotKeyValue(setting.to_owned()))?;
            let (key, value) = (key.trim(), value.trim());
            let every = || value.parse::<u32>().map_err(|_| bad(key, "a whole number", value));
            let rate = || value.parse::<f64>().map_err(|_| bad(key, "a number", value));
            let millis = || value.parse::<u64>().map_err(|_| bad(key, "milliseconds", value));
            match key {
                "throttle_every" => config.throttle_every = Some(every()?),
                "throttle_rate" => config.throttle_rate = Some(rate()?),
                "unavailable_every" => config.unavailable_every = Some(every()?),
                "unavailable_rate" => config.unavailable_rate = Some(rate()?),
                "internal_every" => config.internal_every = Some(every()?),
                "internal_rate" => config.internal_rate = Some(rate()?),
                "timeout_every" => config.timeout_every = Some(every()?),
                "timeout_rate" => config.timeout_rate = Some(rate()?),
                "latency_ms" => config.latency_ms = millis()?,
                "latency_per_token_ms" => config.latency_per_token_ms = millis()?,
                "cut_stream_after" => config.cut_stream_after = Some(every()?),
                "cut_stream_with" => {
                    config.cut_stream_with = match value {
                        "abort" => StreamCut::Abort,
                        "exception" => StreamCut::Exception,
                        _ => return Err(bad(key, "`abort` or `exception`", value)),
                    }
                }
                "seed" => config.seed = value.parse().map_err(|_| bad(key, "a number", value))?,
                _ => return Err(FaultSpecError::UnknownKey(key.to_owned())),
            }
        }
        config.validate()?;
        Ok(config)
    }
}

/// The faults of one running endpoint, shared by all requests; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default)]
struct FaultState {
    config: FaultConfig,
    calls: u64,
}

/// What a call is allowed to do once it passed the error faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallPlan {
    /// Wait this long before answering.
    pub latency: Duration,
    /// Wait this long per output token.
    pub per_token: Duration,
    /// Streams stop after this many messages, and how.
    pub cut_stream: Option<(u32, StreamCut)>,
}

impl Faults {
    /// A handle with `config` switched on.
    pub fn new(config: FaultConfig) -> Self {
        Faults { state: Arc::new(Mutex::new(FaultState { config, calls: 0 })) }
    }

    /// The current settings.
    pub fn config(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    /// Replaces the settings and restarts the call count.
    pub fn set(&self, config: FaultConfig) -> Result<(), FaultSpecError> {
        config.validate()?;
        let mut state = self.lock();
        *state = FaultState { config, calls: 0 };
        Ok(())
    }

    /// How many faultable calls were counted since the configuration was last replaced.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// Switches every fault off.
    pub fn clear(&self) {
        *self.lock() = FaultState::default();
    }

    /// Counts one faultable call and decides its fate: an error to answer with, or the latency and
    /// stream cut it must apply.
    pub fn on_call(&self) -> Result<CallPlan, AwsError> {
        let (config, n) = {
            let mut state = self.lock();
            state.calls += 1;
            (state.config.clone(), state.calls)
        };
        let fires = |kind: u64, every: Option<u32>, rate: Option<f64>| {
            every.is_some_and(|every| n % u64::from(every) == 0)
                || rate.is_some_and(|rate| draw(config.seed, n, kind) < rate)
        };
        if fires(1, config.timeout_every, config.timeout_rate) {
            return Err(AwsError::model_timeout(
                "Model has timed out in processing the request. Try your request again.",
            ));
        }
        if fires(2, config.unavailable_every, config.unavailable_rate) {
            return Err(AwsError::service_unavailable(
                "Bedrock is unable to process your request. Try your request again.",
            ));
        }
        if fires(3, config.internal_every, config.internal_rate) {
            return Err(AwsError::internal(
                "The system encountered an unexpected error during processing. Try your request again.",
            ));
        }
        if fires(4, config.throttle_every, config.throttle_rate) {
            return Err(AwsError::throttling(
                "Too many requests, please wait before trying again.",
            ));
        }
        Ok(CallPlan {
            latency: Duration::from_millis(config.latency_ms),
            per_token: Duration::from_millis(config.latency_per_token_ms),
            cut_stream: config.cut_stream_after.map(|n| (n, config.cut_stream_with)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        // The state is plain data, always consistent: a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A uniform draw in [0, 1) determined by `seed`, the call number and the fault kind (SplitMix64).
fn draw(seed: u64, call: u64, kind: u64) -> f64 {
    let mut z = seed
        .wrapping_add(call.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(kind.wrapping_mul(0xD1B5_4A32_D192_ED69));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes(faults: &Faults, calls: usize) -> Vec<Option<&'static str>> {
        (0..calls).map(|_| faults.on_call().err().map(|e| e.code)).collect()
    }

    #[test]
    fn no_faults_by_default() {
        let faults = Faults::default();
        assert!(outcomes(&faults, 20).iter().all(Option::is_none));
        assert_eq!(faults.on_call().expect("no fault"), CallPlan::default());
        assert!(!FaultConfig::default().is_active());
    }

    #[test]
    fn throttle_every_third_call() {
        let faults = Faults::new("throttle_every=3".parse().expect("spec"));
        let seen = outcomes(&faults, 6);
        assert_eq!(
            seen,
            [None, None, Some("ThrottlingException"), None, None, Some("ThrottlingException")]
        );
    }

    #[test]
    fn replacing_the_config_restarts_the_count() {
        let faults = Faults::new("unavailable_every=2".parse().expect("spec"));
        assert_eq!(outcomes(&faults, 1), [None]);
        faults.set("unavailable_every=2".parse().expect("spec")).expect("valid");
        assert_eq!(outcomes(&faults, 2), [None, Some("ServiceUnavailableException")]);
        faults.clear();
        assert!(outcomes(&faults, 4).iter().all(Option::is_none));
    }

    #[test]
    fn rate_faults_are_deterministic_for_a_seed_and_near_the_rate() {
        let config: FaultConfig = "throttle_rate=0.3,seed=7".parse().expect("spec");
        let a = outcomes(&Faults::new(config.clone()), 1000);
        let b = outcomes(&Faults::new(config), 1000);
        assert_eq!(a, b);
        let throttled = a.iter().filter(|o| o.is_some()).count();
        assert!((250..350).contains(&throttled), "{throttled} of 1000 throttled");
        let other = outcomes(&Faults::new("throttle_rate=0.3,seed=8".parse().expect("spec")), 1000);
        assert_ne!(a, other);
    }

    #[test]
    fn timeout_wins_over_throttling_on_the_same_call() {
        let faults =
            Faults::new("timeout_every=2,throttle_every=2,internal_every=3".parse().expect("spec"));
        assert_eq!(
            outcomes(&faults, 3),
            [None, Some("ModelTimeoutException"), Some("InternalServerException")]
        );
    }

    #[test]
    fn latency_and_stream_cut_reach_the_call_plan() {
        let faults = Faults::new(
            "latency_ms=50, latency_per_token_ms=2, cut_stream_after=4, cut_stream_with=exception"
                .parse()
                .expect("spec"),
        );
        let plan = faults.on_call().expect("no error fault");
        assert_eq!(plan.latency, Duration::from_millis(50));
        assert_eq!(plan.per_token, Duration::from_millis(2));
        assert_eq!(plan.cut_stream, Some((4, StreamCut::Exception)));
    }

    #[test]
    fn bad_specs_say_what_was_expected() {
        let unknown = "throttle=3".parse::<FaultConfig>().expect_err("unknown key");
        assert!(unknown.to_string().contains("throttle_every"), "{unknown}");
        assert_eq!(
            "latency_ms=fast".parse::<FaultConfig>(),
            Err(bad("latency_ms", "milliseconds", "fast"))
        );
        assert!(matches!(
            "throttle_rate=1.5".parse::<FaultConfig>(),
            Err(FaultSpecError::BadValue { .. })
        ));
        assert!(matches!(
            "throttle_every=0".parse::<FaultConfig>(),
            Err(FaultSpecError::BadValue { .. })
        ));
        assert_eq!("oops".parse::<FaultConfig>(), Err(FaultSpecError::NotKeyValue("oops".into())));
        assert_eq!("".parse::<FaultConfig>(), Ok(FaultConfig::default()));
    }

    #[test]
    fn the_json_form_uses_the_same_keys_and_rejects_typos() {
        let config: FaultConfig =
            serde_json::from_str(r#"{"throttle_every":2,"latency_ms":10}"#).expect("json");
        assert_eq!(config, "throttle_every=2,latency_ms=10".parse().expect("spec"));
        assert!(serde_json::from_str::<FaultConfig>(r#"{"throttle_evry":2}"#).is_err());
    }
}
