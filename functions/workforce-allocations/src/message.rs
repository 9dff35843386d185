//! The SQS record body: an SNS notification envelope (raw delivery is off)
//! whose `Message` is the HMPPS domain event, serialised as a string.

use std::collections::HashMap;

use serde::Deserialize;

use crate::detail::parse_offset_date_time;
use crate::error::AllocationError;

#[derive(Debug, Deserialize)]
struct SnsEnvelope {
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "MessageAttributes", default)]
    message_attributes: Option<HashMap<String, SnsAttribute>>,
}

#[derive(Debug, Deserialize)]
struct SnsAttribute {
    #[serde(rename = "Value")]
    value: Option<String>,
}

/// The HMPPS domain event. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DomainEvent {
    event_type: String,
    #[allow(dead_code)] // required by the contract, not used
    version: i32,
    #[serde(default)]
    detail_url: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    additional_information: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    person_reference: Option<PersonReference>,
}

#[derive(Debug, Default, Deserialize)]
struct PersonReference {
    #[serde(default)]
    identifiers: Vec<Identifier>,
}

#[derive(Debug, Deserialize)]
struct Identifier {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

/// What the consumer needs from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationMessage {
    /// The domain event's type (for logs only: the kind comes from the detail).
    pub event_type: String,
    pub detail_url: Option<String>,
    /// The first `CRN` identifier of the person reference.
    pub crn: Option<String>,
}

/// Reads the envelope and the event in it; either failing to parse fails the
/// message.
pub fn parse(body: Option<&str>) -> Result<AllocationMessage, AllocationError> {
    let body = body.ok_or_else(|| AllocationError::Malformed("the record has no body".into()))?;
    let envelope: SnsEnvelope =
        serde_json::from_str(body).map_err(|e| AllocationError::Malformed(format!("not an SNS notification: {e}")))?;
    let event: DomainEvent = serde_json::from_str(&envelope.message)
        .map_err(|e| AllocationError::Malformed(format!("not a domain event: {e}")))?;
    if let Some(occurred_at) = &event.occurred_at
        && parse_offset_date_time(occurred_at).is_none()
    {
        return Err(AllocationError::Malformed(format!("occurredAt {occurred_at:?} is not an ISO-8601 date-time")));
    }
    let attribute = envelope
        .message_attributes
        .as_ref()
        .and_then(|attributes| attributes.get("eventType"))
        .and_then(|attribute| attribute.value.clone());
    if let Some(attribute) = attribute.filter(|a| *a != event.event_type) {
        tracing::debug!(attribute, event_type = event.event_type, "eventType attribute differs from the event");
    }
    let crn = event
        .person_reference
        .unwrap_or_default()
        .identifiers
        .into_iter()
        .find(|identifier| identifier.kind == "CRN")
        .map(|identifier| identifier.value);
    Ok(AllocationMessage { event_type: event.event_type, detail_url: event.detail_url, crn })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(message: &str) -> String {
        serde_json::json!({
            "Type": "Notification",
            "MessageId": "6d22873b-2c2e-561f-9ef2-dc606061fcd8",
            "Message": message,
            "Timestamp": "2022-07-27T14:22:07.721Z",
            "MessageAttributes": {"eventType": {"Type": "String", "Value": "person.community.manager.allocated"}},
            "SomethingNew": true
        })
        .to_string()
    }

    #[test]
    fn compact_event() {
        let body = envelope(
            r#"{"eventType":"person.community.manager.allocated","version":1,"description":"Person allocated event","detailUrl":"http://localhost:8091/allocation/person/4880d097","occurredAt":"2022-07-27T15:22:07.108917168+01:00","additionalInformation":{"allocationId":"4880d097"},"personReference":{"identifiers":[{"type":"NOMS","value":"A1234BC"},{"type":"CRN","value":"X123456"}]}}"#,
        );
        let message = parse(Some(&body)).unwrap();
        assert_eq!(
            message,
            AllocationMessage {
                event_type: "person.community.manager.allocated".into(),
                detail_url: Some("http://localhost:8091/allocation/person/4880d097".into()),
                crn: Some("X123456".into()),
            }
        );
    }

    #[test]
    fn pretty_printed_event_with_nulls() {
        let body = envelope(
            "{\n  \"eventType\" : \"event.manager.allocated\",\n  \"version\" : 1,\n  \"detailUrl\" : null,\n  \"additionalInformation\" : null,\n  \"personReference\" : null\n}",
        );
        let message = parse(Some(&body)).unwrap();
        assert_eq!(message.detail_url, None);
        assert_eq!(message.crn, None);
        assert_eq!(message.event_type, "event.manager.allocated");
    }

    #[test]
    fn malformed_envelopes_and_events_fail() {
        for body in [
            None,
            Some("not json".to_string()),
            Some(r#"{"MessageId":"x"}"#.to_string()),
            Some(envelope("{\"eventType\":\"x\"")),
            Some(envelope(r#"{"version":1}"#)),
            Some(envelope(r#"{"eventType":"x","version":1,"occurredAt":"yesterday"}"#)),
        ] {
            let err = parse(body.as_deref()).unwrap_err();
            assert!(matches!(err, AllocationError::Malformed(_)), "{body:?}: {err:?}");
        }
    }
}
