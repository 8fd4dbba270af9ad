-- The revenue model (issue 15): subscriptions carry their price terms (interval, quantity, unit
-- amount in minor units), recurring discounts, trial and period dates, cancel-at-period-end and
-- the cancellation date; invoices (Natero's statements) their status, subscription, period and
-- tax. Columns are appended, nullable: existing rows keep their values and read the new fields as
-- null. Times are epoch milliseconds, amounts integer minor units.

ALTER TABLE subscriptions ADD COLUMN billing_interval TEXT COLLATE "C";
ALTER TABLE subscriptions ADD COLUMN interval_count BIGINT;
ALTER TABLE subscriptions ADD COLUMN quantity BIGINT;
ALTER TABLE subscriptions ADD COLUMN unit_amount BIGINT;
ALTER TABLE subscriptions ADD COLUMN metered BOOLEAN;
ALTER TABLE subscriptions ADD COLUMN discount_percent_bp BIGINT;
ALTER TABLE subscriptions ADD COLUMN discount_amount BIGINT;
ALTER TABLE subscriptions ADD COLUMN discount_duration TEXT COLLATE "C";
ALTER TABLE subscriptions ADD COLUMN discount_end BIGINT;
ALTER TABLE subscriptions ADD COLUMN trial_start BIGINT;
ALTER TABLE subscriptions ADD COLUMN trial_end BIGINT;
ALTER TABLE subscriptions ADD COLUMN current_period_start BIGINT;
ALTER TABLE subscriptions ADD COLUMN current_period_end BIGINT;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end BOOLEAN;
ALTER TABLE subscriptions ADD COLUMN canceled_at BIGINT;

ALTER TABLE statements ADD COLUMN status TEXT COLLATE "C";
ALTER TABLE statements ADD COLUMN subscription_id TEXT COLLATE "C";
ALTER TABLE statements ADD COLUMN period_start BIGINT;
ALTER TABLE statements ADD COLUMN period_end BIGINT;
ALTER TABLE statements ADD COLUMN tax BIGINT;
ALTER TABLE statements ADD COLUMN line_count BIGINT;
