//! The lockbox: subjects that take part in no choice (issue #32, `results/lockbox/RULE.md`).
//!
//! They were drawn by hash before any run of the round that introduced them: within each group
//! the subjects sorted by `sha256("fallkd-lockbox-v1:<group>:Sxx")`, the lowest taken (two of
//! the 35-45 Hz young subjects, one of the 80-120 Hz ones, two older adults). The unit test
//! below recomputes the draw. Loaders drop these subjects unless a command scores the lockbox.

/// Young lockbox subjects (SmartFallMM numbers).
pub const YOUNG: [u16; 3] = [31, 39, 44];

/// Older-adult lockbox subjects (their own numbers: 1 is old S01).
pub const OLD: [u16; 2] = [1, 9];

/// The young subjects recorded at about 35-45 Hz (the archive's `low` rate group).
pub const LOW_RATE: [u16; 10] = [29, 30, 31, 32, 34, 35, 36, 37, 38, 39];

/// The young subjects recorded at about 80-120 Hz in bursts (the `high` rate group).
pub const HIGH_RATE: [u16; 4] = [43, 44, 45, 46];

/// Whether young subject `s` is in the lockbox.
pub fn is_young(s: u16) -> bool {
    YOUNG.contains(&s)
}

/// Whether older adult `s` (own number) is in the lockbox.
pub fn is_old(s: u16) -> bool {
    OLD.contains(&s)
}

/// The sampling-rate group of a young subject: `Some("low")`, `Some("high")` or `None`.
pub fn rate_group(s: u16) -> Option<&'static str> {
    if LOW_RATE.contains(&s) {
        Some("low")
    } else if HIGH_RATE.contains(&s) {
        Some("high")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn draw(group: &str, eligible: &[u16], k: usize) -> Vec<u16> {
        let hash = |s: u16| {
            let d = Sha256::digest(format!("fallkd-lockbox-v1:{group}:S{s:02}").as_bytes());
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let mut v = eligible.to_vec();
        v.sort_by_key(|&s| hash(s));
        let mut taken = v[..k].to_vec();
        taken.sort_unstable();
        taken
    }

    #[test]
    fn the_lockbox_is_the_hash_draw_of_the_rule() {
        // The 11 young folds of RESULTS.md by rate group, and the 11 older adults.
        assert_eq!(draw("low", &[30, 31, 34, 36, 37, 38, 39], 2), YOUNG[..2]);
        assert_eq!(draw("high", &[43, 44, 45, 46], 1), YOUNG[2..]);
        assert_eq!(draw("old", &(1..=11).collect::<Vec<_>>(), 2), OLD);
    }

    #[test]
    fn groups_are_disjoint_and_hold_the_lockbox() {
        assert!(LOW_RATE.iter().all(|s| !HIGH_RATE.contains(s)));
        assert_eq!(rate_group(31), Some("low"));
        assert_eq!(rate_group(44), Some("high"));
        assert_eq!(rate_group(1), None);
        assert!(
            YOUNG
                .iter()
                .all(|&s| rate_group(s).is_some() && is_young(s))
        );
        assert!(is_old(9) && !is_old(2));
    }
}
