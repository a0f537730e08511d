//! Fall windows shipped with a model, the safeguard of personalisation for a wearer who labels
//! no fall (issue #33; results/personalize/RULE.md, rounds 4 and 5).
//!
//! `fallkd export` keeps, for each fall recording of the run's validation subjects, the window
//! the model scores highest, as personalisation sees a window ([`WindowRep`]: the frozen trunk's
//! pooled features and the scaled window features). When a wearer labels only daily living,
//! [`crate::personalize`] keeps the replayed falls the base model catches still caught, all but a
//! share (`PersonalizeConfig::replay_tolerance`, 5 % by default; rounds 4 and 5): the personal
//! threshold stays at or under [`threshold_cap`], and a head fine-tuned without a labelled fall
//! learns from the replayed falls as falls.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One window as personalisation sees it: the frozen trunk's pooled features and the scaled
/// window features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRep {
    /// Pooled trunk features `(D)`.
    pub pooled: Vec<f32>,
    /// Scaled window features `(F)`; empty without the window-feature path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<f32>,
}

/// The fall windows a model file carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FallReplay {
    /// Where they come from, in words (subjects, recordings).
    pub source: String,
    /// One window per fall recording.
    pub windows: Vec<WindowRep>,
}

impl FallReplay {
    /// Checks that every window has `pooled` pooled features and `features` window features
    /// (the model's), naming the first that does not.
    pub fn check(&self, pooled: usize, features: usize) -> Result<(), Error> {
        for (i, w) in self.windows.iter().enumerate() {
            if w.pooled.len() != pooled || w.features.len() != features {
                return Err(Error::Invalid(format!(
                    "the model file's fall replay is damaged: window {} has {} pooled and {} \
                     window features, the model {pooled} and {features}",
                    i + 1,
                    w.pooled.len(),
                    w.features.len()
                )));
            }
            if w.pooled.iter().chain(&w.features).any(|x| !x.is_finite()) {
                return Err(Error::Invalid(format!(
                    "the model file's fall replay is damaged: window {} holds a value that is not \
                     a finite number",
                    i + 1
                )));
            }
        }
        Ok(())
    }
}

/// The highest threshold at which the replayed falls the base model catches (its score
/// `base_scores[i] >= base_threshold`) are still caught by the adapted model (`adapted[i]`),
/// all but a share `tolerance` of them (rounded down): with n caught, the
/// `(floor(tolerance n) + 1)`-th lowest adapted score among them. `None` when the base model
/// catches none of them.
pub fn threshold_cap(
    base_scores: &[f64],
    adapted: &[f64],
    base_threshold: f64,
    tolerance: f64,
) -> Option<f64> {
    let mut caught: Vec<f64> = base_scores
        .iter()
        .zip(adapted)
        .filter(|(b, _)| **b >= base_threshold)
        .map(|(_, a)| *a)
        .collect();
    caught.sort_by(f64::total_cmp);
    let may_go = (tolerance.clamp(0.0, 1.0) * caught.len() as f64 + 1e-9).floor() as usize;
    caught
        .get(may_go.min(caught.len().saturating_sub(1)))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_the_lowest_caught_fall_under_the_adapted_model() {
        let base = [0.9, 0.4, 0.7, 0.95];
        let adapted = [0.8, 0.1, 0.75, 0.6];
        // The 0.4 fall was missed by the base model: it does not hold the threshold down.
        assert_eq!(threshold_cap(&base, &adapted, 0.5, 0.0), Some(0.6));
        assert_eq!(threshold_cap(&base, &adapted, 0.99, 0.0), None);
        assert_eq!(threshold_cap(&[], &[], 0.5, 0.2), None);
        // Of the 3 caught, a third may go: the second lowest; all of them: still the highest.
        assert_eq!(threshold_cap(&base, &adapted, 0.5, 1.0 / 3.0), Some(0.75));
        assert_eq!(threshold_cap(&base, &adapted, 0.5, 0.3), Some(0.6));
        assert_eq!(threshold_cap(&base, &adapted, 0.5, 1.0), Some(0.8));
    }

    #[test]
    fn a_replay_of_the_wrong_shape_or_with_nan_is_refused() {
        let w = |p: usize, f: usize| WindowRep {
            pooled: vec![0.5; p],
            features: vec![0.1; f],
        };
        let ok = FallReplay {
            source: "test".into(),
            windows: vec![w(4, 2), w(4, 2)],
        };
        assert!(ok.check(4, 2).is_ok());
        let e = ok.check(4, 0).unwrap_err().to_string();
        assert!(e.contains("window 1 has 4 pooled and 2"), "{e}");
        let mut bad = ok.clone();
        bad.windows[1].pooled[0] = f32::NAN;
        let e = bad.check(4, 2).unwrap_err().to_string();
        assert!(e.contains("window 2") && e.contains("finite"), "{e}");
    }

    #[test]
    fn a_replay_round_trips_through_json_without_empty_features() {
        let r = FallReplay {
            source: "validation subjects [38]".into(),
            windows: vec![WindowRep {
                pooled: vec![1.0, -2.5],
                features: vec![],
            }],
        };
        let j = serde_json::to_string(&r).unwrap();
        assert!(!j.contains("features"), "{j}");
        assert_eq!(serde_json::from_str::<FallReplay>(&j).unwrap(), r);
    }
}
