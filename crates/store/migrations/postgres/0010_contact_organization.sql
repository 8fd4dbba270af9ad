-- A contact's organization in its own system (a Keap contact's `company.id`), read by `children`
-- link rules: an organization whose contacts, linked by a direct rule, agree on one account links
-- to it. Nullable and appended: existing rows read it as null until they are synced again.

ALTER TABLE contacts ADD COLUMN organization_id TEXT;
