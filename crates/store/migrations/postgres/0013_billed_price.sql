-- Mid-cycle upgrades and downgrades (issue 15): a statement names the recurring price it bills
-- and the day that price applies from (its period start, or the day of the change it prorates),
-- so a subscription's MRR history follows its changes, not only its current price. Appended,
-- nullable: existing rows read the new fields as null.

ALTER TABLE statements ADD COLUMN billed_from BIGINT;
ALTER TABLE statements ADD COLUMN billed_unit_amount BIGINT;
ALTER TABLE statements ADD COLUMN billed_quantity BIGINT;
