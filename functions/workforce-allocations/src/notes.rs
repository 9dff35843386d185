//! The text of the contacts' notes, byte for byte as Delius users know it.
//! Every date-time is Europe/London wall-clock time (`createdDate` converted to Europe/London).

use chrono::NaiveDateTime;

/// The notes of a transfer contact (ETOM, ETOS, ETRC): the lines below joined
/// with `\n`, ending in a separator of 31 `-` and a `/`, a newline and an
/// empty line, so the text ends with `"/\n\n"`.
pub fn transfer(transfer_date: NaiveDateTime, new_provider: &str, old_team: &str, old_officer: &str) -> String {
    [
        "Transfer Reason: Internal Transfer".to_string(),
        format!("Transfer Date: {}", transfer_date.format("%d/%m/%Y")),
        format!("From Trust: {new_provider}"),
        format!("From Team: {old_team}"),
        format!("From Officer: {old_officer}"),
        format!("{}/\n", "-".repeat(31)),
        String::new(),
    ]
    .join("\n")
}

/// Who a responsible officer is: a community and/or a prison manager.
#[derive(Debug, Clone, Copy)]
pub struct OfficerDetails<'a> {
    pub name: &'a str,
    pub team: &'a str,
    pub provider: &'a str,
}

#[derive(Debug, Clone, Copy)]
pub struct ResponsibleOfficer<'a> {
    pub community_manager: Option<OfficerDetails<'a>>,
    pub prison_manager: Option<OfficerDetails<'a>>,
    pub start: NaiveDateTime,
    pub end: Option<NaiveDateTime>,
}

const DATE_TIME: &str = "%d/%m/%Y %H:%M:%S";

impl ResponsibleOfficer<'_> {
    fn details(&self) -> String {
        let mut text = String::new();
        let mut officer = |kind: &str, o: &OfficerDetails<'_>| {
            text.push_str(&format!(
                "Responsible Officer Type: {kind}\nResponsible Officer: {}({},{})",
                o.name, o.team, o.provider
            ));
        };
        if let Some(o) = &self.community_manager {
            officer("Offender Manager", o);
        }
        // Both blocks, when both exist, follow each other without a separator.
        if let Some(o) = &self.prison_manager {
            officer("Prison Offender Manager", o);
        }
        text.push_str(&format!("\nStart Date: {}", self.start.format(DATE_TIME)));
        if let Some(end) = self.end {
            text.push_str(&format!("\nEnd Date: {}", end.format(DATE_TIME)));
        }
        text
    }
}

/// The notes of the responsible officer change contact (ROC). Without a
/// previous officer, its details are the text `null`.
pub fn responsible_officer_change(
    new: &ResponsibleOfficer<'_>,
    previous: Option<&ResponsibleOfficer<'_>>,
    allocation_reason: &str,
) -> String {
    [
        "New Details:".to_string(),
        new.details(),
        "Previous Details:".to_string(),
        previous.map_or_else(|| "null".to_string(), ResponsibleOfficer::details),
        format!("Allocation Reason: {allocation_reason}"),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn transfer_notes_bytes() {
        let notes = transfer(at("2022-07-28 10:30:54"), "NPS North East", "Unallocated Team(N02)", "Unallocated Staff");
        assert_eq!(
            notes,
            "Transfer Reason: Internal Transfer\n\
             Transfer Date: 28/07/2022\n\
             From Trust: NPS North East\n\
             From Team: Unallocated Team(N02)\n\
             From Officer: Unallocated Staff\n\
             -------------------------------/\n\n"
        );
        assert!(notes.ends_with("/\n\n"));
        assert!(notes.contains(&format!("\n{}/\n", "-".repeat(31))));
    }

    #[test]
    fn responsible_officer_notes_bytes() {
        let new = ResponsibleOfficer {
            community_manager: Some(OfficerDetails { name: "Joe Bloggs", team: "N02ABS", provider: "NPS North East" }),
            prison_manager: None,
            start: at("2022-07-28 10:30:54"),
            end: None,
        };
        let previous = ResponsibleOfficer {
            community_manager: Some(OfficerDetails {
                name: "Unallocated Staff",
                team: "Unallocated Team(N02)",
                provider: "NPS North East",
            }),
            prison_manager: Some(OfficerDetails { name: "Pat Prison", team: "POM Team", provider: "HMP London" }),
            start: at("2022-07-01 10:30:00"),
            end: Some(at("2022-07-28 10:30:54")),
        };
        assert_eq!(
            responsible_officer_change(&new, Some(&previous), "Initial Allocation"),
            "New Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Joe Bloggs(N02ABS,NPS North East)\n\
             Start Date: 28/07/2022 10:30:54\n\
             Previous Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Unallocated Staff(Unallocated Team(N02),NPS North East)\
             Responsible Officer Type: Prison Offender Manager\n\
             Responsible Officer: Pat Prison(POM Team,HMP London)\n\
             Start Date: 01/07/2022 10:30:00\n\
             End Date: 28/07/2022 10:30:54\n\
             Allocation Reason: Initial Allocation"
        );
        assert_eq!(
            responsible_officer_change(&new, None, "Other"),
            "New Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Joe Bloggs(N02ABS,NPS North East)\n\
             Start Date: 28/07/2022 10:30:54\n\
             Previous Details:\n\
             null\n\
             Allocation Reason: Other"
        );
    }
}
