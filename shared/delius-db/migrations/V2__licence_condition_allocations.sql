-- Licence-condition allocations: a licence condition gets a manager of its own, like a
-- requirement. The tables exist since V1; this adds what the allocation reads (the
-- condition's categories, for the pending-transfer report) and the constraints and
-- indexes the requirement manager has.

CREATE SEQUENCE r_lic_cond_type_main_cat_id_seq;
CREATE TABLE r_lic_cond_type_main_cat (
    lic_cond_type_main_cat_id bigint PRIMARY KEY DEFAULT nextval('r_lic_cond_type_main_cat_id_seq'),
    code                      varchar(20) NOT NULL UNIQUE,
    description               varchar(200) NOT NULL
);

ALTER TABLE lic_condition
    ADD COLUMN lic_cond_type_main_cat_id bigint REFERENCES r_lic_cond_type_main_cat,
    ADD COLUMN lic_cond_type_sub_cat_id  bigint REFERENCES r_standard_reference_list,
    ADD COLUMN start_date                date;
CREATE INDEX lic_condition_offender_idx ON lic_condition (offender_id);
CREATE INDEX lic_condition_disposal_idx ON lic_condition (disposal_id);

-- A manager never ends before it starts; the open-ended one (at most one per condition,
-- lic_condition_manager_open_uk of V1) is the current manager.
ALTER TABLE lic_condition_manager
    ADD CONSTRAINT lic_condition_manager_dates_ck CHECK (end_date IS NULL OR end_date >= allocation_date);
CREATE INDEX lic_condition_manager_lic_condition_idx ON lic_condition_manager (lic_condition_id, allocation_date);

CREATE INDEX lic_condition_transfer_lic_condition_idx ON lic_condition_transfer (lic_condition_id);
CREATE INDEX contact_lic_condition_idx ON contact (lic_condition_id) WHERE lic_condition_id IS NOT NULL;
