//! Property tests: the parsers never panic on any input, and perturbations keep their promises
//! (counts, ordering, identity at zero severity, determinism per seed).

use fallkd_core::data::imu_csv::parse_imu_csv;
use fallkd_core::data::skeleton_csv::parse_skeleton_csv;
use fallkd_core::data::timestamp::parse_timestamp;
use fallkd_core::perturb::Perturbation;
use proptest::prelude::*;

/// Lines that look like the real files, then mutated.
fn imu_line() -> impl Strategy<Value = String> {
    (
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1000,
        -80.0f32..80.0,
        -80.0f32..80.0,
        -80.0f32..80.0,
    )
        .prop_map(|(h, m, s, ms, x, y, z)| {
            format!("2022-08-04 {h:02}:{m:02}:{s:02}.{ms:03},{x},{y},{z}")
        })
}

fn mutate(s: String, pos: usize, byte: u8, op: u8) -> String {
    let mut b = s.into_bytes();
    if b.is_empty() {
        return String::from_utf8_lossy(&[byte]).into_owned();
    }
    let i = pos % b.len();
    match op % 4 {
        0 => b[i] = byte,
        1 => {
            b.remove(i);
        }
        2 => b.insert(i, byte),
        _ => b.truncate(i),
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn imu_parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_imu_csv("fuzz.csv", &bytes);
    }

    #[test]
    fn skeleton_parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_skeleton_csv("fuzz.csv", &bytes);
    }

    #[test]
    fn timestamp_parser_never_panics(s in "\\PC{0,40}") {
        let _ = parse_timestamp(&s);
    }

    #[test]
    fn mutated_imu_files_parse_or_fail_with_file_and_line(
        lines in proptest::collection::vec(imu_line(), 1..20),
        pos in any::<usize>(), byte in any::<u8>(), op in any::<u8>(), which in any::<usize>(),
    ) {
        let mut lines = lines;
        let k = which % lines.len();
        lines[k] = mutate(lines[k].clone(), pos, byte, op);
        let text = lines.join("\n");
        match parse_imu_csv("m.csv", text.as_bytes()) {
            Ok(r) => {
                prop_assert_eq!(r.values.len(), r.timestamps.len());
                prop_assert!(r.values.iter().flatten().all(|v| v.is_finite()));
                prop_assert!(r.timestamps.iter().all(|t| t.is_finite()));
            }
            Err(e) => {
                prop_assert_eq!(e.file.as_str(), "m.csv");
                prop_assert!(!e.reason.is_empty());
            }
        }
    }

    #[test]
    fn valid_imu_lines_always_parse(lines in proptest::collection::vec(imu_line(), 1..30)) {
        let r = parse_imu_csv("ok.csv", lines.join("\r\n").as_bytes()).unwrap();
        prop_assert_eq!(r.values.len(), lines.len());
    }

    #[test]
    fn perturbations_keep_counts_order_and_identity(
        n in 0usize..200, seed in any::<u64>(), sev in 0.0f64..=1.0, kind in 0usize..4,
    ) {
        let ts: Vec<f64> = (0..n).map(|i| i as f64 * 0.025 + if i % 5 == 0 { 0.0 } else { 0.001 }).collect();
        let ev: Vec<[f32; 6]> = (0..n).map(|i| [i as f32; 6]).collect();
        let name = Perturbation::KINDS[kind];
        let p = Perturbation::at_severity(name, sev).unwrap();
        let (e2, t2) = p.apply(&ev, &ts, seed);
        prop_assert_eq!(e2.len(), t2.len());
        prop_assert!(t2.windows(2).all(|w| w[0] <= w[1]), "{} left timestamps unsorted", name);
        prop_assert!(t2.iter().all(|t| t.is_finite()));
        match p {
            Perturbation::Dropout { fraction, min_keep } => {
                let removed = ((n as f64 * fraction).round() as usize).min(n.saturating_sub(min_keep));
                prop_assert_eq!(e2.len(), n - removed);
                // Kept events are a subsequence in their original order.
                prop_assert!(e2.windows(2).all(|w| w[0][0] < w[1][0]));
            }
            _ => prop_assert_eq!(e2.len(), n),
        }
        // Same seed, same result.
        prop_assert_eq!(p.apply(&ev, &ts, seed), (e2, t2));
        // Severity zero is the identity.
        let id = Perturbation::at_severity(name, 0.0).unwrap().apply(&ev, &ts, seed);
        prop_assert_eq!(id, (ev.clone(), ts.clone()));
    }

    #[test]
    fn warp_is_monotonic_and_keeps_the_ends(n in 2usize..200, sev in 0.0f64..=1.0, seed in any::<u64>()) {
        let ts: Vec<f64> = (0..n).map(|i| i as f64 * 0.03).collect();
        let ev: Vec<[f32; 1]> = (0..n).map(|i| [i as f32]).collect();
        let (e2, t2) = Perturbation::at_severity("warp", sev).unwrap().apply(&ev, &ts, seed);
        prop_assert_eq!(e2, ev);
        prop_assert!((t2[0] - ts[0]).abs() < 1e-9 && (t2[n - 1] - ts[n - 1]).abs() < 1e-9);
        prop_assert!(t2.windows(2).all(|w| w[0] < w[1]));
    }
}
