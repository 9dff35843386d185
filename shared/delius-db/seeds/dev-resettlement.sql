-- Dev dataset of the Resettlement Passport API: the sample people the events/apigw samples ask about.
-- Dates are relative to today in London, as the original DataLoader's are.
-- Load after reference.sql; load once per database.

DO $$
DECLARE
    london_now  timestamp := now() AT TIME ZONE 'Europe/London';
    today       date := (now() AT TIME ZONE 'Europe/London')::date;
    ldn_area    bigint;
    mdl_area    bigint;
    csn_team    bigint;
    def_team    bigint;
    john_smith  bigint;
    at_type     bigint;
    ao_outcome  bigint;
    location_id bigint;
    person_id   bigint;
    nsi_id_     bigint;
    day         date;
    slot        time;
    starts      timestamp;
BEGIN
    INSERT INTO probation_area (code, description, institution_id)
    SELECT 'LDN', 'London', institution_id FROM r_institution WHERE nomis_cde_code = 'LDN'
    RETURNING probation_area_id INTO ldn_area;
    INSERT INTO probation_area (code, description, institution_id)
    SELECT 'MDL', 'London', institution_id FROM r_institution WHERE nomis_cde_code = 'MDL'
    RETURNING probation_area_id INTO mdl_area;

    INSERT INTO team (code, description, probation_area_id) VALUES ('LDNCSN', 'Team LDNCSN', ldn_area)
    RETURNING team_id INTO csn_team;
    INSERT INTO team (code, description, probation_area_id) VALUES ('N03DEF', 'Team N03DEF', ldn_area)
    RETURNING team_id INTO def_team;

    INSERT INTO staff (officer_code, forename, forename2, surname, probation_area_id)
    VALUES ('N03DEF1', 'John', 'James', 'Smith', ldn_area)
    RETURNING staff_id INTO john_smith;
    INSERT INTO staff (officer_code, forename, forename2, surname, probation_area_id)
    VALUES ('LDNA001', 'Terry', 'James', 'Nutkins', ldn_area);
    INSERT INTO user_ (distinguished_name, forename, surname, staff_id)
    VALUES ('john-smith', 'John', 'Smith', john_smith);

    INSERT INTO r_standard_reference_list (reference_data_master_id, code_value, code_description)
    SELECT reference_data_master_id, 'SUB', 'SUB' FROM r_reference_data_master WHERE code_set_name = 'NSI SUB TYPE';

    INSERT INTO r_contact_type (code, description, attendance_contact) VALUES
        ('AT', 'Description for AT', 'Y'),
        ('NAT', 'Description for NAT', 'N');
    SELECT contact_type_id INTO at_type FROM r_contact_type WHERE code = 'AT';

    INSERT INTO r_contact_outcome_type (code, description) VALUES
        ('AO', 'Description of AO'),
        ('NAO', 'Description of NAO');
    SELECT contact_outcome_type_id INTO ao_outcome FROM r_contact_outcome_type WHERE code = 'AO';

    INSERT INTO office_location (code, description, building_number, street_name, town_city, postcode)
    VALUES ('DEFAULT', 'Description of Location DEFAULT', '1', 'Mantle Place', 'Heath', 'H34 7TH')
    RETURNING office_location_id INTO location_id;

    -- Person X123123: everything the read endpoints show.
    INSERT INTO offender (crn, noms_number, first_name, surname, date_of_birth_date,
                          telephone_number, mobile_number, e_mail_address)
    VALUES ('X123123', 'A1234YZ', 'Fred', 'Williams', DATE '1982-08-19',
            '020 346 7982', '07452819463', 'freddy@justice.co.uk')
    RETURNING offender_id INTO person_id;

    INSERT INTO offender_manager (offender_id, allocation_staff_id, staff_employee_id, team_id,
                                  trust_provider_team_id, probation_area_id, allocation_date)
    VALUES (person_id, john_smith, john_smith, def_team, def_team, ldn_area, (today - 365)::timestamp);

    INSERT INTO nsi (offender_id, nsi_type_id, nsi_sub_type_id, nsi_status_id, referral_date, notes)
    SELECT person_id, t.nsi_type_id, s.standard_reference_list_id, st.nsi_status_id, today, 'Duty to refer notes'
    FROM r_nsi_type t, r_nsi_status st, r_standard_reference_list s
    JOIN r_reference_data_master m USING (reference_data_master_id)
    WHERE t.code = 'DTR' AND st.code = 'INIT' AND m.code_set_name = 'NSI SUB TYPE' AND s.code_value = 'SUB'
    RETURNING nsi_id INTO nsi_id_;
    INSERT INTO nsi_manager (nsi_id, staff_id, team_id, probation_area_id)
    VALUES (nsi_id_, john_smith, def_team, ldn_area);

    INSERT INTO offender_address (offender_id, address_status_id, address_number, street_name, district,
                                  town_city, county, postcode, no_fixed_abode)
    SELECT person_id, s.standard_reference_list_id, '11', 'Castle Street', 'Magic Land', 'My town', 'Hoth',
           'ML01 1CS', 'N'
    FROM r_standard_reference_list s JOIN r_reference_data_master m USING (reference_data_master_id)
    WHERE m.code_set_name = 'ADDRESS STATUS' AND s.code_value = 'M';

    INSERT INTO registration (offender_id, register_type_id, register_category_id, register_level_id,
                              registration_date, next_review_date)
    SELECT person_id, t.register_type_id, c.standard_reference_list_id, l.standard_reference_list_id,
           today - 30, today + 60
    FROM r_register_type t,
         r_standard_reference_list c JOIN r_reference_data_master cm ON cm.reference_data_master_id = c.reference_data_master_id,
         r_standard_reference_list l JOIN r_reference_data_master lm ON lm.reference_data_master_id = l.reference_data_master_id
    WHERE t.code = 'MAPP'
      AND cm.code_set_name = 'REGISTER CATEGORY' AND c.code_value = 'M1'
      AND lm.code_set_name = 'REGISTER LEVEL' AND l.code_value = 'M2';

    -- 110 appointments: five a day from today-7 to today+14.
    FOR day IN SELECT generate_series(today - 7, today + 14, interval '1 day')::date LOOP
        FOREACH slot IN ARRAY ARRAY[TIME '09:00', TIME '10:30', TIME '14:30', TIME '17:00', TIME '23:45'] LOOP
            starts := day + slot;
            INSERT INTO contact (offender_id, contact_type_id, contact_date, contact_start_time, contact_end_time,
                                 probation_area_id, team_id, staff_id, office_location_id, description,
                                 contact_outcome_type_id)
            VALUES (person_id, at_type, day, starts, starts + interval '30 minutes',
                    ldn_area, def_team, john_smith,
                    CASE WHEN extract(minute FROM slot) = 30 THEN location_id END,
                    CASE WHEN extract(minute FROM slot) = 0 THEN 'On the hour' END,
                    CASE WHEN starts < london_now THEN ao_outcome END);
        END LOOP;
    END LOOP;

    -- Person C123456: the appointment clash fixture.
    INSERT INTO offender (crn, first_name, surname, date_of_birth_date)
    VALUES ('C123456', 'James', 'Brown', DATE '1990-05-12')
    RETURNING offender_id INTO person_id;
    INSERT INTO offender_manager (offender_id, allocation_staff_id, staff_employee_id, team_id,
                                  trust_provider_team_id, probation_area_id, allocation_date)
    VALUES (person_id, john_smith, john_smith, def_team, def_team, ldn_area, (today - 365)::timestamp);
    INSERT INTO contact (offender_id, contact_type_id, contact_date, contact_start_time, contact_end_time,
                         probation_area_id, team_id, staff_id)
    VALUES (person_id, at_type, (london_now + interval '7 days')::date, london_now + interval '7 days', london_now + interval '7 days 1 hour',
            ldn_area, def_team, john_smith);
END
$$;
