-- Webhook deliveries already acted on (issue 13), so a replayed delivery is refused: the
-- source, the delivery's identity (the vendor's delivery id, or its signature with the timestamp
-- it signs) and when it arrived, in epoch milliseconds. Deliveries older than the signature
-- tolerance are forgotten: a replay of one fails its timestamp check instead.
CREATE TABLE webhook_deliveries (
    source TEXT NOT NULL,
    delivery TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (source, delivery)
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
