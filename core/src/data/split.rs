//! Subject splits: leave-one-subject-out folds and a fixed split from subject lists.

use crate::error::Error;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Subjects for training, validation and test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// A name for reports (`loso-S31`, `fixed`).
    pub name: String,
    /// Training subjects.
    pub train: Vec<u16>,
    /// Validation subjects (early stopping, threshold).
    pub val: Vec<u16>,
    /// Test subjects.
    pub test: Vec<u16>,
}

/// One fold per evaluable subject, one with both falls and ADLs (a test or validation subject
/// without falls gives no F1): that subject is the test set, another evaluable subject (chosen by
/// `seed`) the validation set, every other subject trains, those with one class only included.
/// Same seed, same folds. A fold needs a validation subject besides its test subject: with a
/// single subject there is none, and no fold.
pub fn leave_one_subject_out(subjects: &[u16], evaluable: &[u16], seed: u64) -> Vec<Split> {
    let mut subjects = subjects.to_vec();
    subjects.sort_unstable();
    subjects.dedup();
    let evaluable: Vec<u16> = subjects
        .iter()
        .copied()
        .filter(|s| evaluable.contains(s))
        .collect();
    let mut rng = Rng::new(seed);
    evaluable
        .iter()
        .filter_map(|&test| {
            let others: Vec<u16> = subjects.iter().copied().filter(|&s| s != test).collect();
            let mut candidates: Vec<u16> =
                evaluable.iter().copied().filter(|&s| s != test).collect();
            if candidates.is_empty() {
                candidates = others.clone();
            }
            if candidates.is_empty() {
                return None;
            }
            let val = candidates[rng.below(candidates.len()).min(candidates.len() - 1)];
            Some(Split {
                name: format!("loso-S{test:02}"),
                train: others.iter().copied().filter(|&s| s != val).collect(),
                val: vec![val],
                test: vec![test],
            })
        })
        .collect()
}

/// A fixed split from lists; every subject in `available` not in `val` or `test` trains.
pub fn fixed_split(available: &[u16], val: &[u16], test: &[u16]) -> Result<Split, Error> {
    for s in val.iter().chain(test) {
        if !available.contains(s) {
            return Err(Error::Invalid(format!(
                "split subject S{s:02} has no usable trials in this data"
            )));
        }
    }
    if let Some(s) = val.iter().find(|s| test.contains(s)) {
        return Err(Error::Invalid(format!(
            "subject S{s:02} is in both split.val and split.test"
        )));
    }
    let mut train: Vec<u16> = available
        .iter()
        .copied()
        .filter(|s| !val.contains(s) && !test.contains(s))
        .collect();
    train.sort_unstable();
    train.dedup();
    if train.is_empty() {
        return Err(Error::Invalid(
            "the split leaves no training subject".into(),
        ));
    }
    Ok(Split {
        name: "fixed".into(),
        train,
        val: val.to_vec(),
        test: test.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_subject_gives_no_fold_instead_of_a_panic() {
        assert!(leave_one_subject_out(&[31], &[31], 1).is_empty());
        assert!(leave_one_subject_out(&[], &[], 1).is_empty());
        let two = leave_one_subject_out(&[30, 31], &[31], 1);
        assert_eq!((two.len(), two[0].val.clone()), (1, vec![30]));
    }

    use super::*;

    #[test]
    fn loso_is_reproducible_and_disjoint() {
        let subjects = [29, 30, 31, 34, 36];
        let a = leave_one_subject_out(&subjects, &subjects, 7);
        assert_eq!(a, leave_one_subject_out(&subjects, &subjects, 7));
        assert_eq!(a.len(), 5);
        for s in &a {
            assert_eq!(s.train.len() + s.val.len() + s.test.len(), 5);
            assert!(
                !s.train.contains(&s.test[0]) && !s.train.contains(&s.val[0]) && s.val != s.test
            );
        }
    }

    #[test]
    fn loso_tests_and_validates_only_on_subjects_with_both_classes() {
        let subjects = [29, 30, 31, 34, 36];
        let evaluable = [30, 31, 34, 36];
        for seed in 0..20 {
            let a = leave_one_subject_out(&subjects, &evaluable, seed);
            assert_eq!(a.len(), 4);
            for s in &a {
                assert_ne!(s.test, [29]);
                assert_ne!(s.val, [29]);
                assert!(s.train.contains(&29), "S29 still trains: {s:?}");
                assert_eq!(s.train.len() + 2, 5);
            }
        }
    }

    #[test]
    fn fixed_split_checks_its_lists() {
        let s = fixed_split(&[1, 2, 3, 4], &[2], &[3]).unwrap();
        assert_eq!(s.train, vec![1, 4]);
        assert!(
            fixed_split(&[1, 2], &[2], &[9])
                .unwrap_err()
                .to_string()
                .contains("S09")
        );
        assert!(fixed_split(&[1, 2], &[2], &[2]).is_err());
    }
}
