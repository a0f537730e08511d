//! Seeded determinism. burn-flex seeds one process-wide generator, so this test lives in its own
//! test binary (process) where no other test draws random numbers concurrently.

mod common;

use common::*;
use fallkd_core::model::*;

#[test]
fn initialisation_is_deterministic_under_a_seed() {
    let run = |seed| {
        let d = device(seed);
        let s = student(TimeMode::Timestamps, 16, &d);
        let (ev, ts, m) = events(2, 30, 1, &d);
        values(s.forward(ev, ts, m, None).logits)
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}
