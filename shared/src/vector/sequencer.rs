//! The S3 event `sequencer`: the order of the events on one object key.
//!
//! The AWS S3 user guide, "Event message structure" (`notification-content-structure`): "the
//! event notification with the greater sequencer hexadecimal value is the event that occurred
//! later … The sequencers can be of different lengths. To compare these values, first right pad
//! the shorter value with zeros, and then do a lexicographical comparison." Sequencers of
//! different keys are not comparable; quarry only compares those of one document.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::VectorError;

/// An S3 event sequencer (hex digits), ordered as S3 documents.
///
/// Equality follows the ordering: `0A` and `0A00` are the same position in the sequence.
#[derive(Debug, Clone)]
pub struct Sequencer(String);

impl Sequencer {
    /// A sequencer from its hex digits (any case); stored in uppercase as S3 writes it.
    pub fn new(value: &str) -> Result<Self, VectorError> {
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VectorError::InvalidSequencer { value: value.to_owned() });
        }
        Ok(Sequencer(value.to_ascii_uppercase()))
    }

    /// The hex digits, uppercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for Sequencer {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let width = a.len().max(b.len());
        let padded = |digits: &[u8], i: usize| digits.get(i).copied().unwrap_or(b'0');
        (0..width)
            .map(|i| padded(a, i).cmp(&padded(b, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for Sequencer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Sequencer {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Sequencer {}

impl FromStr for Sequencer {
    type Err = VectorError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Sequencer::new(value)
    }
}

impl fmt::Display for Sequencer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Sequencer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sequencer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Sequencer::new(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(value: &str) -> Sequencer {
        Sequencer::new(value).expect("a hex sequencer")
    }

    #[test]
    fn sequencers_compare_right_padded_with_zeros() {
        // The sequencer of the S3 user guide's ObjectCreated:Put example message.
        let documented = seq("0055AED6DCD90281E5");
        assert!(seq("0055AED6DCD90281E6") > documented);
        assert!(seq("0055AED6DCD90281E4FFFF") < documented);
        // Right padding: a longer value with more digits after an equal prefix is later…
        assert!(seq("0055AED6DCD90281E501") > documented);
        // …and trailing zeros change nothing.
        assert_eq!(seq("0055AED6DCD90281E500"), documented);
        assert_eq!(seq("0055aed6dcd90281e5"), documented);
        assert_eq!(seq("0055aed6dcd90281e5").as_str(), "0055AED6DCD90281E5");
        // Not numeric order: right padding makes "1" (= "10") later than "0F".
        assert!(seq("1") > seq("0F"));
    }

    #[test]
    fn only_hex_digits_are_sequencers() {
        for bad in ["", "  ", "0055-AED6", "xyz", "0x12"] {
            assert!(
                matches!(Sequencer::new(bad), Err(VectorError::InvalidSequencer { .. })),
                "{bad:?}"
            );
        }
        let json = serde_json::to_string(&seq("0a")).expect("serialize");
        assert_eq!(json, "\"0A\"");
        assert_eq!(serde_json::from_str::<Sequencer>(&json).expect("deserialize"), seq("0A"));
        assert!(serde_json::from_str::<Sequencer>("\"nope\"").is_err());
    }
}
