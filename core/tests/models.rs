//! Shapes, masking, edge cases, gradients and determinism of the teacher and students.

mod common;

use common::*;
use fallkd_core::burn::module::{Module, ModuleVisitor, Param};
use fallkd_core::burn::tensor::Tensor;
use fallkd_core::model::*;

#[test]
fn teacher_has_the_reference_parameter_count() {
    let d = device(0);
    let teacher = SkeletonTransformerConfig::new().init(&d);
    // Embedding 9,504 + positional 98,304 + 2 pre-norm layers 223,680 + final norm 192
    // + SE 4,728 + pooling 4,705 + classifier 97.
    assert_eq!(teacher.num_params(), 341_210);
    let no_pe = SkeletonTransformerConfig::new()
        .with_use_pos_enc(false)
        .init(&d);
    assert_eq!(no_pe.num_params(), 341_210 - 1024 * 96);
}

#[test]
fn teacher_output_shapes_and_attention_sums_to_one() {
    let d = device(1);
    let teacher = SkeletonTransformerConfig::new().with_dropout(0.0).init(&d);
    for t in [1usize, 30, 128] {
        let x = tensor(noise(2 * t * 96, t as u64), [2, t, 96], &d);
        let out = teacher.forward(x, None).unwrap();
        assert_eq!(out.logits.dims(), [2]);
        assert_eq!(out.features.dims(), [2, 96]);
        assert_eq!(out.tokens.dims(), [2, t, 96]);
        assert_eq!(out.pooled_tokens.dims(), [2, 64, 96]);
        assert_eq!(out.attention.dims(), [2, t]);
        let sums = values(out.attention.sum_dim(1));
        for s in sums {
            assert!((s - 1.0).abs() < 1e-4, "attention sums to {s}");
        }
    }
}

#[test]
fn teacher_rejects_windows_longer_than_its_positional_table() {
    let d = device(2);
    let teacher = SkeletonTransformerConfig::new().with_max_len(16).init(&d);
    let err = teacher
        .forward(Tensor::zeros([1, 17, 96], &d), None)
        .unwrap_err();
    assert!(err.to_string().contains("17 frames"), "{err}");
}

#[test]
fn teacher_padding_mask_hides_padded_frames() {
    let d = device(3);
    let teacher = SkeletonTransformerConfig::new().with_dropout(0.0).init(&d);
    let x = noise(20 * 96, 9);
    let a = teacher
        .forward(tensor(x.clone(), [1, 20, 96], &d), None)
        .unwrap();
    let mut padded = x;
    padded.extend(noise(10 * 96, 77).iter().map(|v| v * 1000.0));
    let mut mask = vec![1.0; 20];
    mask.extend(vec![0.0; 10]);
    let b = teacher
        .forward(
            tensor(padded, [1, 30, 96], &d),
            Some(tensor(mask, [1, 30], &d)),
        )
        .unwrap();
    assert!(max_abs_diff(&values(a.logits), &values(b.logits)) < 1e-4);
    let att = values(b.attention);
    assert!(
        att[20..].iter().all(|&w| w == 0.0),
        "padded frames got attention"
    );
}

#[test]
fn student_shapes_for_many_event_counts_and_token_counts() {
    let d = device(4);
    for l in [1usize, 16, 64, 128] {
        for mode in TimeMode::ALL {
            let s = student(mode, l, &d);
            for n in [1usize, 7, 64, 300] {
                let (ev, ts, mask) = events(3, n, n as u64, &d);
                let (out, r) = s.forward_with_resampler(ev, ts, mask, None);
                assert_eq!(r.tokens.dims(), [3, l, 48]);
                assert_eq!(r.weights.dims(), [3, 4, l, n]);
                assert_eq!(out.logits.dims(), [3]);
                assert_eq!(out.features.dims(), [3, 48]);
                assert_eq!(out.attention.dims(), [3, l]);
                assert!(values(out.logits).iter().all(|v| v.is_finite()));
            }
        }
    }
}

#[test]
fn padded_garbage_events_have_no_influence() {
    let d = device(5);
    for mode in TimeMode::ALL {
        let s = student(mode, 32, &d);
        let (ev, ts, mask) = events(1, 40, 11, &d);
        let clean = s.forward(ev.clone(), ts.clone(), mask.clone(), None);
        // Append 25 padded events holding huge values, NaN and times far in the past.
        let mut ev2 = values(ev);
        ev2.extend((0..25 * 6).map(|i| if i % 7 == 0 { f32::NAN } else { 1e6 }));
        let mut ts2 = values(ts);
        ts2.extend((0..25).map(|i| -1000.0 * i as f32));
        let mut m2 = values(mask);
        m2.extend(vec![0.0; 25]);
        let garbage = s.forward(
            tensor(ev2, [1, 65, 6], &d),
            tensor(ts2, [1, 65], &d),
            tensor(m2, [1, 65], &d),
            None,
        );
        let (a, b) = (values(clean.logits), values(garbage.logits));
        assert!(max_abs_diff(&a, &b) < 1e-5, "{mode:?}: {a:?} vs {b:?}");
        assert!(max_abs_diff(&values(clean.features), &values(garbage.features)) < 1e-5);
    }
}

#[test]
fn variable_length_batch_matches_single_windows() {
    let d = device(6);
    let s = student(TimeMode::Timestamps, 32, &d);
    let (ev_a, ts_a, m_a) = events(1, 50, 21, &d);
    let (ev_b, ts_b, m_b) = events(1, 20, 22, &d);
    let single_a = values(s.forward(ev_a.clone(), ts_a.clone(), m_a, None).logits);
    let single_b = values(s.forward(ev_b.clone(), ts_b.clone(), m_b, None).logits);
    // Batch them, padding b to 50 events.
    let pad = |v: Vec<f32>, per: usize| {
        let mut v = v;
        v.resize(50 * per, 0.0);
        v
    };
    let ev = [values(ev_a), pad(values(ev_b), 6)].concat();
    let ts = [values(ts_a), pad(values(ts_b), 1)].concat();
    let mut m = vec![1.0; 50];
    m.extend([vec![1.0; 20], vec![0.0; 30]].concat());
    let batch = values(
        s.forward(
            tensor(ev, [2, 50, 6], &d),
            tensor(ts, [2, 50], &d),
            tensor(m, [2, 50], &d),
            None,
        )
        .logits,
    );
    assert!((batch[0] - single_a[0]).abs() < 1e-5);
    assert!((batch[1] - single_b[0]).abs() < 1e-5);
}

#[test]
fn empty_windows_give_defined_outputs() {
    let d = device(7);
    for mode in TimeMode::ALL {
        let s = student(mode, 16, &d);
        // No events at all.
        let out = s.forward(
            Tensor::zeros([2, 0, 6], &d),
            Tensor::zeros([2, 0], &d),
            Tensor::zeros([2, 0], &d),
            None,
        );
        assert!(
            values(out.logits).iter().all(|v| v.is_finite()),
            "{mode:?} N=0"
        );
        // Events present but all masked.
        let (ev, ts, _) = events(2, 10, 3, &d);
        let out = s.forward(ev, ts, Tensor::zeros([2, 10], &d), None);
        assert!(
            values(out.logits).iter().all(|v| v.is_finite()),
            "{mode:?} all masked"
        );
        assert!(values(out.features).iter().all(|v| v.is_finite()));
    }
}

#[test]
fn extreme_and_duplicate_timestamps_stay_finite() {
    let d = device(8);
    let n = 30;
    let cases: Vec<Vec<f32>> = vec![
        vec![5.0; n],                              // all duplicates
        (0..n).map(|i| i as f32 * 1e-7).collect(), // sub-microsecond spacing
        (0..n)
            .map(|i| {
                if i < 15 {
                    i as f32 * 0.03
                } else {
                    1490.0 + i as f32 * 0.03
                }
            })
            .collect(), // 25-minute gap
        (0..n).map(|i| 1.0e6 + i as f32 * 0.25).collect(), // large origin
    ];
    for mode in TimeMode::ALL {
        let s = student(mode, 16, &d);
        for ts in &cases {
            let ev = tensor(noise(n * 6, 5), [1, n, 6], &d);
            let out = s.forward(
                ev,
                tensor(ts.clone(), [1, n], &d),
                Tensor::ones([1, n], &d),
                None,
            );
            assert!(
                values(out.logits).iter().all(|v| v.is_finite()),
                "{mode:?} {ts:?}"
            );
        }
    }
}

#[test]
fn position_mode_ignores_timestamps_and_timestamp_mode_does_not() {
    let d = device(9);
    let (ev, ts, m) = events(1, 40, 31, &d);
    let warped = ts.clone().powf_scalar(2.0);
    let pos = student(TimeMode::Position, 16, &d);
    let a = values(pos.forward(ev.clone(), ts.clone(), m.clone(), None).logits);
    let b = values(
        pos.forward(ev.clone(), warped.clone(), m.clone(), None)
            .logits,
    );
    assert!(max_abs_diff(&a, &b) < 1e-6);
    let tsm = student(TimeMode::Timestamps, 16, &d);
    let a = values(tsm.forward(ev.clone(), ts, m.clone(), None).logits);
    let b = values(tsm.forward(ev, warped, m, None).logits);
    assert!(max_abs_diff(&a, &b) > 1e-6, "timestamps had no effect");
}

#[test]
fn time_features_follow_their_definition() {
    let d = device(10);
    let ts = tensor(vec![10.0, 10.0, 10.5, 100.5, 0.0], [1, 5], &d);
    let mask = tensor(vec![1.0, 1.0, 1.0, 1.0, 0.0], [1, 5], &d);
    let (f, tau) = resampler::time_features(ts.clone(), mask.clone(), TimeMode::Timestamps);
    let f = values(f);
    let dt: Vec<f32> = f.chunks(3).map(|c| c[0]).collect();
    assert_eq!(dt, vec![0.0, 0.0, 0.5, 60.0, 0.0]);
    assert!((f[3 * 2 + 1] - 1.5f32.ln()).abs() < 1e-6);
    let tau = values(tau);
    assert!((tau[2] - 0.5 / 90.5).abs() < 1e-6 && (tau[3] - 1.0).abs() < 1e-6 && tau[4] == 0.0);
    let (f, tau) = resampler::time_features(ts.clone(), mask.clone(), TimeMode::Cleaned);
    let dt: Vec<f32> = values(f).chunks(3).map(|c| c[0]).collect();
    assert_eq!(dt, vec![0.0, 1e-4, 0.1, 0.1, 0.0]);
    let tau = values(tau);
    assert!((tau[1] - 1e-4 / 0.2001).abs() < 1e-5 && (tau[3] - 1.0).abs() < 1e-6);
    let (f, tau) = resampler::time_features(ts, mask, TimeMode::Position);
    assert!(values(f).chunks(3).all(|c| c[0] == 0.0));
    let tau = values(tau);
    assert!((tau[1] - 1.0 / 3.0).abs() < 1e-6 && (tau[3] - 1.0).abs() < 1e-6 && tau[4] == 0.0);
}

#[test]
fn sorting_unsorted_events_gives_the_sorted_result() {
    let d = device(11);
    let s = student(TimeMode::Timestamps, 16, &d);
    let (ev, ts, m) = events(1, 20, 41, &d);
    let reference = values(s.forward(ev.clone(), ts.clone(), m.clone(), None).logits);
    // Shuffle, then repair with the data pipeline's sort.
    let evs: Vec<[f32; 6]> = values(ev)
        .chunks(6)
        .map(|c| c.try_into().unwrap())
        .collect();
    let tss: Vec<f64> = values(ts).iter().map(|&t| t as f64).collect();
    let mut order: Vec<usize> = (0..20).rev().collect();
    order.swap(3, 11);
    let (mut e2, mut t2): (Vec<[f32; 6]>, Vec<f64>) =
        order.iter().map(|&i| (evs[i], tss[i])).unzip();
    fallkd_core::data::events::sort_events(&mut e2, &mut t2);
    let out = values(
        s.forward(
            tensor(e2.concat(), [1, 20, 6], &d),
            tensor(t2.iter().map(|&t| t as f32).collect(), [1, 20], &d),
            m,
            None,
        )
        .logits,
    );
    assert!(max_abs_diff(&reference, &out) < 1e-6);
}

#[derive(Default)]
struct GradCheck {
    grads: Option<fallkd_core::burn::tensor::Gradients>,
    missing: Vec<String>,
    path: Vec<String>,
    count: usize,
}

impl ModuleVisitor for GradCheck {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.count += 1;
        let g = param.val().grad(self.grads.as_ref().unwrap());
        // The attention-pooling score bias adds the same constant to every score, which the
        // softmax ignores: its gradient is exactly zero in theory (float noise in practice), so
        // for it only the presence of a finite gradient is required.
        let shift_invariant = self.path.last().is_some_and(|p| p == "bias")
            && self.path.len() >= 2
            && self.path[self.path.len() - 2] == "score";
        let ok = g
            .map(|g| {
                values(g.abs().sum())
                    .iter()
                    .all(|v| v.is_finite() && (shift_invariant || *v > 0.0))
            })
            .unwrap_or(false);
        if !ok {
            self.missing.push(self.path.join("."));
        }
    }
}

fn assert_all_params_get_gradients<M: Module>(
    model: &M,
    grads: fallkd_core::burn::tensor::Gradients,
) {
    let mut v = GradCheck {
        grads: Some(grads),
        ..Default::default()
    };
    model.visit(&mut v);
    assert!(v.count > 10);
    assert!(v.missing.is_empty(), "no gradient reached: {:?}", v.missing);
}

#[test]
fn gradients_reach_every_parameter() {
    let d = device(12).autodiff();
    let teacher = SkeletonTransformerConfig::new().with_dropout(0.0).init(&d);
    let x = tensor(noise(2 * 40 * 96, 3), [2, 40, 96], &d);
    let out = teacher.forward(x, None).unwrap();
    let loss = out.logits.sum() + out.pooled_tokens.sum() * 0.01;
    assert_all_params_get_gradients(&teacher, loss.backward());

    for mode in TimeMode::ALL {
        let s = student(mode, 32, &d);
        let (ev, ts, m) = events(2, 70, 5, &d);
        let out = s.forward(ev, ts, m, None);
        let loss = out.logits.sum() + out.pooled_tokens.sum() * 0.01;
        assert_all_params_get_gradients(&s, loss.backward());
    }

    let base = TimestampAwareStudentConfig::new()
        .with_dropout(0.0)
        .fixed_rate()
        .init(&d);
    let out = base.forward(tensor(noise(2 * 64 * 6, 8), [2, 64, 6], &d));
    assert_all_params_get_gradients(
        &base,
        (out.logits.sum() + out.pooled_tokens.sum() * 0.01).backward(),
    );
}

#[test]
fn fixed_rate_interpolation_is_linear_and_handles_edges() {
    use fallkd_core::model::fixed_rate::interpolate_to_grid;
    let ev = [[0.0f32; 1], [10.0], [20.0]];
    let ts = [0.0, 1.0, 2.0];
    let g = interpolate_to_grid(&ev, &ts, 5);
    let g: Vec<f32> = g.iter().map(|v| v[0]).collect();
    assert_eq!(g, vec![0.0, 5.0, 10.0, 15.0, 20.0]);
    // Duplicates are averaged; a gap is bridged linearly.
    let g = interpolate_to_grid(&[[0.0f32], [2.0], [4.0]], &[0.0, 0.0, 4.0], 3);
    assert_eq!(
        g.iter().map(|v| v[0]).collect::<Vec<_>>(),
        vec![1.0, 2.5, 4.0]
    );
    assert_eq!(interpolate_to_grid::<1>(&[], &[], 3), vec![[0.0]; 3]);
    assert_eq!(interpolate_to_grid(&[[7.0f32]], &[3.0], 2), vec![[7.0]; 2]);
    let d = device(13);
    let base = TimestampAwareStudentConfig::new().fixed_rate().init(&d);
    let out = base.forward(tensor(noise(64 * 6, 2), [1, 64, 6], &d));
    assert_eq!(out.attention.dims(), [1, 64]);
}
