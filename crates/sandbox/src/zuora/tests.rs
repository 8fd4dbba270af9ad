//! The Zuora emulator against Zuora's documented shapes (Zuora publishes no machine-readable
//! spec on GitHub; the facts are in `vendor-apis-billing.md` and the query call's reference).
