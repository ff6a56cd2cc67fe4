//! `application/vnd.amazon.eventstream` framing of stream answers, as the AWS SDKs unmarshal them.
//!
//! Each message carries `:message-type` (`event` or `exception`), `:event-type` or
//! `:exception-type` naming the union member, and `:content-type: application/json`; the payload is
//! the member's JSON. Frames (prelude, headers, payload, CRCs) are written by
//! `aws-smithy-eventstream`, the SDKs' own codec.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use aws_smithy_types::str_bytes::StrBytes;
use bytes::Bytes;

use crate::aws_error::AwsError;

/// The HTTP content type of an event-stream body.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// One framed `event` message: `event_type` names the stream union member (e.g. `messageStart`).
pub fn event(event_type: &str, payload: &impl serde::Serialize) -> Result<Bytes, AwsError> {
    frame("event", ":event-type", event_type, payload)
}

/// One framed `exception` message: `exception_type` is the member name in lower camel case (e.g.
/// `modelStreamErrorException`), the payload `{"message": ...}`.
pub fn exception(exception_type: &str, message: &str) -> Result<Bytes, AwsError> {
    frame(
        "exception",
        ":exception-type",
        exception_type,
        &serde_json::json!({ "message": message }),
    )
}

fn frame(
    message_type: &'static str,
    type_header: &'static str,
    type_name: &str,
    payload: &impl serde::Serialize,
) -> Result<Bytes, AwsError> {
    let payload = serde_json::to_vec(payload)
        .map_err(|e| AwsError::internal(format!("could not encode a stream event: {e}")))?;
    let message = Message::new(payload)
        .add_header(Header::new(
            type_header,
            HeaderValue::String(StrBytes::from(type_name.to_owned())),
        ))
        .add_header(Header::new(":content-type", HeaderValue::String("application/json".into())))
        .add_header(Header::new(":message-type", HeaderValue::String(message_type.into())));
    let mut buffer = Vec::new();
    write_message_to(&message, &mut buffer)
        .map_err(|e| AwsError::internal(format!("could not frame a stream event: {e}")))?;
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use aws_smithy_eventstream::frame::read_message_from;
    use aws_smithy_eventstream::smithy::parse_response_headers;

    use super::*;

    #[test]
    fn an_event_frame_decodes_with_the_sdk_codec_to_its_type_and_payload() {
        let bytes =
            event("messageStart", &serde_json::json!({"role": "assistant"})).expect("frame");
        let message = read_message_from(bytes).expect("a valid frame with matching CRCs");
        let headers = parse_response_headers(&message).expect("smithy headers");
        assert_eq!(headers.message_type.as_str(), "event");
        assert_eq!(headers.smithy_type.as_str(), "messageStart");
        assert_eq!(headers.content_type(), Some("application/json"));
        let payload: serde_json::Value = serde_json::from_slice(message.payload()).expect("json");
        assert_eq!(payload, serde_json::json!({"role": "assistant"}));
    }

    #[test]
    fn an_exception_frame_names_the_exception_and_carries_the_message() {
        let bytes = exception("modelStreamErrorException", "cut").expect("frame");
        let message = read_message_from(bytes).expect("frame");
        let headers = parse_response_headers(&message).expect("headers");
        assert_eq!(headers.message_type.as_str(), "exception");
        assert_eq!(headers.smithy_type.as_str(), "modelStreamErrorException");
        assert_eq!(message.payload().as_ref(), br#"{"message":"cut"}"#);
    }
}
