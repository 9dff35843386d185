-- Dev dataset of the workforce allocations consumer: the people, teams and staff the events/sqs samples allocate.
-- Every seeded manager and responsible officer starts 2022-07-01 10:30 London time with
-- the unallocated staff N02UATU in team N02UAT. The HISTORIC entities also have a later,
-- current manager from 2022-08-01 09:00, so an allocation dated 2022-07-28 lands in the past.
-- Licence conditions 9501-9503 mirror requirements 9001-9003.
-- Load after reference.sql; load once per database.

DO $$
DECLARE
    seeded      timestamp := TIMESTAMP '2022-07-01 10:30:00';
    handover    timestamp := TIMESTAMP '2022-08-01 09:00:00';
    today       date := (now() AT TIME ZONE 'Europe/London')::date;
    n02         bigint;
    uat_team    bigint;
    abs_team    bigint;
    unallocated bigint;
    person_id   bigint;
    pm_id       bigint;
    event_id_   bigint;
    disposal_1  bigint;
    disposal_id_ bigint;
    rqmnt_id_   bigint;
    main_cat    bigint;
    addn_cat    bigint;
    sub_cat     bigint;
    lc_main_cat bigint;
    lc_sub_cat  bigint;
    crn_        text;
    number_     text;
    r           record;
BEGIN
    INSERT INTO probation_area (code, description) VALUES ('N02', 'NPS North East')
    RETURNING probation_area_id INTO n02;
    INSERT INTO team (code, description, probation_area_id) VALUES ('N02UAT', 'Unallocated Team(N02)', n02)
    RETURNING team_id INTO uat_team;
    INSERT INTO team (code, description, probation_area_id) VALUES ('N02ABS', 'N02ABS', n02)
    RETURNING team_id INTO abs_team;

    INSERT INTO staff (officer_code, forename, surname, probation_area_id)
    VALUES ('N02UATU', 'Unallocated', 'Staff', n02) RETURNING staff_id INTO unallocated;
    INSERT INTO staff_team (staff_id, team_id) VALUES (unallocated, uat_team);
    INSERT INTO staff (officer_code, forename, surname, probation_area_id) VALUES ('N02ABS1', 'Joe', 'Bloggs', n02);
    INSERT INTO staff (officer_code, forename, surname, probation_area_id) VALUES ('N02ABSX', 'Sarah', 'Oversight', n02);
    INSERT INTO staff (officer_code, forename, surname, probation_area_id, end_date)
    VALUES ('N02ABS2', 'Ended', 'Staff', n02, today - 7);
    INSERT INTO staff_team (staff_id, team_id)
    SELECT staff_id, abs_team FROM staff WHERE officer_code IN ('N02ABS1', 'N02ABSX', 'N02ABS2');

    -- Requirement categories that are not accredited programmes.
    INSERT INTO r_rqmnt_type_main_category (code, description) VALUES ('MAIN', 'Main Category')
    RETURNING rqmnt_type_main_category_id INTO main_cat;
    INSERT INTO r_ad_rqmnt_type_main_category (code, description) VALUES ('ADDN', 'Additional Category')
    RETURNING ad_rqmnt_type_main_category_id INTO addn_cat;
    INSERT INTO r_standard_reference_list (reference_data_master_id, code_value, code_description)
    SELECT reference_data_master_id, 'SUB', 'Sub Category' FROM r_reference_data_master
    WHERE code_set_name = 'REQUIREMENT SUB CATEGORY'
    RETURNING standard_reference_list_id INTO sub_cat;

    -- People, each with one person manager and one responsible officer.
    FOREACH crn_ IN ARRAY ARRAY['X123456', 'T123456', 'T223456'] LOOP
        INSERT INTO offender (crn, first_name, surname, date_of_birth_date)
        VALUES (crn_, 'Test', crn_, DATE '1980-01-01') RETURNING offender_id INTO person_id;
        IF crn_ = 'T223456' THEN
            -- HISTORIC_PM: a closed first period, then the current manager.
            INSERT INTO offender_manager (offender_id, allocation_staff_id, staff_employee_id, team_id,
                                          trust_provider_team_id, probation_area_id, allocation_date,
                                          end_date, active_flag)
            VALUES (person_id, unallocated, unallocated, uat_team, uat_team, n02, seeded, handover, 0)
            RETURNING offender_manager_id INTO pm_id;
            INSERT INTO responsible_officer (offender_id, offender_manager_id, start_date, end_date)
            VALUES (person_id, pm_id, seeded, handover);
            INSERT INTO offender_manager (offender_id, allocation_staff_id, staff_employee_id, team_id,
                                          trust_provider_team_id, probation_area_id, allocation_date)
            VALUES (person_id, unallocated, unallocated, uat_team, uat_team, n02, handover)
            RETURNING offender_manager_id INTO pm_id;
            INSERT INTO responsible_officer (offender_id, offender_manager_id, start_date)
            VALUES (person_id, pm_id, handover);
        ELSE
            INSERT INTO offender_manager (offender_id, allocation_staff_id, staff_employee_id, team_id,
                                          trust_provider_team_id, probation_area_id, allocation_date)
            VALUES (person_id, unallocated, unallocated, uat_team, uat_team, n02, seeded)
            RETURNING offender_manager_id INTO pm_id;
            INSERT INTO responsible_officer (offender_id, offender_manager_id, start_date)
            VALUES (person_id, pm_id, seeded);
        END IF;
    END LOOP;

    -- Events of X123456: 1 (DEFAULT), 2 (NEW), 3 (HISTORIC), 5 (REALLOCATION), 99 (inactive)
    -- and a soft-deleted 1. Each has a disposal and one order manager.
    SELECT offender_id INTO person_id FROM offender WHERE crn = 'X123456';
    FOR r IN SELECT * FROM (VALUES ('1', 1, 0), ('2', 1, 0), ('3', 1, 0), ('5', 1, 0), ('99', 0, 0), ('1', 1, 1))
             AS v (num, active, deleted) LOOP
        INSERT INTO event (offender_id, event_number, active_flag, soft_deleted)
        VALUES (person_id, r.num, r.active, r.deleted) RETURNING event_id INTO event_id_;
        INSERT INTO disposal (event_id, active_flag, soft_deleted)
        VALUES (event_id_, r.active, r.deleted) RETURNING disposal_id INTO disposal_id_;
        IF r.num = '1' AND r.deleted = 0 THEN
            disposal_1 := disposal_id_;
        END IF;
        IF r.num = '3' THEN
            INSERT INTO order_manager (event_id, allocation_staff_id, allocation_team_id, staff_employee_id,
                                       trust_provider_team_id, probation_area_id, allocation_date, end_date,
                                       active_flag, transfer_reason_id)
            SELECT event_id_, unallocated, uat_team, unallocated, uat_team, n02, seeded, handover, 0,
                   transfer_reason_id FROM r_transfer_reason WHERE code = 'CASE ORDER';
            INSERT INTO order_manager (event_id, allocation_staff_id, allocation_team_id, staff_employee_id,
                                       trust_provider_team_id, probation_area_id, allocation_date,
                                       transfer_reason_id)
            SELECT event_id_, unallocated, uat_team, unallocated, uat_team, n02, handover,
                   transfer_reason_id FROM r_transfer_reason WHERE code = 'CASE ORDER';
        ELSE
            INSERT INTO order_manager (event_id, allocation_staff_id, allocation_team_id, staff_employee_id,
                                       trust_provider_team_id, probation_area_id, allocation_date,
                                       transfer_reason_id, soft_deleted)
            SELECT event_id_, unallocated, uat_team, unallocated, uat_team, n02, seeded,
                   transfer_reason_id, r.deleted FROM r_transfer_reason WHERE code = 'CASE ORDER';
        END IF;
    END LOOP;

    -- Requirements 9001 (NEW), 9002 (HISTORIC), 9003 (REALLOCATION) on event 1's disposal.
    FOREACH number_ IN ARRAY ARRAY['9001', '9002', '9003'] LOOP
        INSERT INTO rqmnt (rqmnt_id, offender_id, disposal_id, rqmnt_type_main_category_id,
                           ad_rqmnt_type_main_category_id, rqmnt_type_sub_category_id)
        VALUES (number_::bigint, person_id, disposal_1, main_cat, addn_cat, sub_cat);
        IF number_ = '9002' THEN
            INSERT INTO rqmnt_manager (rqmnt_id, allocated_staff_id, allocated_team_id, staff_employee_id,
                                       trust_provider_team_id, probation_area_id, allocation_date, end_date,
                                       active_flag, transfer_reason_id)
            SELECT number_::bigint, unallocated, uat_team, unallocated, uat_team, n02, seeded, handover, 0,
                   transfer_reason_id FROM r_transfer_reason WHERE code = 'COMPONENT';
            INSERT INTO rqmnt_manager (rqmnt_id, allocated_staff_id, allocated_team_id, staff_employee_id,
                                       trust_provider_team_id, probation_area_id, allocation_date,
                                       transfer_reason_id)
            SELECT number_::bigint, unallocated, uat_team, unallocated, uat_team, n02, handover,
                   transfer_reason_id FROM r_transfer_reason WHERE code = 'COMPONENT';
        ELSE
            INSERT INTO rqmnt_manager (rqmnt_id, allocated_staff_id, allocated_team_id, staff_employee_id,
                                       trust_provider_team_id, probation_area_id, allocation_date,
                                       transfer_reason_id)
            SELECT number_::bigint, unallocated, uat_team, unallocated, uat_team, n02, seeded,
                   transfer_reason_id FROM r_transfer_reason WHERE code = 'COMPONENT';
        END IF;
    END LOOP;
    -- Keep the sequence clear of the fixed requirement ids.
    PERFORM setval('rqmnt_id_seq', greatest(nextval('rqmnt_id_seq'), 10000));

    -- Licence conditions 9501 (NEW), 9502 (HISTORIC), 9503 (REALLOCATION) on event 1's
    -- disposal, each with its manager(s), like the requirements.
    INSERT INTO r_lic_cond_type_main_cat (code, description) VALUES ('LCMAIN', 'Licence Condition Main Category')
    RETURNING lic_cond_type_main_cat_id INTO lc_main_cat;
    INSERT INTO r_standard_reference_list (reference_data_master_id, code_value, code_description)
    SELECT reference_data_master_id, 'LCSUB', 'Licence Condition Sub Category' FROM r_reference_data_master
    WHERE code_set_name = 'LICENCE CONDITION SUB CATEGORY'
    RETURNING standard_reference_list_id INTO lc_sub_cat;
    FOREACH number_ IN ARRAY ARRAY['9501', '9502', '9503'] LOOP
        INSERT INTO lic_condition (lic_condition_id, offender_id, disposal_id, lic_cond_type_main_cat_id,
                                   lic_cond_type_sub_cat_id, start_date)
        VALUES (number_::bigint, person_id, disposal_1, lc_main_cat, lc_sub_cat, DATE '2022-07-01');
        IF number_ = '9502' THEN
            INSERT INTO lic_condition_manager (lic_condition_id, allocated_staff_id, allocated_team_id,
                                               staff_employee_id, trust_provider_team_id, probation_area_id,
                                               allocation_date, end_date, active_flag, transfer_reason_id)
            SELECT number_::bigint, unallocated, uat_team, unallocated, uat_team, n02, seeded, handover, 0,
                   transfer_reason_id FROM r_transfer_reason WHERE code = 'COMPONENT';
            INSERT INTO lic_condition_manager (lic_condition_id, allocated_staff_id, allocated_team_id,
                                               staff_employee_id, trust_provider_team_id, probation_area_id,
                                               allocation_date, transfer_reason_id)
            SELECT number_::bigint, unallocated, uat_team, unallocated, uat_team, n02, handover,
                   transfer_reason_id FROM r_transfer_reason WHERE code = 'COMPONENT';
        ELSE
            INSERT INTO lic_condition_manager (lic_condition_id, allocated_staff_id, allocated_team_id,
                                               staff_employee_id, trust_provider_team_id, probation_area_id,
                                               allocation_date, transfer_reason_id)
            SELECT number_::bigint, unallocated, uat_team, unallocated, uat_team, n02, seeded,
                   transfer_reason_id FROM r_transfer_reason WHERE code = 'COMPONENT';
        END IF;
    END LOOP;
    PERFORM setval('lic_condition_id_seq', greatest(nextval('lic_condition_id_seq'), 10000));
END
$$;
