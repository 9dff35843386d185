-- Reference data both services need. Idempotent: safe to load again.

INSERT INTO r_reference_data_master (code_set_name, description) VALUES
    ('ADDRESS STATUS', 'Address status'),
    ('REGISTER CATEGORY', 'Register category (MAPPA category)'),
    ('REGISTER LEVEL', 'Register level (MAPPA level)'),
    ('NSI SUB TYPE', 'NSI sub type'),
    ('TRANSFER STATUS', 'Transfer status'),
    ('OM ALLOCATION REASON', 'Offender manager allocation reason'),
    ('ORDER ALLOCATION REASON', 'Order manager allocation reason'),
    ('RM ALLOCATION REASON', 'Requirement manager allocation reason'),
    ('REQUIREMENT SUB CATEGORY', 'Requirement sub category'),
    ('LICENCE CONDITION SUB CATEGORY', 'Licence condition sub category'),
    ('OFFICER GRADE', 'Staff grade')
ON CONFLICT (code_set_name) DO NOTHING;

INSERT INTO r_standard_reference_list (reference_data_master_id, code_value, code_description)
SELECT m.reference_data_master_id, v.code_value, v.code_description
FROM (VALUES
    ('ADDRESS STATUS', 'M', 'Main'),
    ('ADDRESS STATUS', 'P', 'Previous'),
    ('REGISTER CATEGORY', 'X9', 'MAPPA Category 0 (X9)'),
    ('REGISTER CATEGORY', 'M1', 'MAPPA Cat 1'),
    ('REGISTER CATEGORY', 'M2', 'MAPPA Cat 2'),
    ('REGISTER CATEGORY', 'M3', 'MAPPA Cat 3'),
    ('REGISTER CATEGORY', 'M4', 'MAPPA Cat 4'),
    ('REGISTER LEVEL', 'M0', 'MAPPA Level 0'),
    ('REGISTER LEVEL', 'M1', 'MAPPA Level 1'),
    ('REGISTER LEVEL', 'M2', 'MAPPA Level 2'),
    ('REGISTER LEVEL', 'M3', 'MAPPA Level 3'),
    ('TRANSFER STATUS', 'PN', 'Pending'),
    ('TRANSFER STATUS', 'AC', 'Accepted'),
    ('TRANSFER STATUS', 'RJ', 'Rejected'),
    ('OM ALLOCATION REASON', 'IN1', 'Initial Allocation'),
    ('OM ALLOCATION REASON', 'RO', 'Allocated to Responsible Officer'),
    ('OM ALLOCATION REASON', 'AR02', 'Caseload Adjustment'),
    ('OM ALLOCATION REASON', 'CTR', 'Change in Tier or Risk'),
    ('OM ALLOCATION REASON', 'AR03', 'Change of Address'),
    ('OM ALLOCATION REASON', 'OFL', 'Officer Left'),
    ('OM ALLOCATION REASON', 'OTH', 'Other'),
    ('OM ALLOCATION REASON', 'RTS', 'Risk to Staff'),
    ('OM ALLOCATION REASON', 'TIN', 'Transfer In'),
    ('OM ALLOCATION REASON', 'RESET', 'Probation Reset'),
    ('ORDER ALLOCATION REASON', 'INT', 'Initial Allocation'),
    ('ORDER ALLOCATION REASON', 'RO', 'Allocated to Responsible Officer'),
    ('ORDER ALLOCATION REASON', 'AR02', 'Caseload Adjustment'),
    ('ORDER ALLOCATION REASON', 'CTR', 'Change in Tier or Risk'),
    ('ORDER ALLOCATION REASON', 'OA01', 'Change of Address'),
    ('ORDER ALLOCATION REASON', 'OFL', 'Officer Left'),
    ('ORDER ALLOCATION REASON', 'OTH', 'Other'),
    ('ORDER ALLOCATION REASON', 'RTS', 'Risk to Staff'),
    ('ORDER ALLOCATION REASON', 'TIN', 'Transfer In'),
    ('ORDER ALLOCATION REASON', 'RESET', 'Probation Reset'),
    ('RM ALLOCATION REASON', 'IN1', 'Initial Allocation'),
    ('RM ALLOCATION REASON', 'RO', 'Allocated to Responsible Officer'),
    ('RM ALLOCATION REASON', 'AR02', 'Caseload Adjustment'),
    ('RM ALLOCATION REASON', 'CTR', 'Change in Tier or Risk'),
    ('RM ALLOCATION REASON', 'OM', 'Change of Address'),
    ('RM ALLOCATION REASON', 'OFL', 'Officer Left'),
    ('RM ALLOCATION REASON', 'OTH', 'Other'),
    ('RM ALLOCATION REASON', 'RTS', 'Risk to Staff'),
    ('RM ALLOCATION REASON', 'TIN', 'Transfer In'),
    ('RM ALLOCATION REASON', 'RESET', 'Probation Reset'),
    ('REQUIREMENT SUB CATEGORY', 'RS66', 'Accredited Programme - not IAPS')
) AS v (code_set_name, code_value, code_description)
JOIN r_reference_data_master m ON m.code_set_name = v.code_set_name
ON CONFLICT (reference_data_master_id, code_value) DO NOTHING;

INSERT INTO r_contact_type (code, description, attendance_contact, sensitive_contact) VALUES
    ('RP1', 'Resettlement Passport - Accommodation', 'Y', 'N'),
    ('RP2', 'Resettlement Passport - Thinking and Behaviour', 'Y', 'N'),
    ('RP3', 'Resettlement Passport - Family and Community', 'Y', 'N'),
    ('RP4', 'Resettlement Passport - Drugs and Alcohol', 'Y', 'N'),
    ('RP5', 'Resettlement Passport - Skills and Work', 'Y', 'N'),
    ('RP6', 'Resettlement Passport - Finance', 'Y', 'N'),
    ('RP7', 'Resettlement Passport - Health', 'Y', 'N'),
    ('RP8', 'Resettlement Passport - Benefits', 'Y', 'N'),
    ('RP9', 'NOMIS Case Note - Immediate Needs Report', 'N', 'N'),
    ('RP10', 'NOMIS Case Note - Pre-release Report', 'N', 'N'),
    ('ETOM', 'Offender Manager Transfer', 'N', 'N'),
    ('ETOS', 'Order Supervisor Transfer', 'N', 'N'),
    ('ETRC', 'Component Transfer', 'N', 'N'),
    ('ROC', 'Responsible Officer Change', 'N', 'N'),
    ('CADE', 'Case Allocation Decision Evidence', 'N', 'N'),
    ('SPOD03', 'Senior Probation Officer Oversight - Allocation', 'N', 'Y')
ON CONFLICT (code) DO NOTHING;

INSERT INTO r_transfer_reason (code, description) VALUES
    ('CASE ORDER', 'Case Order'),
    ('COMPONENT', 'Component')
ON CONFLICT (code) DO NOTHING;

INSERT INTO r_nsi_type (code, description) VALUES ('DTR', 'Duty to Refer')
ON CONFLICT (code) DO NOTHING;

INSERT INTO r_nsi_status (code, description) VALUES ('INIT', 'Initiated')
ON CONFLICT (code) DO NOTHING;

INSERT INTO r_register_type (code, description) VALUES ('MAPP', 'MAPPA')
ON CONFLICT (code) DO NOTHING;

INSERT INTO r_rqmnt_type_main_category (code, description) VALUES
    ('7', 'Accredited Programme'),
    ('RM38', 'Rehabilitation Activity Requirement - Accredited Programme')
ON CONFLICT (code) DO NOTHING;

INSERT INTO r_ad_rqmnt_type_main_category (code, description) VALUES
    ('7', 'Accredited Programme'),
    ('RM38', 'Rehabilitation Activity Requirement - Accredited Programme')
ON CONFLICT (code) DO NOTHING;

INSERT INTO business_interaction (business_interaction_code, description, enabled_date) VALUES
    ('CLBI003', 'Add Contact', TIMESTAMP '2000-01-01 00:00:00'),
    ('CABI231', 'Add Person Allocation', TIMESTAMP '2000-01-01 00:00:00'),
    ('CABI041', 'Add Event Allocation', TIMESTAMP '2000-01-01 00:00:00'),
    ('CABI038', 'Create Component Transfer', TIMESTAMP '2000-01-01 00:00:00')
ON CONFLICT (business_interaction_code) DO NOTHING;

-- NOMIS establishments mapped to probation providers (case-note authors).
INSERT INTO r_institution (code, description, nomis_cde_code)
SELECT v.code, v.description, v.nomis_cde_code
FROM (VALUES ('LDN', 'HMP London', 'LDN'), ('MDL', 'HMP Midlands', 'MDL'))
    AS v (code, description, nomis_cde_code)
WHERE NOT EXISTS (SELECT 1 FROM r_institution i WHERE i.nomis_cde_code = v.nomis_cde_code);

-- The services' own Delius users (audit and created-by columns).
INSERT INTO user_ (distinguished_name, forename, surname) VALUES
    ('ResettlementPassportAndDelius', 'Resettlement Passport', 'Service'),
    ('HMPPSAllocations', 'HMPPS Allocations', 'Service')
ON CONFLICT (distinguished_name) DO NOTHING;
