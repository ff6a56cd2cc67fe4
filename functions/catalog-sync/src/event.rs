//! What invokes the sync. An EventBridge rule delivers a scheduled event (`detail-type`
//! "Scheduled Event"); EventBridge Scheduler delivers the target's `Input` as is (any JSON, `{}`
//! by default). The sync ignores the payload; it is only logged.

use std::fmt;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;

/// The Lambda event the function accepts: an EventBridge event, or any other JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Trigger {
    /// An EventBridge event (a rule's schedule).
    EventBridge(EventBridgeEvent),
    /// Any other payload (EventBridge Scheduler's input, a manual invoke).
    Other(serde_json::Value),
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::EventBridge(event) => {
                write!(f, "{} from {}", event.detail_type, event.source)?;
                if let Some(time) = &event.time {
                    write!(f, " at {}", time.to_rfc3339())?;
                }
                if let Some(id) = &event.id {
                    write!(f, " (id {id})")?;
                }
                Ok(())
            }
            Trigger::Other(_) => f.write_str("a direct invocation"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scheduled event sample `cargo lambda invoke --data-file` sends (the shape of the
    /// aws_lambda_events fixture example-eventbridge-schedule.json).
    const SAMPLE: &str = include_str!("../../../events/scheduled.json");

    #[test]
    fn the_sample_scheduled_event_is_an_eventbridge_event() {
        let trigger: Trigger = serde_json::from_str(SAMPLE).expect("valid JSON");
        assert!(matches!(trigger, Trigger::EventBridge(_)), "{trigger:?}");
        let event: EventBridgeEvent = serde_json::from_str(SAMPLE).expect("an EventBridge event");
        assert_eq!(event.detail_type, "Scheduled Event");
        assert_eq!(event.source, "aws.events");
        assert_eq!(
            trigger.to_string(),
            "Scheduled Event from aws.events at 2015-10-08T16:53:06+00:00 (id 53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa)"
        );
    }

    #[test]
    fn scheduler_payloads_and_manual_invokes_are_accepted() {
        for payload in ["{}", r#"{"scheduledTime": "2025-06-01T03:00:00Z"}"#, "null", "\"sync\""] {
            let trigger: Trigger = serde_json::from_str(payload).expect(payload);
            assert!(matches!(trigger, Trigger::Other(_)), "{payload}: {trigger:?}");
            assert_eq!(trigger.to_string(), "a direct invocation");
        }
    }
}
