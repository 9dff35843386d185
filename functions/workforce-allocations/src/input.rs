//! What the message and the Workload detail may hold, checked before any of
//! it reaches SQL: no control characters (PostgreSQL cannot store NUL, and
//! codes never hold line breaks; the allocation notes, free text, may hold
//! tab, line feed and carriage return) and no code longer than its Delius
//! column. A message or detail that breaks these is malformed: the record
//! fails alone and nothing is written.

use delius_api::validate::{
    CRN_LENGTH, InvalidText, OFFICER_CODE_LENGTH, TEAM_CODE_LENGTH, TextKind, UNSTORED_TEXT_LENGTH, check_text,
};

use crate::detail::Detail;
use crate::error::AllocationError;
use crate::message::AllocationMessage;

/// The message's CRN (the only value of it that reaches SQL).
pub fn check_message(message: &AllocationMessage) -> Result<(), AllocationError> {
    let malformed = |e: InvalidText| AllocationError::Malformed(e.to_string());
    check_text("eventType", &message.event_type, TextKind::Line, Some(UNSTORED_TEXT_LENGTH)).map_err(malformed)?;
    if let Some(crn) = &message.crn {
        check_text("personReference CRN", crn.trim(), TextKind::Line, Some(CRN_LENGTH)).map_err(malformed)?;
    }
    Ok(())
}

/// Every string of the detail.
pub fn check_detail(detail: &Detail) -> Result<(), AllocationError> {
    let invalid = |e: InvalidText| AllocationError::InvalidDetail(e.to_string());
    let line = |field: &str, value: &str, max: usize| check_text(field, value.trim(), TextKind::Line, Some(max));
    let common = detail.common();
    line("id", &common.id, UNSTORED_TEXT_LENGTH).map_err(invalid)?;
    line("staffCode", &common.staff_code, OFFICER_CODE_LENGTH).map_err(invalid)?;
    line("teamCode", &common.team_code, TEAM_CODE_LENGTH).map_err(invalid)?;
    line("createdDate", &common.created_date, UNSTORED_TEXT_LENGTH).map_err(invalid)?;
    if let Some(reason) = &common.allocation_reason {
        line("allocationReason", reason, UNSTORED_TEXT_LENGTH).map_err(invalid)?;
    }
    match detail {
        Detail::Person(person) => line("crn", &person.crn, CRN_LENGTH).map_err(invalid)?,
        Detail::Requirement(_) | Detail::LicenceCondition(_) => {}
        Detail::Event(event) => {
            if let Some(code) = &event.spo_staff_code {
                line("spoStaffCode", code, OFFICER_CODE_LENGTH).map_err(invalid)?;
            }
            for (field, notes) in [
                ("allocationJustificationNotes", &event.allocation_justification_notes),
                ("spoOversightNotes", &event.spo_oversight_notes),
            ] {
                if let Some(notes) = notes {
                    check_text(field, notes, TextKind::FreeText, None).map_err(invalid)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(json: &str) -> Result<(), AllocationError> {
        check_detail(&Detail::parse(json.as_bytes())?)
    }

    #[test]
    fn control_characters_and_long_codes_are_invalid() {
        let ok = r#"{"id":"a","staffCode":"N02ABS1","teamCode":"N02ABS","createdDate":"2022-07-28T09:30:54Z","eventNumber":1,"notes":"why\r\nbecause\t."}"#;
        assert!(detail(ok).is_ok());
        for (bad, field) in [
            (ok.replace("N02ABS1", "N02ABS1\\u0000"), "staffCode"),
            (ok.replace("N02ABS1", "N02ABS12"), "staffCode"),
            (ok.replace("\"N02ABS\"", "\"N02\\nABS\""), "teamCode"),
            (ok.replace("because", "be\\u0000cause"), "allocationJustificationNotes"),
            (ok.replace("\"id\":\"a\"", "\"id\":\"a\\u001b\""), "id"),
        ] {
            let e = detail(&bad).unwrap_err();
            assert!(matches!(&e, AllocationError::InvalidDetail(m) if m.contains(field)), "{bad}: {e:?}");
        }
        let person =
            r#"{"id":"a","staffCode":"S","teamCode":"T","createdDate":"2022-07-28T09:30:54Z","crn":"X12345678"}"#;
        assert!(
            matches!(detail(person), Err(AllocationError::InvalidDetail(m)) if m.contains("'crn' must be at most 7"))
        );
    }

    #[test]
    fn the_messages_crn_is_checked() {
        let message = |crn: &str| AllocationMessage {
            event_type: "person.community.manager.allocated".into(),
            detail_url: None,
            crn: Some(crn.into()),
        };
        assert!(check_message(&message("X123456")).is_ok());
        assert!(matches!(check_message(&message("X12\u{0}")), Err(AllocationError::Malformed(_))));
        assert!(matches!(check_message(&message("X1234567")), Err(AllocationError::Malformed(_))));
    }
}
