//! Identical recordings filed under several trial names.
//!
//! SmartFallMM holds watch files that are byte-for-byte the same recording under different
//! `SxxAyyTzz` names (all of S46A01-A06, one recording filed as six ADLs; S45A10T13-T14 and
//! S45A11-A14, one fall filed 22 times; pairs in S43 and S44). Counting them as separate trials
//! inflates test sets and leaks one recording into several folds' windows. A recording is
//! identified by a content hash of each watch sensor's samples (timestamps and values, as
//! parsed); of a group of identical recordings the first name in sorted order is kept, the
//! others are dropped with a reason. A group whose names disagree on the label (a fall filed
//! as an ADL) is dropped whole: its label cannot be trusted.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use super::imu_csv::ImuRecording;
use super::trial::TrialKey;

/// Content hash of one sensor file's samples (timestamps and values; file order kept).
pub fn content_hash(rec: &ImuRecording) -> u64 {
    // SipHash with fixed keys: the same samples give the same hash on every platform and run.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    rec.timestamps.len().hash(&mut h);
    for (t, v) in rec.timestamps.iter().zip(&rec.values) {
        t.to_bits().hash(&mut h);
        for x in v {
            x.to_bits().hash(&mut h);
        }
    }
    h.finish()
}

/// A recording dropped as a copy of another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The name dropped.
    pub dropped: TrialKey,
    /// The name kept (for a label conflict, the first name of the group, also dropped).
    pub kept: TrialKey,
    /// The names of the group disagree on fall / ADL, so every copy is dropped.
    pub label_conflict: bool,
}

impl std::fmt::Display for Duplicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.label_conflict {
            write!(
                f,
                "{}: the same watch recording as {} but with the other label (fall vs ADL); every copy dropped",
                self.dropped, self.kept
            )
        } else {
            write!(
                f,
                "{}: the same watch recording as {} (identical samples); one copy kept",
                self.dropped, self.kept
            )
        }
    }
}

/// Groups trials by the hashes of their accelerometer and gyroscope samples and returns the
/// names to drop. `recordings` gives, per trial, the accelerometer hash and the gyroscope hash
/// (None without a gyroscope file). Trials are identical when both hashes agree. The copy kept
/// is the first name in sorted order among those `preferred` accepts (those with a skeleton
/// recording: S45's one fall is filed 22 times and its first name has none), else the first.
pub fn find_duplicates(
    recordings: &BTreeMap<TrialKey, (u64, Option<u64>)>,
    preferred: impl Fn(&TrialKey) -> bool,
) -> Vec<Duplicate> {
    let mut groups: BTreeMap<(u64, Option<u64>), Vec<TrialKey>> = BTreeMap::new();
    for (key, hashes) in recordings {
        groups.entry(*hashes).or_default().push(*key);
    }
    let mut out = Vec::new();
    for keys in groups.values().filter(|k| k.len() > 1) {
        // BTreeMap iteration gave the names in sorted order.
        let first = keys
            .iter()
            .copied()
            .find(|k| preferred(k))
            .unwrap_or(keys[0]);
        let conflict = keys.iter().any(|k| k.is_fall() != first.is_fall());
        for &k in keys {
            if k != first || conflict {
                out.push(Duplicate {
                    dropped: k,
                    kept: first,
                    label_conflict: conflict,
                });
            }
        }
    }
    out.sort_by_key(|d| d.dropped);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: &[f64], x: f32) -> ImuRecording {
        ImuRecording {
            timestamps: t.to_vec(),
            values: t.iter().map(|_| [x, 1.0, 2.0]).collect(),
            lines: (1..=t.len()).collect(),
            repairs: Default::default(),
            gyroscope_too: false,
        }
    }

    fn key(s: &str) -> TrialKey {
        TrialKey::parse(s).unwrap()
    }

    #[test]
    fn identical_samples_hash_alike_and_differences_do_not() {
        let a = rec(&[0.0, 0.1, 0.2], 9.8);
        assert_eq!(content_hash(&a), content_hash(&a.clone()));
        assert_ne!(content_hash(&a), content_hash(&rec(&[0.0, 0.1, 0.3], 9.8)));
        assert_ne!(content_hash(&a), content_hash(&rec(&[0.0, 0.1, 0.2], 9.7)));
        // Line numbers and repairs are not content.
        let mut b = a.clone();
        b.lines = vec![2, 3, 4];
        b.repairs.header_lines_skipped = 1;
        assert_eq!(content_hash(&a), content_hash(&b));
    }

    #[test]
    fn keeps_the_first_name_of_a_group() {
        let mut m = BTreeMap::new();
        m.insert(key("S46A02T01"), (7, Some(8)));
        m.insert(key("S46A01T01"), (7, Some(8)));
        m.insert(key("S46A01T02"), (7, Some(8)));
        m.insert(key("S46A03T01"), (7, Some(9))); // other gyroscope: a different recording
        m.insert(key("S46A04T01"), (1, None));
        let d = find_duplicates(&m, |_| true);
        assert_eq!(
            d.iter().map(|d| d.dropped.to_string()).collect::<Vec<_>>(),
            ["S46A01T02", "S46A02T01"]
        );
        assert!(
            d.iter()
                .all(|d| d.kept == key("S46A01T01") && !d.label_conflict)
        );
        assert!(
            d[0].to_string()
                .contains("same watch recording as S46A01T01")
        );
    }

    #[test]
    fn a_group_with_both_labels_is_dropped_whole() {
        let mut m = BTreeMap::new();
        m.insert(key("S45A09T01"), (3, None));
        m.insert(key("S45A10T01"), (3, None));
        let d = find_duplicates(&m, |_| true);
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.label_conflict));
        assert!(d[1].to_string().contains("every copy dropped"));
    }
}
