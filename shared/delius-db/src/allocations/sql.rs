//! The statements of the allocation flows. The four manager tables share
//! their shape but not their column names (`team_id` / `allocation_team_id` /
//! `allocated_team_id`...), so the per-table texts are spelled out by one
//! macro at compile time.
//!
//! Every statement that reads the parent or its managers takes the parent's
//! key, not its id: `$1` CRN, `$2` event number, `$3` requirement or licence
//! condition id (each kind uses what it needs). So they need no answer from
//! the lock and go out in the same flight, behind it (see `super`).

use super::ManagerTable;
use crate::transaction::must_write;

pub(super) struct TableSql {
    /// Locks the parent (`$1`..`$3`) and reads what its checks need.
    pub lock: &'static str,
    /// Everything the allocation reads once the parent is locked, in one
    /// statement: `$1`..`$3` the parent's key, `$4` the allocation date-time,
    /// `$5`..`$10` the lookup keys (see `reads!`).
    pub reads: &'static str,
    pub end_manager: &'static str,
    pub insert_manager: &'static str,
    /// `None` for licence conditions: they have no IAPS flag.
    pub flag_iaps: Option<&'static str>,
}

pub(super) fn for_table(table: ManagerTable) -> &'static TableSql {
    match table {
        ManagerTable::Offender => &OFFENDER,
        ManagerTable::Order => &ORDER,
        ManagerTable::Requirement => &REQUIREMENT,
        ManagerTable::LicenceCondition => &LICENCE_CONDITION,
    }
}

/// The parents' ids by their keys, as a subquery.
macro_rules! person_ids {
    () => {
        "SELECT offender_id FROM offender WHERE crn = $1"
    };
}
macro_rules! event_ids {
    () => {
        "SELECT e.event_id FROM event e JOIN offender o ON o.offender_id = e.offender_id \
         WHERE o.crn = $1 AND e.event_number = $2 AND e.soft_deleted = 0"
    };
}
macro_rules! component_ids {
    () => {
        "SELECT $3::bigint"
    };
}

/// The reads of one allocation, as one statement, one row per combination
/// of the parent's live managers and (for a person) responsible officers at
/// `$4`: none or one each, more is an error the caller reports. Columns:
/// - the lookups the allocation is validated against (always there; what is
///   missing comes back as NULLs): team `$5`, allocation reason `$7` of the
///   reference data set `$6`, staff `$8`, transfer reason `$9`, SPO `$10`,
///   and the new manager's id;
/// - `m_`: the manager live at `$4` (allocated at or before it, not ended by
///   then), with its staff and team, and the parent's pending (`PN`)
///   transfers;
/// - `$officer` joins the responsible officer `ro` (person allocations), or
///   a NULL `responsible_officer_id`.
macro_rules! reads {
    ($table:literal, $id:literal, $parent:literal, $staff:literal, $team:literal, $transfers:literal,
     $parent_ids:expr, $officer:expr) => {
        concat!(
            "SELECT nextval('",
            $id,
            "_seq') AS new_manager_id, l.*, m.*, ro.* FROM (",
            "SELECT t.team_id, t.probation_area_id AS team_provider_id, t.end_date AS team_end_date, ",
            "t.description AS team_description, pa.description AS provider_description, ",
            "r.standard_reference_list_id AS reason_id, r.code_description AS reason_description, ",
            "s.staff_id, s.end_date AS staff_end_date, s.forename, s.forename2, s.surname, ",
            "EXISTS (SELECT 1 FROM staff_team st WHERE st.staff_id = s.staff_id AND st.team_id = t.team_id) ",
            "AS staff_in_team, tr.transfer_reason_id, spo.staff_id AS spo_staff_id ",
            "FROM (SELECT 1) one ",
            "LEFT JOIN team t ON t.code = $5 ",
            "LEFT JOIN probation_area pa ON pa.probation_area_id = t.probation_area_id ",
            "LEFT JOIN (r_standard_reference_list r JOIN r_reference_data_master rm ",
            "ON rm.reference_data_master_id = r.reference_data_master_id AND rm.code_set_name = $6) ",
            "ON r.code_value = $7 ",
            "LEFT JOIN staff s ON s.officer_code = $8 ",
            "LEFT JOIN r_transfer_reason tr ON tr.code = $9 ",
            "LEFT JOIN staff spo ON spo.officer_code = $10",
            ") l LEFT JOIN (",
            "SELECT m.",
            $id,
            " AS m_id, m.row_version AS m_row_version, m.",
            $staff,
            " AS m_staff_id, ",
            "rtrim(s.officer_code) AS m_staff_code, s.forename AS m_forename, s.forename2 AS m_forename2, ",
            "s.surname AS m_surname, m.",
            $team,
            " AS m_team_id, rtrim(t.code) AS m_team_code, ",
            "t.description AS m_team_description, m.probation_area_id AS m_probation_area_id, ",
            "m.partition_area_id AS m_partition_area_id, m.allocation_date AS m_allocation_date, ",
            "m.end_date AS m_end_date, ",
            "(SELECT COUNT(*) FROM ",
            $transfers,
            " x ",
            "JOIN r_standard_reference_list xs ON xs.standard_reference_list_id = x.transfer_status_id ",
            "WHERE x.",
            $parent,
            " = m.",
            $parent,
            " AND xs.code_value = 'PN' AND x.soft_deleted = 0) ",
            "AS m_pending_transfers ",
            "FROM ",
            $table,
            " m ",
            "JOIN staff s ON s.staff_id = m.",
            $staff,
            " ",
            "JOIN team t ON t.team_id = m.",
            $team,
            " ",
            "WHERE m.",
            $parent,
            " IN (",
            $parent_ids,
            ") AND m.allocation_date <= $4 ",
            "AND (m.end_date IS NULL OR m.end_date > $4) AND m.soft_deleted = 0 ",
            "LIMIT 2",
            ") m ON true ",
            $officer
        )
    };
}

/// No responsible officer: the allocation is not of a person.
macro_rules! no_officer {
    () => {
        "CROSS JOIN (SELECT NULL::bigint AS responsible_officer_id) ro"
    };
}

/// The staff names, team and provider of the responsible officer's `$alias`
/// manager in `$table` (by its id in `ro.$id`), as a lateral subquery. It is
/// fenced (`LIMIT 1`: one row at most, by primary key) so that PostgreSQL
/// plans it on its own instead of flattening both managers' joins into one
/// ten-table join search: every statement is planned on each run, and that
/// search cost several milliseconds per person allocation.
macro_rules! officer_manager {
    ($table:literal, $alias:literal, $id:literal, $team:literal) => {
        concat!(
            "LEFT JOIN LATERAL (",
            "SELECT s.forename, s.forename2, s.surname, t.description AS team, pa.description AS provider ",
            "FROM ",
            $table,
            " m ",
            "LEFT JOIN staff s ON s.staff_id = m.allocation_staff_id ",
            "LEFT JOIN team t ON t.team_id = m.",
            $team,
            " ",
            "LEFT JOIN probation_area pa ON pa.probation_area_id = m.probation_area_id ",
            "WHERE m.",
            $id,
            " = ro.",
            $id,
            " LIMIT 1",
            ") ",
            $alias,
            " ON true "
        )
    };
}

/// The responsible officer of the person with CRN `$1` live at `$4` (no
/// soft-delete column, as in Delius), with the staff, team and provider of
/// its community (`cm_`) or prison (`pm_`) manager.
macro_rules! responsible_officer {
    () => {
        concat!(
            "LEFT JOIN (",
            "SELECT ro.responsible_officer_id, ro.row_version AS ro_row_version, ro.start_date AS ro_start_date, ",
            "ro.end_date AS ro_end_date, ",
            "cm.forename AS cm_forename, cm.forename2 AS cm_forename2, cm.surname AS cm_surname, ",
            "cm.team AS cm_team, cm.provider AS cm_provider, ",
            "pm.forename AS pm_forename, pm.forename2 AS pm_forename2, pm.surname AS pm_surname, ",
            "pm.team AS pm_team, pm.provider AS pm_provider, ",
            "ro.offender_manager_id IS NOT NULL AS cm_present, ",
            "ro.prison_offender_manager_id IS NOT NULL AS pm_present ",
            "FROM responsible_officer ro ",
            officer_manager!("offender_manager", "cm", "offender_manager_id", "team_id"),
            officer_manager!("prison_offender_manager", "pm", "prison_offender_manager_id", "allocation_team_id"),
            "WHERE ro.offender_id IN (",
            person_ids!(),
            ") AND ro.start_date <= $4 ",
            "AND (ro.end_date IS NULL OR ro.end_date > $4) ",
            "LIMIT 2",
            ") ro ON true"
        )
    };
}

/// The statements of one manager table. `$parent_ids` selects the parent's
/// id from its key.
macro_rules! table_sql {
    (
        table: $table:literal, id: $id:literal, parent: $parent:literal, staff: $staff:literal,
        team: $team:literal, transfers: $transfers:literal, parent_ids: $parent_ids:expr,
        officer: $officer:expr, lock: $lock:expr, insert_manager: $insert:expr, flag_iaps: $iaps:expr $(,)?
    ) => {
        TableSql {
            lock: $lock,
            reads: reads!($table, $id, $parent, $staff, $team, $transfers, $parent_ids, $officer),
            // The end date and active flag, under the optimistic lock on
            // `row_version`: fails when the row changed meanwhile.
            end_manager: must_write!(concat!(
                "UPDATE ",
                $table,
                " SET end_date = $2, active_flag = $3, row_version = row_version + 1, ",
                "last_updated_user_id = $4, last_updated_datetime = $5 ",
                "WHERE ",
                $id,
                " = $1 AND row_version = $6 RETURNING 1"
            )),
            insert_manager: $insert,
            flag_iaps: $iaps,
        }
    };
}

/// Parameters: $1 id, $2 parent, $3 staff, $4 team, $5 provider, $6 partition
/// area, $7 allocation date, $8 end date, $9 allocation reason, $10 active
/// flag, $11 user, $12 now, $13 transfer reason.
macro_rules! insert_manager {
    ($table:literal, $id:literal, $parent:literal, $staff:literal, $team:literal) => {
        concat!(
            "INSERT INTO ",
            $table,
            " (",
            $id,
            ", ",
            $parent,
            ", transfer_reason_id, ",
            $staff,
            ", ",
            $team,
            ", ",
            "staff_employee_id, trust_provider_team_id, trust_provider_flag, probation_area_id, partition_area_id, ",
            "allocation_date, end_date, allocation_reason_id, active_flag, soft_deleted, row_version, ",
            "created_by_user_id, last_updated_user_id, created_datetime, last_updated_datetime) ",
            "VALUES ($1, $2, $13, $3, $4, $3, $4, 0, $5, $6, $7, $8, $9, $10, 0, 0, $11, $11, $12, $12)"
        )
    };
}

/// A requirement counts as an accredited programme (IAPS) when its main
/// category is `RM38`, or `7` with a sub-category other than `RS66` (or
/// none), or its additional main category is `7` or `RM38`. Used with the
/// aliases `mc`, `sc` and `ac` of the left-joined categories.
macro_rules! accredited_categories {
    () => {
        concat!(
            "LEFT JOIN r_rqmnt_type_main_category mc ",
            "ON mc.rqmnt_type_main_category_id = r.rqmnt_type_main_category_id ",
            "LEFT JOIN r_standard_reference_list sc ON sc.standard_reference_list_id = r.rqmnt_type_sub_category_id ",
            "LEFT JOIN r_ad_rqmnt_type_main_category ac ",
            "ON ac.ad_rqmnt_type_main_category_id = r.ad_rqmnt_type_main_category_id "
        )
    };
}

macro_rules! accredited_predicate {
    () => {
        concat!(
            "(mc.code = 'RM38' OR (mc.code = '7' AND (sc.code_value IS NULL OR sc.code_value <> 'RS66')) ",
            "OR ac.code IN ('7', 'RM38'))"
        )
    };
}

/// Sets the IAPS flag of `$key` `$1` in `$table` (an upsert) when one of
/// the requirements `r` that `$joins` and `$filter` select is an accredited
/// programme; a row back when a flag was written.
macro_rules! flag_iaps_if_accredited {
    ($table:literal, $key:literal, $joins:literal, $filter:literal) => {
        concat!(
            "INSERT INTO ",
            $table,
            " (",
            $key,
            ", iaps_flag) ",
            "SELECT $1::bigint, 1 WHERE EXISTS (SELECT 1 FROM rqmnt r ",
            $joins,
            accredited_categories!(),
            "WHERE ",
            $filter,
            " AND ",
            accredited_predicate!(),
            ") ON CONFLICT (",
            $key,
            ") DO UPDATE SET iaps_flag = 1 RETURNING 1"
        )
    };
}

/// A sentence component (`$alias`, a requirement or licence condition) with
/// its person, sentence and event, and its categories (`$categories`
/// selects them from `$joins`), locked by id (`$3`).
macro_rules! component_lock {
    ($table:literal, $alias:literal, $id:literal, $categories:expr, $joins:expr, $filter:literal) => {
        concat!(
            "SELECT ",
            $alias,
            ".",
            $id,
            " AS component_id, ",
            $alias,
            ".offender_id, rtrim(o.crn) AS crn, ",
            "d.event_id, e.event_number, d.active_flag AS disposal_active, e.active_flag AS event_active, ",
            $alias,
            ".active_flag AS active, ",
            $categories,
            " ",
            "FROM ",
            $table,
            " ",
            $alias,
            " ",
            "JOIN offender o ON o.offender_id = ",
            $alias,
            ".offender_id ",
            "JOIN disposal d ON d.disposal_id = ",
            $alias,
            ".disposal_id ",
            "JOIN event e ON e.event_id = d.event_id ",
            $joins,
            "WHERE ",
            $alias,
            ".",
            $id,
            " = $3",
            $filter,
            " FOR NO KEY UPDATE OF ",
            $alias
        )
    };
}

static OFFENDER: TableSql = table_sql! {
    table: "offender_manager", id: "offender_manager_id", parent: "offender_id", staff: "allocation_staff_id",
    team: "team_id", transfers: "offender_transfer", parent_ids: person_ids!(),
    officer: responsible_officer!(),
    // No soft-delete filter, as in Delius. The parent locks are NO KEY
    // UPDATE: they serialise allocations of the same parent, yet do not block
    // other writers' foreign-key checks (KEY SHARE) on the row.
    lock: concat!(person_ids!(), " FOR NO KEY UPDATE"),
    // offender_manager has no transfer reason: $13 is not used.
    insert_manager: concat!(
        "INSERT INTO offender_manager (offender_manager_id, offender_id, allocation_staff_id, team_id, ",
        "staff_employee_id, trust_provider_team_id, trust_provider_flag, probation_area_id, partition_area_id, ",
        "allocation_date, end_date, allocation_reason_id, active_flag, soft_deleted, row_version, ",
        "created_by_user_id, last_updated_user_id, created_datetime, last_updated_datetime) ",
        "VALUES ($1, $2, $3, $4, $3, $4, 0, $5, $6, $7, $8, $9, $10, 0, 0, $11, $11, $12, $12)"
    ),
    // Delius' person-level query joins the categories with inner joins, so a
    // requirement without a sub-category or an additional category never
    // matched. We use the left-join semantics of the event-level query
    // instead (a decision of the team); like Delius, this query does not look
    // at the requirements' active or soft-deleted flags.
    flag_iaps: Some(flag_iaps_if_accredited!("iaps_offender", "offender_id", "", "r.offender_id = $1")),
};

static ORDER: TableSql = table_sql! {
    table: "order_manager", id: "order_manager_id", parent: "event_id", staff: "allocation_staff_id",
    team: "allocation_team_id", transfers: "order_transfer", parent_ids: event_ids!(),
    officer: no_officer!(),
    lock: "SELECT e.event_id, e.offender_id, e.active_flag FROM event e \
           JOIN offender o ON o.offender_id = e.offender_id \
           WHERE o.crn = $1 AND e.event_number = $2 AND e.soft_deleted = 0 FOR NO KEY UPDATE OF e",
    insert_manager: insert_manager!(
        "order_manager", "order_manager_id", "event_id", "allocation_staff_id", "allocation_team_id"
    ),
    flag_iaps: Some(flag_iaps_if_accredited!(
        "iaps_event",
        "event_id",
        "JOIN disposal d ON d.disposal_id = r.disposal_id ",
        "d.event_id = $1 AND r.active_flag = 1 AND r.soft_deleted = 0"
    )),
};

static REQUIREMENT: TableSql = table_sql! {
    table: "rqmnt_manager", id: "rqmnt_manager_id", parent: "rqmnt_id", staff: "allocated_staff_id",
    team: "allocated_team_id", transfers: "rqmnt_transfer", parent_ids: component_ids!(),
    officer: no_officer!(),
    // By primary key, soft-deleted or not, as in Delius.
    lock: component_lock!(
        "rqmnt", "r", "rqmnt_id",
        "mc.code AS main_category_code, mc.description AS main_category_description, \
         sc.code_value AS sub_category_code, sc.code_description AS sub_category_description, \
         ac.code AS additional_main_category_code",
        accredited_categories!(),
        ""
    ),
    insert_manager: insert_manager!(
        "rqmnt_manager", "rqmnt_manager_id", "rqmnt_id", "allocated_staff_id", "allocated_team_id"
    ),
    // Called only for a requirement that is an accredited programme.
    flag_iaps: Some(
        "INSERT INTO iaps_rqmnt (rqmnt_id, iaps_flag) VALUES ($1, 1) \
         ON CONFLICT (rqmnt_id) DO UPDATE SET iaps_flag = 1 RETURNING 1",
    ),
};

static LICENCE_CONDITION: TableSql = table_sql! {
    table: "lic_condition_manager", id: "lic_condition_manager_id", parent: "lic_condition_id",
    staff: "allocated_staff_id", team: "allocated_team_id", transfers: "lic_condition_transfer",
    parent_ids: component_ids!(),
    officer: no_officer!(),
    // By primary key, live only: a soft-deleted condition counts as gone.
    lock: component_lock!(
        "lic_condition", "l", "lic_condition_id",
        "NULL::varchar AS main_category_code, mc.description AS main_category_description, \
         NULL::varchar AS sub_category_code, sc.code_description AS sub_category_description, \
         NULL::varchar AS additional_main_category_code",
        "LEFT JOIN r_lic_cond_type_main_cat mc ON mc.lic_cond_type_main_cat_id = l.lic_cond_type_main_cat_id \
         LEFT JOIN r_standard_reference_list sc ON sc.standard_reference_list_id = l.lic_cond_type_sub_cat_id ",
        " AND l.soft_deleted = 0"
    ),
    insert_manager: insert_manager!(
        "lic_condition_manager", "lic_condition_manager_id", "lic_condition_id", "allocated_staff_id",
        "allocated_team_id"
    ),
    flag_iaps: None,
};

/// $1 type code, $2 person, $3 event, $4 requirement, $5 date, $6 start time,
/// $7 notes, $8 provider, $9 team, $10 staff, $11 sensitive (NULL: the type's
/// default), $12 user, $13 now, $14 licence condition. Fails when the type is
/// unknown.
pub(super) const INSERT_CONTACT: &str = must_write!(concat!(
    "INSERT INTO contact (contact_id, offender_id, event_id, rqmnt_id, lic_condition_id, contact_type_id, contact_date, ",
    "contact_start_time, notes, probation_area_id, team_id, staff_id, staff_employee_id, trust_provider_team_id, ",
    "trust_provider_flag, sensitive, partition_area_id, soft_deleted, row_version, created_by_user_id, ",
    "last_updated_user_id, created_datetime, last_updated_datetime) ",
    "SELECT nextval('contact_id_seq'), $2, $3, $4, $14, ct.contact_type_id, $5, $6, $7, $8, $9, $10, $10, $9, ",
    "0, COALESCE($11, ct.sensitive_contact), 0, 0, 0, $12, $12, $13, $13 ",
    "FROM r_contact_type ct WHERE ct.code = $1 RETURNING 1"
));

/// Under the optimistic lock on `row_version`: fails when the row changed meanwhile.
pub(super) const END_RESPONSIBLE_OFFICER: &str = must_write!(
    "UPDATE responsible_officer SET end_date = $2, \
     row_version = row_version + 1, last_updated_user_id = $3, last_updated_datetime = $4 \
     WHERE responsible_officer_id = $1 AND row_version = $5 RETURNING 1"
);

pub(super) const INSERT_RESPONSIBLE_OFFICER: &str = concat!(
    "INSERT INTO responsible_officer (responsible_officer_id, offender_id, offender_manager_id, ",
    "prison_offender_manager_id, start_date, end_date, row_version, created_by_user_id, last_updated_user_id, ",
    "created_datetime, last_updated_datetime) ",
    "VALUES (nextval('responsible_officer_id_seq'), $1, $2, NULL, $3, $4, 0, $5, $5, $6, $6)"
);
