-- The subset of the Delius schema that the Resettlement Passport API and the
-- workforce allocations consumer touch. Names and representations follow Delius:
-- 0/1 flags are smallint, Y/N flags are char(1), date-times are timestamps
-- holding Europe/London wall-clock time. Ids come from Delius-named sequences;
-- the column defaults only make seeding easier, the services call nextval.

-- Reference data ------------------------------------------------------------

CREATE SEQUENCE r_reference_data_master_id_seq;
CREATE TABLE r_reference_data_master (
    reference_data_master_id bigint PRIMARY KEY DEFAULT nextval('r_reference_data_master_id_seq'),
    code_set_name            varchar(100) NOT NULL UNIQUE,
    description              varchar(500)
);

CREATE SEQUENCE r_standard_reference_list_id_seq;
CREATE TABLE r_standard_reference_list (
    standard_reference_list_id bigint PRIMARY KEY DEFAULT nextval('r_standard_reference_list_id_seq'),
    code_value                 varchar(100) NOT NULL,
    code_description           varchar(500) NOT NULL,
    reference_data_master_id   bigint REFERENCES r_reference_data_master,
    selectable                 char(1) NOT NULL DEFAULT 'Y' CHECK (selectable IN ('Y', 'N')),
    UNIQUE (reference_data_master_id, code_value)
);
CREATE INDEX r_standard_reference_list_code_idx ON r_standard_reference_list (code_value);

CREATE SEQUENCE r_institution_id_seq;
CREATE TABLE r_institution (
    institution_id bigint PRIMARY KEY DEFAULT nextval('r_institution_id_seq'),
    code           varchar(20),
    description    varchar(200),
    nomis_cde_code varchar(6)
);
CREATE INDEX r_institution_nomis_cde_code_idx ON r_institution (nomis_cde_code);

CREATE SEQUENCE r_contact_type_id_seq;
CREATE TABLE r_contact_type (
    contact_type_id    bigint PRIMARY KEY DEFAULT nextval('r_contact_type_id_seq'),
    code               varchar(10) NOT NULL UNIQUE,
    description        varchar(200) NOT NULL,
    attendance_contact char(1) CHECK (attendance_contact IN ('Y', 'N')),
    sensitive_contact  char(1) NOT NULL DEFAULT 'N' CHECK (sensitive_contact IN ('Y', 'N'))
);

CREATE SEQUENCE r_contact_outcome_type_id_seq;
CREATE TABLE r_contact_outcome_type (
    contact_outcome_type_id bigint PRIMARY KEY DEFAULT nextval('r_contact_outcome_type_id_seq'),
    code                    varchar(10) NOT NULL UNIQUE,
    description             varchar(200) NOT NULL
);

CREATE SEQUENCE r_nsi_type_id_seq;
CREATE TABLE r_nsi_type (
    nsi_type_id bigint PRIMARY KEY DEFAULT nextval('r_nsi_type_id_seq'),
    code        varchar(20) NOT NULL UNIQUE,
    description varchar(200)
);

CREATE SEQUENCE r_nsi_status_id_seq;
CREATE TABLE r_nsi_status (
    nsi_status_id bigint PRIMARY KEY DEFAULT nextval('r_nsi_status_id_seq'),
    code          varchar(20) NOT NULL UNIQUE,
    description   varchar(200) NOT NULL
);

CREATE SEQUENCE r_register_type_id_seq;
CREATE TABLE r_register_type (
    register_type_id bigint PRIMARY KEY DEFAULT nextval('r_register_type_id_seq'),
    code             varchar(20) NOT NULL UNIQUE,
    description      varchar(200)
);

CREATE SEQUENCE r_transfer_reason_id_seq;
CREATE TABLE r_transfer_reason (
    transfer_reason_id bigint PRIMARY KEY DEFAULT nextval('r_transfer_reason_id_seq'),
    code               varchar(20) NOT NULL UNIQUE,
    description        varchar(200)
);

CREATE SEQUENCE r_rqmnt_type_main_category_id_seq;
CREATE TABLE r_rqmnt_type_main_category (
    rqmnt_type_main_category_id bigint PRIMARY KEY DEFAULT nextval('r_rqmnt_type_main_category_id_seq'),
    code                        varchar(20) NOT NULL UNIQUE,
    description                 varchar(200) NOT NULL
);

CREATE SEQUENCE r_ad_rqmnt_type_main_category_id_seq;
CREATE TABLE r_ad_rqmnt_type_main_category (
    ad_rqmnt_type_main_category_id bigint PRIMARY KEY DEFAULT nextval('r_ad_rqmnt_type_main_category_id_seq'),
    code                           varchar(20) NOT NULL UNIQUE,
    description                    varchar(200) NOT NULL
);

CREATE SEQUENCE business_interaction_id_seq;
CREATE TABLE business_interaction (
    business_interaction_id   bigint PRIMARY KEY DEFAULT nextval('business_interaction_id_seq'),
    business_interaction_code varchar(10) NOT NULL UNIQUE,
    description               varchar(200),
    enabled_date              timestamp
);

-- Organisation: providers, teams, staff, users ------------------------------

CREATE SEQUENCE probation_area_id_seq;
CREATE TABLE probation_area (
    probation_area_id bigint PRIMARY KEY DEFAULT nextval('probation_area_id_seq'),
    code              char(3) NOT NULL UNIQUE,
    description       varchar(60) NOT NULL,
    institution_id    bigint REFERENCES r_institution,
    end_date          date
);
CREATE INDEX probation_area_institution_idx ON probation_area (institution_id);

CREATE SEQUENCE team_id_seq;
CREATE TABLE team (
    team_id           bigint PRIMARY KEY DEFAULT nextval('team_id_seq'),
    code              char(6) NOT NULL UNIQUE,
    description       varchar(50) NOT NULL,
    probation_area_id bigint NOT NULL REFERENCES probation_area,
    start_date        date NOT NULL DEFAULT DATE '2000-01-01',
    end_date          date
);

CREATE SEQUENCE user_id_seq;
CREATE SEQUENCE staff_id_seq;
CREATE TABLE staff (
    staff_id              bigint PRIMARY KEY DEFAULT nextval('staff_id_seq'),
    officer_code          char(7) NOT NULL,
    forename              varchar(35) NOT NULL,
    forename2             varchar(35),
    surname               varchar(35) NOT NULL,
    probation_area_id     bigint REFERENCES probation_area,
    staff_grade_id        bigint REFERENCES r_standard_reference_list,
    start_date            date NOT NULL DEFAULT CURRENT_DATE,
    end_date              date,
    private               smallint NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
    row_version           bigint NOT NULL DEFAULT 0,
    created_by_user_id    bigint,
    last_updated_user_id  bigint,
    created_datetime      timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    last_updated_datetime timestamp NOT NULL DEFAULT LOCALTIMESTAMP
);
CREATE UNIQUE INDEX staff_officer_code_uk ON staff (officer_code);
-- Case-note authors are matched by name within a provider, ignoring case.
CREATE INDEX staff_area_name_idx ON staff (probation_area_id, upper(forename), upper(surname));

CREATE TABLE user_ (
    user_id            bigint PRIMARY KEY DEFAULT nextval('user_id_seq'),
    distinguished_name varchar(60) NOT NULL UNIQUE,
    forename           varchar(35),
    surname            varchar(35),
    staff_id           bigint REFERENCES staff
);
CREATE INDEX user_staff_idx ON user_ (staff_id);

ALTER TABLE staff ADD FOREIGN KEY (created_by_user_id) REFERENCES user_;
ALTER TABLE staff ADD FOREIGN KEY (last_updated_user_id) REFERENCES user_;

CREATE TABLE staff_team (
    staff_id              bigint NOT NULL REFERENCES staff,
    team_id               bigint NOT NULL REFERENCES team,
    row_version           bigint NOT NULL DEFAULT 0,
    created_by_user_id    bigint REFERENCES user_,
    last_updated_user_id  bigint REFERENCES user_,
    created_datetime      timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    last_updated_datetime timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    PRIMARY KEY (staff_id, team_id)
);
CREATE INDEX staff_team_team_idx ON staff_team (team_id);

CREATE SEQUENCE office_location_id_seq;
CREATE TABLE office_location (
    office_location_id bigint PRIMARY KEY DEFAULT nextval('office_location_id_seq'),
    code               char(7) NOT NULL UNIQUE,
    description        varchar(50) NOT NULL,
    building_name      varchar(35),
    building_number    varchar(35),
    street_name        varchar(35),
    district           varchar(35),
    town_city          varchar(35),
    county             varchar(35),
    postcode           varchar(8),
    telephone_number   varchar(35)
);

-- The person and their case --------------------------------------------------

CREATE SEQUENCE offender_id_seq;
CREATE TABLE offender (
    offender_id        bigint PRIMARY KEY DEFAULT nextval('offender_id_seq'),
    crn                char(7) NOT NULL,
    noms_number        char(7),
    first_name         varchar(35) NOT NULL,
    second_name        varchar(35),
    surname            varchar(35) NOT NULL,
    date_of_birth_date date NOT NULL,
    telephone_number   varchar(35),
    mobile_number      varchar(35),
    e_mail_address     varchar(255),
    partition_area_id  bigint NOT NULL DEFAULT 0,
    soft_deleted       smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version        bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX offender_crn_uk ON offender (crn);
CREATE INDEX offender_noms_number_idx ON offender (noms_number);

CREATE SEQUENCE offender_address_id_seq;
CREATE TABLE offender_address (
    offender_address_id bigint PRIMARY KEY DEFAULT nextval('offender_address_id_seq'),
    offender_id         bigint NOT NULL REFERENCES offender,
    address_status_id   bigint REFERENCES r_standard_reference_list,
    building_name       varchar(35),
    address_number      varchar(35),
    street_name         varchar(35),
    district            varchar(35),
    town_city           varchar(35),
    county              varchar(35),
    postcode            varchar(8),
    no_fixed_abode      char(1) CHECK (no_fixed_abode IN ('Y', 'N')),
    start_date          date,
    end_date            date,
    soft_deleted        smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1))
);
CREATE INDEX offender_address_offender_idx ON offender_address (offender_id);

CREATE SEQUENCE registration_id_seq;
CREATE TABLE registration (
    registration_id      bigint PRIMARY KEY DEFAULT nextval('registration_id_seq'),
    offender_id          bigint NOT NULL REFERENCES offender,
    register_type_id     bigint NOT NULL REFERENCES r_register_type,
    register_category_id bigint REFERENCES r_standard_reference_list,
    register_level_id    bigint REFERENCES r_standard_reference_list,
    registration_date    date NOT NULL,
    next_review_date     date,
    deregistered         smallint NOT NULL DEFAULT 0 CHECK (deregistered IN (0, 1)),
    soft_deleted         smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1))
);
CREATE INDEX registration_offender_idx ON registration (offender_id, register_type_id);

-- Manager columns shared by offender_manager, order_manager and rqmnt_manager,
-- written out per table as Delius has them.
CREATE SEQUENCE offender_manager_id_seq;
CREATE TABLE offender_manager (
    offender_manager_id    bigint PRIMARY KEY DEFAULT nextval('offender_manager_id_seq'),
    offender_id            bigint NOT NULL REFERENCES offender,
    allocation_staff_id    bigint NOT NULL REFERENCES staff,
    staff_employee_id      bigint REFERENCES staff,
    team_id                bigint NOT NULL REFERENCES team,
    trust_provider_team_id bigint REFERENCES team,
    trust_provider_flag    smallint NOT NULL DEFAULT 0 CHECK (trust_provider_flag IN (0, 1)),
    probation_area_id      bigint NOT NULL REFERENCES probation_area,
    partition_area_id      bigint NOT NULL DEFAULT 0,
    allocation_date        timestamp NOT NULL,
    end_date               timestamp,
    allocation_reason_id   bigint REFERENCES r_standard_reference_list,
    active_flag            smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted           smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version            bigint NOT NULL DEFAULT 0,
    created_by_user_id     bigint REFERENCES user_,
    last_updated_user_id   bigint REFERENCES user_,
    created_datetime       timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    last_updated_datetime  timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    CHECK (end_date IS NULL OR end_date >= allocation_date)
);
CREATE INDEX offender_manager_offender_idx ON offender_manager (offender_id, allocation_date);
CREATE INDEX offender_manager_staff_idx ON offender_manager (allocation_staff_id);
CREATE UNIQUE INDEX offender_manager_open_uk ON offender_manager (offender_id)
    WHERE end_date IS NULL AND soft_deleted = 0;

CREATE SEQUENCE prison_offender_manager_id_seq;
CREATE TABLE prison_offender_manager (
    prison_offender_manager_id bigint PRIMARY KEY DEFAULT nextval('prison_offender_manager_id_seq'),
    offender_id                bigint NOT NULL REFERENCES offender,
    allocation_staff_id        bigint NOT NULL REFERENCES staff,
    allocation_team_id         bigint NOT NULL REFERENCES team,
    probation_area_id          bigint NOT NULL REFERENCES probation_area,
    allocation_date            timestamp NOT NULL,
    end_date                   timestamp,
    active_flag                smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted               smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version                bigint NOT NULL DEFAULT 0
);
CREATE INDEX prison_offender_manager_offender_idx ON prison_offender_manager (offender_id);

CREATE SEQUENCE responsible_officer_id_seq;
CREATE TABLE responsible_officer (
    responsible_officer_id     bigint PRIMARY KEY DEFAULT nextval('responsible_officer_id_seq'),
    offender_id                bigint NOT NULL REFERENCES offender,
    offender_manager_id        bigint REFERENCES offender_manager,
    prison_offender_manager_id bigint REFERENCES prison_offender_manager,
    start_date                 timestamp NOT NULL,
    end_date                   timestamp,
    row_version                bigint NOT NULL DEFAULT 0,
    created_by_user_id         bigint REFERENCES user_,
    last_updated_user_id       bigint REFERENCES user_,
    created_datetime           timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    last_updated_datetime      timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX responsible_officer_offender_idx ON responsible_officer (offender_id, start_date);
-- Delius allows one active responsible officer per person.
CREATE UNIQUE INDEX responsible_officer_active_uk ON responsible_officer (offender_id)
    WHERE end_date IS NULL;

CREATE SEQUENCE event_id_seq;
CREATE TABLE event (
    event_id      bigint PRIMARY KEY DEFAULT nextval('event_id_seq'),
    offender_id   bigint NOT NULL REFERENCES offender,
    event_number  varchar(10) NOT NULL,
    referral_date date NOT NULL DEFAULT CURRENT_DATE,
    active_flag   smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted  smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version   bigint NOT NULL DEFAULT 0
);
CREATE INDEX event_offender_number_idx ON event (offender_id, event_number);

CREATE SEQUENCE disposal_id_seq;
CREATE TABLE disposal (
    disposal_id      bigint PRIMARY KEY DEFAULT nextval('disposal_id_seq'),
    event_id         bigint NOT NULL REFERENCES event,
    disposal_type_id bigint,
    disposal_date    date NOT NULL DEFAULT CURRENT_DATE,
    active_flag      smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted     smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version      bigint NOT NULL DEFAULT 0
);
CREATE INDEX disposal_event_idx ON disposal (event_id);

CREATE SEQUENCE order_manager_id_seq;
CREATE TABLE order_manager (
    order_manager_id       bigint PRIMARY KEY DEFAULT nextval('order_manager_id_seq'),
    event_id               bigint NOT NULL REFERENCES event,
    transfer_reason_id     bigint REFERENCES r_transfer_reason,
    allocation_staff_id    bigint NOT NULL REFERENCES staff,
    allocation_team_id     bigint NOT NULL REFERENCES team,
    staff_employee_id      bigint REFERENCES staff,
    trust_provider_team_id bigint REFERENCES team,
    trust_provider_flag    smallint NOT NULL DEFAULT 0 CHECK (trust_provider_flag IN (0, 1)),
    probation_area_id      bigint NOT NULL REFERENCES probation_area,
    partition_area_id      bigint NOT NULL DEFAULT 0,
    allocation_date        timestamp NOT NULL,
    end_date               timestamp,
    allocation_reason_id   bigint REFERENCES r_standard_reference_list,
    active_flag            smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted           smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version            bigint NOT NULL DEFAULT 0,
    created_by_user_id     bigint REFERENCES user_,
    last_updated_user_id   bigint REFERENCES user_,
    created_datetime       timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    last_updated_datetime  timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    CHECK (end_date IS NULL OR end_date >= allocation_date)
);
CREATE INDEX order_manager_event_idx ON order_manager (event_id, allocation_date);
CREATE UNIQUE INDEX order_manager_open_uk ON order_manager (event_id)
    WHERE end_date IS NULL AND soft_deleted = 0;

CREATE SEQUENCE rqmnt_id_seq;
CREATE TABLE rqmnt (
    rqmnt_id                       bigint PRIMARY KEY DEFAULT nextval('rqmnt_id_seq'),
    offender_id                    bigint NOT NULL REFERENCES offender,
    disposal_id                    bigint NOT NULL REFERENCES disposal,
    rqmnt_type_main_category_id    bigint REFERENCES r_rqmnt_type_main_category,
    ad_rqmnt_type_main_category_id bigint REFERENCES r_ad_rqmnt_type_main_category,
    rqmnt_type_sub_category_id     bigint REFERENCES r_standard_reference_list,
    active_flag                    smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted                   smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version                    bigint NOT NULL DEFAULT 0
);
CREATE INDEX rqmnt_offender_idx ON rqmnt (offender_id);
CREATE INDEX rqmnt_disposal_idx ON rqmnt (disposal_id);

CREATE SEQUENCE rqmnt_manager_id_seq;
CREATE TABLE rqmnt_manager (
    rqmnt_manager_id       bigint PRIMARY KEY DEFAULT nextval('rqmnt_manager_id_seq'),
    rqmnt_id               bigint NOT NULL REFERENCES rqmnt,
    transfer_reason_id     bigint REFERENCES r_transfer_reason,
    allocated_staff_id     bigint NOT NULL REFERENCES staff,
    allocated_team_id      bigint NOT NULL REFERENCES team,
    staff_employee_id      bigint REFERENCES staff,
    trust_provider_team_id bigint REFERENCES team,
    trust_provider_flag    smallint NOT NULL DEFAULT 0 CHECK (trust_provider_flag IN (0, 1)),
    probation_area_id      bigint NOT NULL REFERENCES probation_area,
    partition_area_id      bigint NOT NULL DEFAULT 0,
    allocation_date        timestamp NOT NULL,
    end_date               timestamp,
    allocation_reason_id   bigint REFERENCES r_standard_reference_list,
    active_flag            smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted           smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version            bigint NOT NULL DEFAULT 0,
    created_by_user_id     bigint REFERENCES user_,
    last_updated_user_id   bigint REFERENCES user_,
    created_datetime       timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    last_updated_datetime  timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    CHECK (end_date IS NULL OR end_date >= allocation_date)
);
CREATE INDEX rqmnt_manager_rqmnt_idx ON rqmnt_manager (rqmnt_id, allocation_date);
CREATE UNIQUE INDEX rqmnt_manager_open_uk ON rqmnt_manager (rqmnt_id)
    WHERE end_date IS NULL AND soft_deleted = 0;

-- Licence conditions: in the data model, not yet allocated by this service.
CREATE SEQUENCE lic_condition_id_seq;
CREATE TABLE lic_condition (
    lic_condition_id bigint PRIMARY KEY DEFAULT nextval('lic_condition_id_seq'),
    offender_id      bigint NOT NULL REFERENCES offender,
    disposal_id      bigint NOT NULL REFERENCES disposal,
    active_flag      smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted     smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version      bigint NOT NULL DEFAULT 0
);

CREATE SEQUENCE lic_condition_manager_id_seq;
CREATE TABLE lic_condition_manager (
    lic_condition_manager_id bigint PRIMARY KEY DEFAULT nextval('lic_condition_manager_id_seq'),
    lic_condition_id         bigint NOT NULL REFERENCES lic_condition,
    transfer_reason_id       bigint REFERENCES r_transfer_reason,
    allocated_staff_id       bigint NOT NULL REFERENCES staff,
    allocated_team_id        bigint NOT NULL REFERENCES team,
    staff_employee_id        bigint REFERENCES staff,
    trust_provider_team_id   bigint REFERENCES team,
    trust_provider_flag      smallint NOT NULL DEFAULT 0 CHECK (trust_provider_flag IN (0, 1)),
    probation_area_id        bigint NOT NULL REFERENCES probation_area,
    partition_area_id        bigint NOT NULL DEFAULT 0,
    allocation_date          timestamp NOT NULL,
    end_date                 timestamp,
    allocation_reason_id     bigint REFERENCES r_standard_reference_list,
    active_flag              smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted             smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version              bigint NOT NULL DEFAULT 0,
    created_by_user_id       bigint REFERENCES user_,
    last_updated_user_id     bigint REFERENCES user_,
    created_datetime         timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    last_updated_datetime    timestamp NOT NULL DEFAULT LOCALTIMESTAMP
);
CREATE UNIQUE INDEX lic_condition_manager_open_uk ON lic_condition_manager (lic_condition_id)
    WHERE end_date IS NULL AND soft_deleted = 0;

-- Transfers (read only: a pending one blocks or defers an allocation) --------

CREATE SEQUENCE offender_transfer_id_seq;
CREATE TABLE offender_transfer (
    offender_transfer_id bigint PRIMARY KEY DEFAULT nextval('offender_transfer_id_seq'),
    offender_id          bigint NOT NULL REFERENCES offender,
    transfer_status_id   bigint NOT NULL REFERENCES r_standard_reference_list,
    soft_deleted         smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1))
);
CREATE INDEX offender_transfer_offender_idx ON offender_transfer (offender_id);

CREATE SEQUENCE order_transfer_id_seq;
CREATE TABLE order_transfer (
    order_transfer_id  bigint PRIMARY KEY DEFAULT nextval('order_transfer_id_seq'),
    event_id           bigint NOT NULL REFERENCES event,
    transfer_status_id bigint NOT NULL REFERENCES r_standard_reference_list,
    soft_deleted       smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1))
);
CREATE INDEX order_transfer_event_idx ON order_transfer (event_id);

CREATE SEQUENCE rqmnt_transfer_id_seq;
CREATE TABLE rqmnt_transfer (
    rqmnt_transfer_id  bigint PRIMARY KEY DEFAULT nextval('rqmnt_transfer_id_seq'),
    rqmnt_id           bigint NOT NULL REFERENCES rqmnt,
    transfer_status_id bigint NOT NULL REFERENCES r_standard_reference_list,
    soft_deleted       smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1))
);
CREATE INDEX rqmnt_transfer_rqmnt_idx ON rqmnt_transfer (rqmnt_id);

CREATE SEQUENCE lic_condition_transfer_id_seq;
CREATE TABLE lic_condition_transfer (
    lic_condition_transfer_id bigint PRIMARY KEY DEFAULT nextval('lic_condition_transfer_id_seq'),
    lic_condition_id          bigint NOT NULL REFERENCES lic_condition,
    transfer_status_id        bigint NOT NULL REFERENCES r_standard_reference_list,
    soft_deleted              smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1))
);

-- NSIs ----------------------------------------------------------------------

CREATE SEQUENCE nsi_id_seq;
CREATE TABLE nsi (
    nsi_id            bigint PRIMARY KEY DEFAULT nextval('nsi_id_seq'),
    offender_id       bigint NOT NULL REFERENCES offender,
    event_id          bigint REFERENCES event,
    nsi_type_id       bigint NOT NULL REFERENCES r_nsi_type,
    nsi_sub_type_id   bigint REFERENCES r_standard_reference_list,
    nsi_status_id     bigint NOT NULL REFERENCES r_nsi_status,
    referral_date     date NOT NULL,
    actual_start_date timestamp,
    notes             text,
    active_flag       smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted      smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    created_datetime  timestamp NOT NULL DEFAULT LOCALTIMESTAMP
);
CREATE INDEX nsi_offender_idx ON nsi (offender_id, nsi_type_id);

CREATE SEQUENCE nsi_manager_id_seq;
CREATE TABLE nsi_manager (
    nsi_manager_id    bigint PRIMARY KEY DEFAULT nextval('nsi_manager_id_seq'),
    nsi_id            bigint NOT NULL REFERENCES nsi,
    staff_id          bigint NOT NULL REFERENCES staff,
    team_id           bigint NOT NULL REFERENCES team,
    probation_area_id bigint NOT NULL REFERENCES probation_area,
    start_date        date NOT NULL DEFAULT CURRENT_DATE,
    end_date          date,
    active_flag       smallint NOT NULL DEFAULT 1 CHECK (active_flag IN (0, 1)),
    soft_deleted      smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1))
);
CREATE INDEX nsi_manager_nsi_idx ON nsi_manager (nsi_id);

-- The contact log ------------------------------------------------------------

CREATE SEQUENCE contact_id_seq;
CREATE TABLE contact (
    contact_id              bigint PRIMARY KEY DEFAULT nextval('contact_id_seq'),
    offender_id             bigint NOT NULL REFERENCES offender,
    event_id                bigint REFERENCES event,
    rqmnt_id                bigint REFERENCES rqmnt,
    lic_condition_id        bigint REFERENCES lic_condition,
    contact_type_id         bigint NOT NULL REFERENCES r_contact_type,
    contact_outcome_type_id bigint REFERENCES r_contact_outcome_type,
    contact_date            date NOT NULL,
    contact_start_time      timestamp,
    contact_end_time        timestamp,
    notes                   text,
    description             varchar(4000),
    probation_area_id       bigint NOT NULL REFERENCES probation_area,
    team_id                 bigint REFERENCES team,
    staff_id                bigint REFERENCES staff,
    staff_employee_id       bigint REFERENCES staff,
    trust_provider_team_id  bigint REFERENCES team,
    trust_provider_flag     smallint NOT NULL DEFAULT 0 CHECK (trust_provider_flag IN (0, 1)),
    office_location_id      bigint REFERENCES office_location,
    external_reference      varchar(4000),
    sensitive               char(1) CHECK (sensitive IN ('Y', 'N')),
    alert_active            char(1) CHECK (alert_active IN ('Y', 'N')),
    partition_area_id       bigint NOT NULL DEFAULT 0,
    soft_deleted            smallint NOT NULL DEFAULT 0 CHECK (soft_deleted IN (0, 1)),
    row_version             bigint NOT NULL DEFAULT 0,
    created_by_user_id      bigint REFERENCES user_,
    last_updated_user_id    bigint REFERENCES user_,
    created_datetime        timestamp NOT NULL DEFAULT LOCALTIMESTAMP,
    last_updated_datetime   timestamp NOT NULL DEFAULT LOCALTIMESTAMP
);
CREATE INDEX contact_offender_date_idx ON contact (offender_id, contact_date, contact_start_time);
CREATE INDEX contact_event_idx ON contact (event_id);
-- Appointments are idempotent on their URN: one live contact per reference and person.
CREATE UNIQUE INDEX contact_external_reference_uk ON contact (offender_id, external_reference)
    WHERE external_reference IS NOT NULL AND soft_deleted = 0;

CREATE SEQUENCE contact_alert_id_seq;
CREATE TABLE contact_alert (
    contact_alert_id       bigint PRIMARY KEY DEFAULT nextval('contact_alert_id_seq'),
    contact_id             bigint NOT NULL REFERENCES contact,
    contact_type_id        bigint NOT NULL REFERENCES r_contact_type,
    offender_id            bigint NOT NULL REFERENCES offender,
    trust_provider_team_id bigint REFERENCES team,
    staff_employee_id      bigint REFERENCES staff,
    offender_manager_id    bigint REFERENCES offender_manager,
    trust_provider_flag    smallint NOT NULL DEFAULT 0 CHECK (trust_provider_flag IN (0, 1)),
    row_version            bigint NOT NULL DEFAULT 0
);
CREATE INDEX contact_alert_contact_idx ON contact_alert (contact_id);

-- IAPS flags (accredited programme interfaces) ------------------------------

CREATE TABLE iaps_offender (
    offender_id bigint PRIMARY KEY REFERENCES offender,
    iaps_flag   smallint NOT NULL CHECK (iaps_flag IN (0, 1))
);
CREATE TABLE iaps_event (
    event_id  bigint PRIMARY KEY REFERENCES event,
    iaps_flag smallint NOT NULL CHECK (iaps_flag IN (0, 1))
);
CREATE TABLE iaps_rqmnt (
    rqmnt_id  bigint PRIMARY KEY REFERENCES rqmnt,
    iaps_flag smallint NOT NULL CHECK (iaps_flag IN (0, 1))
);

-- Audit ---------------------------------------------------------------------

CREATE TABLE audited_interaction (
    date_time               timestamp NOT NULL,
    business_interaction_id bigint NOT NULL REFERENCES business_interaction,
    user_id                 bigint NOT NULL REFERENCES user_,
    outcome                 char(1) NOT NULL CHECK (outcome IN ('P', 'F')),
    interaction_parameters  varchar(500),
    PRIMARY KEY (date_time, business_interaction_id, user_id)
);
