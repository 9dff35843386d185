//! Validation at the edge: every text a client (or a message) hands in is
//! checked here before it reaches SQL, so a value Delius cannot store is the
//! caller's 400, not the database's 500.
//!
//! Two rules, both naming the field:
//! - no control characters: PostgreSQL cannot store NUL at all, and codes,
//!   names and identifiers never hold line breaks or other controls; free
//!   text (case notes, appointment notes) may hold tab, line feed and
//!   carriage return, nothing else;
//! - no more characters than the Delius column holds (the lengths below, as
//!   `shared/delius-db/migrations/V1__delius_schema.sql` declares them).

/// `offender.crn` is `char(7)`.
pub const CRN_LENGTH: usize = 7;
/// `offender.noms_number` is `char(7)`.
pub const NOMS_NUMBER_LENGTH: usize = 7;
/// `staff.forename` and `staff.surname` are `varchar(35)`.
pub const STAFF_NAME_LENGTH: usize = 35;
/// `contact.description` is `varchar(4000)`.
pub const CONTACT_DESCRIPTION_LENGTH: usize = 4000;
/// `contact.external_reference` is `varchar(4000)`.
pub const EXTERNAL_REFERENCE_LENGTH: usize = 4000;
/// `staff.officer_code` is `char(7)`.
pub const OFFICER_CODE_LENGTH: usize = 7;
/// `team.code` is `char(6)`.
pub const TEAM_CODE_LENGTH: usize = 6;
/// The longest value kept where Delius has no column for it (a prison code,
/// of which only the first three characters are used; a domain event's type).
pub const UNSTORED_TEXT_LENGTH: usize = 200;

/// What a text may contain besides printable characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A code, name, identifier or date: no control characters at all.
    Line,
    /// Free text: tab, line feed and carriage return are allowed.
    FreeText,
}

/// A text that Delius cannot store. The messages name the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidText {
    #[error("'{field}' must not contain control characters (found U+{code:04X})")]
    ControlCharacter { field: String, code: u32 },
    #[error("'{field}' must be at most {max} characters")]
    TooLong { field: String, max: usize },
}

impl From<InvalidText> for crate::ApiError {
    fn from(e: InvalidText) -> Self {
        crate::ApiError::BadRequest(e.to_string())
    }
}

/// The first character `kind` does not allow, if any.
pub fn forbidden_character(value: &str, kind: TextKind) -> Option<char> {
    value.chars().find(|&c| c.is_control() && !(kind == TextKind::FreeText && matches!(c, '\t' | '\n' | '\r')))
}

/// Checks `value` of `field` against `kind` and, when given, the column's
/// length in characters.
pub fn check_text(field: &str, value: &str, kind: TextKind, max: Option<usize>) -> Result<(), InvalidText> {
    if let Some(c) = forbidden_character(value, kind) {
        return Err(InvalidText::ControlCharacter { field: field.to_string(), code: u32::from(c) });
    }
    check_length(field, value, max)
}

/// Checks only the length (for a value already checked for characters).
pub fn check_length(field: &str, value: &str, max: Option<usize>) -> Result<(), InvalidText> {
    match max {
        // Counting stops just past the limit: a huge value costs no more than a short one.
        Some(max) if value.chars().nth(max).is_some() => Err(InvalidText::TooLong { field: field.to_string(), max }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_by_kind() {
        assert_eq!(
            check_text("crn", "X123123\0", TextKind::Line, Some(CRN_LENGTH)),
            Err(InvalidText::ControlCharacter { field: "crn".into(), code: 0 })
        );
        assert!(check_text("notes", "a\r\n\tb", TextKind::FreeText, None).is_ok());
        assert!(check_text("notes", "a\u{0}b", TextKind::FreeText, None).is_err());
        assert!(check_text("notes", "a\u{1b}b", TextKind::FreeText, None).is_err());
        assert!(check_text("notes", "a\u{85}b", TextKind::FreeText, None).is_err());
        assert!(check_text("forename", "a\nb", TextKind::Line, None).is_err());
        // Not control characters: non-breaking space, emoji, right-to-left mark.
        assert!(check_text("forename", "a\u{a0}\u{1F600}\u{200F}", TextKind::Line, None).is_ok());
        assert_eq!(
            InvalidText::ControlCharacter { field: "notes".into(), code: 0 }.to_string(),
            "'notes' must not contain control characters (found U+0000)"
        );
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(check_text("surname", &"é".repeat(35), TextKind::Line, Some(35)).is_ok());
        assert_eq!(
            check_text("surname", &"é".repeat(36), TextKind::Line, Some(35)).unwrap_err().to_string(),
            "'surname' must be at most 35 characters"
        );
        assert!(check_length("notes", &"x".repeat(100_000), None).is_ok());
    }
}
