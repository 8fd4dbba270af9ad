-- The revenue model (issue 15): subscriptions carry their price terms (interval, quantity, unit
-- amount in minor units), recurring discounts, trial and period dates, cancel-at-period-end and
-- the cancellation date; invoices (Natero's statements) their status, subscription, period and
-- tax. Columns are appended, nullable: existing rows keep their values and read the new fields as
-- null. Times are epoch milliseconds, amounts integer minor units.

ALTER TABLE subscriptions ADD COLUMN billing_interval TEXT;
ALTER TABLE subscriptions ADD COLUMN interval_count INTEGER;
ALTER TABLE subscriptions ADD COLUMN quantity INTEGER;
ALTER TABLE subscriptions ADD COLUMN unit_amount INTEGER;
ALTER TABLE subscriptions ADD COLUMN metered INTEGER;
ALTER TABLE subscriptions ADD COLUMN discount_percent_bp INTEGER;
ALTER TABLE subscriptions ADD COLUMN discount_amount INTEGER;
ALTER TABLE subscriptions ADD COLUMN discount_duration TEXT;
ALTER TABLE subscriptions ADD COLUMN discount_end INTEGER;
ALTER TABLE subscriptions ADD COLUMN trial_start INTEGER;
ALTER TABLE subscriptions ADD COLUMN trial_end INTEGER;
ALTER TABLE subscriptions ADD COLUMN current_period_start INTEGER;
ALTER TABLE subscriptions ADD COLUMN current_period_end INTEGER;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end INTEGER;
ALTER TABLE subscriptions ADD COLUMN canceled_at INTEGER;

ALTER TABLE statements ADD COLUMN status TEXT;
ALTER TABLE statements ADD COLUMN subscription_id TEXT;
ALTER TABLE statements ADD COLUMN period_start INTEGER;
ALTER TABLE statements ADD COLUMN period_end INTEGER;
ALTER TABLE statements ADD COLUMN tax INTEGER;
ALTER TABLE statements ADD COLUMN line_count INTEGER;
