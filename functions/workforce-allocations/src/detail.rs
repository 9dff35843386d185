//! The Workload allocation detail, and what it says.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Timelike};
use serde::{Deserialize, Deserializer};

use crate::error::AllocationError;

/// The allocated element, decided by the detail's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Person,
    Event,
    Requirement,
    LicenceCondition,
}

impl Kind {
    /// The metric dimension and log value.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Event => "event",
            Kind::Requirement => "requirement",
            Kind::LicenceCondition => "licence-condition",
        }
    }

    /// The Delius business interaction audited for the kind.
    pub fn business_interaction(self) -> &'static str {
        match self {
            Kind::Person => "CABI231",
            Kind::Event => "CABI041",
            // Delius audits both sentence components as a component transfer.
            Kind::Requirement | Kind::LicenceCondition => "CABI038",
        }
    }

    /// The reference data set of the kind's allocation reasons.
    pub fn reason_dataset(self) -> &'static str {
        match self {
            Kind::Person => "OM ALLOCATION REASON",
            Kind::Event => "ORDER ALLOCATION REASON",
            // Licence condition managers take the requirement managers' reasons.
            Kind::Requirement | Kind::LicenceCondition => "RM ALLOCATION REASON",
        }
    }
}

/// Fields every detail has.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    /// Opaque (not always a UUID in practice).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    pub staff_code: String,
    pub team_code: String,
    /// As received, for messages; see [`Common::allocated_at`].
    pub created_date: String,
    #[serde(default)]
    pub allocation_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PersonDetail {
    #[serde(flatten)]
    pub common: Common,
    pub crn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDetail {
    #[serde(flatten)]
    pub common: Common,
    #[serde(deserialize_with = "integer")]
    pub event_number: i64,
    #[serde(default, alias = "notes")]
    pub allocation_justification_notes: Option<String>,
    #[serde(default, alias = "sensitive")]
    pub sensitive_notes: Option<bool>,
    #[serde(default)]
    pub spo_oversight_notes: Option<String>,
    #[serde(default)]
    pub sensitive_oversight_notes: Option<bool>,
    #[serde(default)]
    pub spo_staff_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequirementDetail {
    #[serde(flatten)]
    pub common: Common,
    #[serde(deserialize_with = "integer")]
    pub requirement_id: i64,
    #[serde(deserialize_with = "integer")]
    pub event_number: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenceConditionDetail {
    #[serde(flatten)]
    pub common: Common,
    #[serde(deserialize_with = "integer")]
    pub licence_condition_id: i64,
    #[serde(deserialize_with = "integer")]
    pub event_number: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Person(PersonDetail),
    Event(EventDetail),
    Requirement(RequirementDetail),
    LicenceCondition(LicenceConditionDetail),
}

impl Detail {
    /// Reads a detail body. The kind comes from its keys, in this order:
    /// `crn` (person), `requirementId` (requirement), `licenceConditionId`
    /// (licence condition), `eventNumber` (event); the message's `eventType` is
    /// never consulted. Component details carry `eventNumber` too, so the event
    /// kind must come last: a component read as an event would end and replace
    /// the event's order manager.
    pub fn parse(body: &[u8]) -> Result<Detail, AllocationError> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| AllocationError::InvalidDetail(e.to_string()))?;
        let has = |key: &str| value.get(key).is_some_and(|v| !v.is_null());
        let invalid = |e: serde_json::Error| AllocationError::InvalidDetail(e.to_string());
        let detail = if has("crn") {
            Detail::Person(serde_json::from_value(value).map_err(invalid)?)
        } else if has("requirementId") {
            Detail::Requirement(serde_json::from_value(value).map_err(invalid)?)
        } else if value.get("licenceConditionId").is_some() {
            // Present at all (even null) is enough: such a detail must fail
            // rather than fall through to the event kind.
            Detail::LicenceCondition(serde_json::from_value(value).map_err(invalid)?)
        } else if has("eventNumber") {
            Detail::Event(serde_json::from_value(value).map_err(invalid)?)
        } else {
            return Err(AllocationError::UnexpectedDetail);
        };
        detail.common().allocated_at()?;
        Ok(detail)
    }

    pub fn kind(&self) -> Kind {
        match self {
            Detail::Person(_) => Kind::Person,
            Detail::Event(_) => Kind::Event,
            Detail::Requirement(_) => Kind::Requirement,
            Detail::LicenceCondition(_) => Kind::LicenceCondition,
        }
    }

    pub fn common(&self) -> &Common {
        match self {
            Detail::Person(d) => &d.common,
            Detail::Event(d) => &d.common,
            Detail::Requirement(d) => &d.common,
            Detail::LicenceCondition(d) => &d.common,
        }
    }
}

impl Common {
    /// The allocation date-time as Delius stores it: Europe/London wall-clock
    /// time, to the whole second (Delius keeps allocation dates as Oracle
    /// DATEs, and the duplicate and conflict checks compare whole seconds).
    pub fn allocated_at(&self) -> Result<NaiveDateTime, AllocationError> {
        let instant = parse_offset_date_time(&self.created_date).ok_or_else(|| {
            AllocationError::InvalidDetail(format!("createdDate {:?} is not an ISO-8601 date-time", self.created_date))
        })?;
        let local = delius_db::time::to_london(&instant);
        Ok(local.with_nanosecond(0).unwrap_or(local))
    }

    /// The allocation reason, with unknown or missing text read as the
    /// initial allocation (logged).
    pub fn reason(&self) -> AllocationReason {
        match self.allocation_reason.as_deref().map(str::trim) {
            None | Some("") => AllocationReason::InitialAllocation,
            Some(text) => AllocationReason::from_name(text).unwrap_or_else(|| {
                tracing::warn!(allocation_reason = text, "unknown allocation reason, recorded as INITIAL_ALLOCATION");
                AllocationReason::InitialAllocation
            }),
        }
    }
}

/// Workload's allocation reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationReason {
    AllocatedToResponsibleOfficer,
    CaseloadAdjustment,
    ChangeInTierOrRisk,
    ChangeOfAddress,
    OfficerLeft,
    Other,
    RiskToStaff,
    TransferIn,
    ProbationReset,
    InitialAllocation,
}

impl AllocationReason {
    pub fn from_name(name: &str) -> Option<AllocationReason> {
        Some(match name {
            "ALLOCATED_TO_RESPONSIBLE_OFFICER" => AllocationReason::AllocatedToResponsibleOfficer,
            "CASELOAD_ADJUSTMENT" => AllocationReason::CaseloadAdjustment,
            "CHANGE_IN_TIER_OR_RISK" => AllocationReason::ChangeInTierOrRisk,
            "CHANGE_OF_ADDRESS" => AllocationReason::ChangeOfAddress,
            "OFFICER_LEFT" => AllocationReason::OfficerLeft,
            "OTHER" => AllocationReason::Other,
            "RISK_TO_STAFF" => AllocationReason::RiskToStaff,
            "TRANSFER_IN" => AllocationReason::TransferIn,
            "PROBATION_RESET" => AllocationReason::ProbationReset,
            "INITIAL_ALLOCATION" => AllocationReason::InitialAllocation,
            _ => return None,
        })
    }

    /// The Delius `code_value` in the kind's allocation reason data set.
    pub fn code(self, kind: Kind) -> &'static str {
        use AllocationReason::*;
        match (self, kind) {
            (AllocatedToResponsibleOfficer, _) => "RO",
            (CaseloadAdjustment, _) => "AR02",
            (ChangeInTierOrRisk, _) => "CTR",
            (ChangeOfAddress, Kind::Person) => "AR03",
            (ChangeOfAddress, Kind::Event) => "OA01",
            (ChangeOfAddress, Kind::Requirement | Kind::LicenceCondition) => "OM",
            (OfficerLeft, _) => "OFL",
            (Other, _) => "OTH",
            (RiskToStaff, _) => "RTS",
            (TransferIn, _) => "TIN",
            (ProbationReset, _) => "RESET",
            (InitialAllocation, Kind::Event) => "INT",
            (InitialAllocation, _) => "IN1",
        }
    }
}

/// Any ISO-8601 date-time with an offset (`Z`, `+01:00`, `+0100`, `+01`),
/// with or without seconds and fractions of a second.
pub fn parse_offset_date_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    // Java's ISO_OFFSET_DATE_TIME also takes minutes-only times; chrono's
    // `%#z` takes +hh, +hhmm and +hh:mm. `Z` is normalised first.
    let normalised = match text.strip_suffix(['Z', 'z']) {
        Some(rest) => format!("{rest}+00:00"),
        None => text.to_string(),
    };
    ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"]
        .iter()
        .find_map(|format| DateTime::parse_from_str(&normalised, format).ok())
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

// Integers, also as numeric text (as Jackson coerces them).
fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        Number(i64),
        Text(String),
    }
    match Int::deserialize(d)? {
        Int::Number(n) => Ok(n),
        Int::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_shape() {
        let person = br#"{"id":"Fe2474-Sjgjau2","staffId":345234,"staffCode":"N02ABS1","teamCode":"N02ABS","createdBy":"Smith, Bob","createdDate":"2022-07-28T10:30:54.023+01:00","crn":"X123456","personName":"John Smith","staffGrade":"GA1","staffEmail":"someone@email.com","staffForename":"Bob","staffSurname":"Smith"}"#;
        let Detail::Person(d) = Detail::parse(person).unwrap() else { panic!("person") };
        assert_eq!(d.crn, "X123456");
        assert_eq!(d.common.staff_code, "N02ABS1");
        assert_eq!(d.common.team_code, "N02ABS");
        assert_eq!(d.common.id, "Fe2474-Sjgjau2");

        let event = br#"{"id":"Fe2474-Sjgjau2","staffId":345234,"staffCode":"N02ABS1","teamCode":"N02ABS","createdBy":"Smith, Bob","createdDate":"2022-07-28T10:30:54.023+01:00","eventNumber":1,"sensitiveNotes":false,"sensitiveOversightNotes":false,"spoOversightNotes":"Spo oversight notes"}"#;
        let Detail::Event(d) = Detail::parse(event).unwrap() else { panic!("event") };
        assert_eq!(d.event_number, 1);
        assert_eq!(d.sensitive_notes, Some(false));
        assert_eq!(d.spo_oversight_notes.as_deref(), Some("Spo oversight notes"));
        assert_eq!(d.spo_staff_code, None);

        let requirement = br#"{"id":"Fe2474-Sjgjau2","staffId":345234,"staffCode":"N02ABS1","teamCode":"N02ABS","providerCode":"N02","createdBy":"Smith, Bob","createdDate":"2022-07-28T10:30:54.023+01:00","eventNumber":1,"requirementId":34}"#;
        let Detail::Requirement(d) = Detail::parse(requirement).unwrap() else { panic!("requirement") };
        assert_eq!((d.requirement_id, d.event_number), (34, 1));

        let aliases = br#"{"id":"a","staffCode":"S","teamCode":"T","createdDate":"2022-07-28T09:30:54Z","eventNumber":"2","notes":"why","sensitive":true}"#;
        let Detail::Event(d) = Detail::parse(aliases).unwrap() else { panic!("event") };
        assert_eq!(d.event_number, 2);
        assert_eq!(d.allocation_justification_notes.as_deref(), Some("why"));
        assert_eq!(d.sensitive_notes, Some(true));
    }

    #[test]
    fn a_licence_condition_detail_is_never_an_event() {
        let body = br#"{"id":"Fe2474-Sjgjau2","staffId":345234,"staffCode":"N02ABS1","teamCode":"N02ABS","providerCode":"N02","createdBy":"Smith, Bob","createdDate":"2022-07-28T10:30:54.023+01:00","eventNumber":1,"licenceConditionId":9501}"#;
        let Detail::LicenceCondition(d) = Detail::parse(body).unwrap() else { panic!("licence condition") };
        assert_eq!((d.licence_condition_id, d.event_number), (9501, 1));

        // Whatever else the detail carries (every event field, in any order,
        // the id as text), `licenceConditionId` keeps it off the event path.
        let event_fields = [
            ("allocationJustificationNotes", serde_json::json!("why")),
            ("notes", serde_json::json!("why")),
            ("sensitiveNotes", serde_json::json!(true)),
            ("sensitive", serde_json::json!(false)),
            ("spoOversightNotes", serde_json::json!("oversight")),
            ("sensitiveOversightNotes", serde_json::json!(true)),
            ("spoStaffCode", serde_json::json!("N02ABSX")),
            ("spoName", serde_json::json!("Sarah Oversight")),
            ("allocationReason", serde_json::json!("OTHER")),
        ];
        for mask in 0u32..(1 << event_fields.len()) {
            let mut fields = vec![
                ("id".to_string(), serde_json::json!("a")),
                ("staffCode".to_string(), serde_json::json!("N02ABS1")),
                ("teamCode".to_string(), serde_json::json!("N02ABS")),
                ("createdDate".to_string(), serde_json::json!("2022-07-28T09:30:54Z")),
                ("eventNumber".to_string(), serde_json::json!(2)),
                (
                    "licenceConditionId".to_string(),
                    if mask % 2 == 0 { serde_json::json!(9501) } else { serde_json::json!("9501") },
                ),
            ];
            fields.extend(
                event_fields
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, (k, v))| (k.to_string(), v.clone())),
            );
            if mask % 3 == 0 {
                fields.reverse();
            }
            let text =
                format!("{{{}}}", fields.iter().map(|(k, v)| format!("{:?}:{v}", k)).collect::<Vec<_>>().join(","));
            let detail = Detail::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(detail.kind(), Kind::LicenceCondition, "{text}");
        }

        // A licence condition detail that cannot be read is an error, not an event.
        let err = Detail::parse(br#"{"id":"a","staffCode":"S","teamCode":"T","createdDate":"2022-07-28T09:30:54Z","eventNumber":1,"licenceConditionId":"x"}"#)
            .unwrap_err();
        assert!(matches!(err, AllocationError::InvalidDetail(_)), "{err:?}");
        let err = Detail::parse(
            br#"{"id":"a","staffCode":"S","teamCode":"T","createdDate":"2022-07-28T09:30:54Z","licenceConditionId":1}"#,
        )
        .unwrap_err();
        assert!(matches!(err, AllocationError::InvalidDetail(ref m) if m.contains("eventNumber")), "{err:?}");
        // Person and requirement keys still come first.
        let both = br#"{"id":"a","staffCode":"S","teamCode":"T","createdDate":"2022-07-28T09:30:54Z","eventNumber":1,"requirementId":34,"licenceConditionId":1}"#;
        assert_eq!(Detail::parse(both).unwrap().kind(), Kind::Requirement);
        let null = br#"{"id":"a","staffCode":"S","teamCode":"T","createdDate":"2022-07-28T09:30:54Z","eventNumber":1,"licenceConditionId":null}"#;
        assert!(
            matches!(Detail::parse(null).unwrap_err(), AllocationError::InvalidDetail(_)),
            "even a null id is not an event"
        );
    }

    #[test]
    fn unexpected_and_invalid_details() {
        let err = Detail::parse(br#"{"id":"a","staffCode":"S","teamCode":"T","createdDate":"2022-07-28T09:30:54Z"}"#)
            .unwrap_err();
        assert!(matches!(err, AllocationError::UnexpectedDetail));
        assert_eq!(err.to_string(), "Unexpected response from allocation service.");
        let err = Detail::parse(br#"{"id":"a","crn":"X123456","teamCode":"T"}"#).unwrap_err();
        assert!(matches!(err, AllocationError::InvalidDetail(ref m) if m.contains("staffCode")), "{err:?}");
        assert!(matches!(Detail::parse(b"<html>").unwrap_err(), AllocationError::InvalidDetail(_)));
        let err = Detail::parse(br#"{"id":"a","staffCode":"S","teamCode":"T","createdDate":"28/07/2022","crn":"X"}"#)
            .unwrap_err();
        assert!(matches!(err, AllocationError::InvalidDetail(ref m) if m.contains("createdDate")), "{err:?}");
    }

    #[test]
    fn created_dates_in_any_offset_become_london_seconds() {
        let at = |text: &str| {
            Common {
                id: "a".into(),
                staff_code: "S".into(),
                team_code: "T".into(),
                created_date: text.into(),
                allocation_reason: None,
            }
            .allocated_at()
            .map(|t| t.to_string())
            .ok()
        };
        let expected = Some("2022-07-28 10:30:54".to_string());
        assert_eq!(at("2022-07-28T10:30:54.023+01:00"), expected);
        assert_eq!(at("2022-07-28T09:30:54.023Z"), expected);
        assert_eq!(at("2022-07-28T09:30:54Z"), expected);
        assert_eq!(at("2022-07-28T09:30:54.123456789Z"), expected);
        assert_eq!(at("2022-07-28T10:30:54+0100"), expected);
        assert_eq!(at("2022-07-28T11:30:54.9+02:00"), expected);
        assert_eq!(at("2022-07-28T10:30+01:00"), Some("2022-07-28 10:30:00".to_string()));
        // Winter: London is UTC.
        assert_eq!(at("2022-12-01T09:00:00Z"), Some("2022-12-01 09:00:00".to_string()));
        assert_eq!(at("2022-07-28T10:30:54"), None);
    }

    #[test]
    fn allocation_reasons_map_per_kind() {
        use AllocationReason::*;
        assert_eq!(InitialAllocation.code(Kind::Person), "IN1");
        assert_eq!(InitialAllocation.code(Kind::Event), "INT");
        assert_eq!(InitialAllocation.code(Kind::Requirement), "IN1");
        assert_eq!(ChangeOfAddress.code(Kind::Person), "AR03");
        assert_eq!(ChangeOfAddress.code(Kind::Event), "OA01");
        assert_eq!(ChangeOfAddress.code(Kind::Requirement), "OM");
        assert_eq!(InitialAllocation.code(Kind::LicenceCondition), "IN1");
        assert_eq!(ChangeOfAddress.code(Kind::LicenceCondition), "OM");
        assert_eq!(Kind::LicenceCondition.reason_dataset(), "RM ALLOCATION REASON");
        assert_eq!(Kind::LicenceCondition.business_interaction(), "CABI038");
        assert_eq!(Kind::LicenceCondition.name(), "licence-condition");
        for (name, code) in [
            ("ALLOCATED_TO_RESPONSIBLE_OFFICER", "RO"),
            ("CASELOAD_ADJUSTMENT", "AR02"),
            ("CHANGE_IN_TIER_OR_RISK", "CTR"),
            ("OFFICER_LEFT", "OFL"),
            ("OTHER", "OTH"),
            ("RISK_TO_STAFF", "RTS"),
            ("TRANSFER_IN", "TIN"),
            ("PROBATION_RESET", "RESET"),
        ] {
            for kind in [Kind::Person, Kind::Event, Kind::Requirement, Kind::LicenceCondition] {
                assert_eq!(AllocationReason::from_name(name).unwrap().code(kind), code);
            }
        }
        let common = |reason: Option<&str>| Common {
            id: "a".into(),
            staff_code: "S".into(),
            team_code: "T".into(),
            created_date: "2022-07-28T09:30:54Z".into(),
            allocation_reason: reason.map(Into::into),
        };
        assert_eq!(common(None).reason(), InitialAllocation);
        assert_eq!(common(Some("SOMETHING_NEW")).reason(), InitialAllocation);
        assert_eq!(common(Some("OFFICER_LEFT")).reason(), OfficerLeft);
    }
}
