//! Training-time augmentation. Comparing two trainings needs the process-wide generator of
//! burn-flex to itself, so this test lives in its own test binary (see core/tests/determinism.rs).

mod common;

use common::{losses, opts, scratch, tiny};
use fallkd_core::burn::tensor::Device;
use fallkd_train::config::RunConfig;
use fallkd_train::dataset::prepare;
use fallkd_train::run_dir::Role;
use fallkd_train::trainer::train;

#[test]
fn augmentation_changes_what_a_student_trains_on_and_its_settings_are_checked() {
    let dir = scratch("augment");
    let first_loss = |name: &str, extra: &[&str]| -> f64 {
        let mut sets = vec!["train.epochs=1"];
        sets.extend_from_slice(extra);
        let cfg = tiny(&dir, &sets);
        let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
        let out = dir.join(name);
        train(&cfg, Role::Student, &data, &Device::flex(), &opts(&out)).unwrap();
        losses(&out)[0]
    };
    let plain = first_loss("plain", &[]);
    assert_eq!(
        plain,
        first_loss("plain-again", &[]),
        "same seed, same loss"
    );
    // Switched on, the student sees other windows; the zero default is the plain run above.
    let turned = first_loss(
        "turned",
        &["train.augment={probability: 1, rotation_deg: 90, gain: 0.3}"],
    );
    assert_ne!(plain, turned);
    let zero = first_loss(
        "zero",
        &["train.augment={probability: 0, rotation_deg: 90, gain: 0.3}"],
    );
    assert_eq!(plain, zero, "probability 0 must leave training as it was");
    // Timestamp perturbations likewise: on, other windows; at probability 0, the plain run.
    let perturbed = first_loss(
        "perturbed",
        &["train.perturb={probability: 1, max_severity: 1}"],
    );
    assert_ne!(plain, perturbed);
    let unperturbed = first_loss(
        "unperturbed",
        &["train.perturb={probability: 0, max_severity: 1}"],
    );
    assert_eq!(
        plain, unperturbed,
        "probability 0 must leave training as it was"
    );
    // Its random numbers are its own: on but (almost) never hitting, beside augmentation and
    // gyroscope dropout, it leaves their draws, and so the training, as they were.
    let others = [
        "train.gyro_dropout=0.5",
        "train.augment={probability: 0.5, rotation_deg: 30, gain: 0.1}",
    ];
    let mut idle = others.to_vec();
    idle.push("train.perturb={probability: 1e-12, max_severity: 1}");
    assert_eq!(first_loss("others", &others), first_loss("idle", &idle));
    for (set, key) in [
        ("train.augment.probability=1.5", "train.augment.probability"),
        (
            "train.augment.rotation_deg=-5",
            "train.augment.rotation_deg",
        ),
        ("train.augment.gain=1", "train.augment.gain"),
        ("train.augment.angle=5", "angle"),
        ("train.perturb.max_severity=2", "train.perturb.max_severity"),
    ] {
        let err = RunConfig::load(&[], &[set.to_string()]).unwrap_err();
        assert!(format!("{err:#}").contains(key), "{set}: {err:#}");
    }
}
