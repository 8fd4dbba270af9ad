//! The doctor's analyses of id hygiene: pure accumulators fed with the keys a source carries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use accord_core::id::strip_zero_fraction;
use serde::Serialize;

const SAMPLES: usize = 5;

/// Up to five examples of a problem, and how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub count: u64,
    pub samples: Vec<String>,
}

impl Finding {
    fn add(&mut self, sample: impl FnOnce() -> String) {
        self.count += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(sample());
        }
    }
}

/// Collects the account keys of one source object and reports their hygiene.
#[derive(Debug, Default)]
pub struct KeyHygiene {
    keys: u64,
    float_formatted: Finding,
    whitespace: Finding,
    by_lower: HashMap<String, BTreeSet<String>>,
    by_key: HashMap<String, Vec<String>>,
}

/// The hygiene of one source object's account keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HygieneReport {
    /// Records that carried a key.
    pub keys: u64,
    /// Keys like `"1042.0"`: the id went through a float somewhere.
    pub float_formatted: Finding,
    /// Keys with surrounding whitespace.
    pub whitespace: Finding,
    /// Groups of distinct keys that differ only in letter case.
    pub case_collisions: Finding,
    /// Keys carried by more than one record of the object (reported where one record per
    /// account is expected: the SOR and organizations).
    pub duplicate_keys: Finding,
    /// The object's `normalize` setting that would repair the float-formatted and padded keys.
    pub suggested_normalize: Vec<String>,
}

impl KeyHygiene {
    /// Observes the key a record carries (`record` is its native id, for the samples).
    pub fn observe(&mut self, record: &str, key: &str) {
        self.keys += 1;
        if strip_zero_fraction(key.trim()).is_some() {
            self.float_formatted.add(|| format!("{key:?} (record {record})"));
        }
        if key.trim() != key {
            self.whitespace.add(|| format!("{key:?} (record {record})"));
        }
        self.by_lower.entry(key.trim().to_lowercase()).or_default().insert(key.to_owned());
        self.by_key.entry(key.to_owned()).or_default().push(record.to_owned());
    }

    pub fn finish(self) -> HygieneReport {
        let mut case_collisions = Finding::default();
        let mut groups: Vec<_> = self
            .by_lower
            .into_values()
            .filter(|g| g.iter().map(|k| k.trim()).collect::<BTreeSet<_>>().len() > 1)
            .collect();
        groups.sort();
        for g in groups {
            case_collisions.add(|| g.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(" ~ "));
        }
        let mut duplicate_keys = Finding::default();
        let mut dups: Vec<_> = self.by_key.into_iter().filter(|(_, r)| r.len() > 1).collect();
        dups.sort();
        for (k, records) in dups {
            duplicate_keys.add(|| format!("{k:?} in {} records ({})", records.len(), records.join(", ")));
        }
        let suggested_normalize = [("trim", self.whitespace.count), ("integer_text", self.float_formatted.count)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, _)| name.to_owned())
            .collect();
        HygieneReport {
            keys: self.keys,
            suggested_normalize,
            float_formatted: self.float_formatted,
            whitespace: self.whitespace,
            case_collisions,
            duplicate_keys,
        }
    }
}

/// How well one source object covers the System of Record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub records: u64,
    pub linked: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Active accounts with at least one linked record here.
    pub accounts_covered: u64,
    pub accounts_total: u64,
}

impl Coverage {
    /// Share of this object's records that linked, in percent.
    pub fn linked_pct(&self) -> f64 {
        pct(self.linked, self.records)
    }

    /// Share of the SOR's active accounts that have a record here, in percent.
    pub fn accounts_pct(&self) -> f64 {
        pct(self.accounts_covered, self.accounts_total)
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 * 1000.0 / whole as f64).round() / 10.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hygiene_finds_each_problem() {
        let mut h = KeyHygiene::default();
        for (rec, key) in [("r1", "1042.0"), ("r2", " 1043"), ("r3", "acme"), ("r4", "ACME"), ("r5", "7"), ("r6", "7")]
        {
            h.observe(rec, key);
        }
        let r = h.finish();
        assert_eq!(r.keys, 6);
        assert_eq!(r.float_formatted.count, 1);
        assert_eq!(r.whitespace.count, 1);
        assert_eq!(r.case_collisions.count, 1);
        assert_eq!(r.case_collisions.samples, vec!["\"ACME\" ~ \"acme\""]);
        assert_eq!(r.duplicate_keys.count, 1);
        assert!(r.duplicate_keys.samples[0].contains("r5, r6"));
    }

    #[test]
    fn coverage_percentages() {
        let c = Coverage {
            records: 3,
            linked: 2,
            rejected_by_reason: BTreeMap::new(),
            accounts_covered: 1,
            accounts_total: 8,
        };
        assert_eq!(c.linked_pct(), 66.7);
        assert_eq!(c.accounts_pct(), 12.5);
    }
}
