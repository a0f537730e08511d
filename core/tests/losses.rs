//! Each KD and task loss against values computed by hand on tiny tensors.

mod common;

use common::*;
use fallkd_core::burn::module::Module;
use fallkd_core::burn::tensor::Tensor;
use fallkd_core::losses::*;
use fallkd_core::model::ModelOutput;

fn scalar(t: Tensor<1>) -> f32 {
    values(t)[0]
}

fn close(a: f32, b: f32, tol: f32) {
    assert!((a - b).abs() < tol, "{a} != {b} (tol {tol})");
}

#[test]
fn embedding_kd_is_one_minus_cosine_over_temperature() {
    let d = device(0);
    let kd = EmbeddingKdConfig::new().init();
    let s = tensor(vec![1.0, 0.0, 1.0, 1.0], [2, 2], &d);
    let t = tensor(vec![0.0, 3.0, 2.0, 0.0], [2, 2], &d);
    // cos = 0 and 1/sqrt(2): mean(1, 0.29289) = 0.646447.
    close(scalar(kd.forward(s.clone(), t.clone())), 0.646_447, 1e-5);
    let hot = EmbeddingKdConfig::new().with_temperature(0.5).init();
    close(scalar(hot.forward(s.clone(), t)), 1.292_893, 1e-5);
    close(scalar(kd.forward(s.clone(), s.mul_scalar(7.0))), 0.0, 1e-6);
}

#[test]
fn gram_kd_matches_hand_values_and_pools_different_lengths() {
    let d = device(1);
    let kd = GramKd;
    let s = tensor(vec![1.0, 0.0, 0.0, 2.0], [1, 2, 2], &d); // G = I
    let t = tensor(vec![1.0, 0.0, 3.0, 0.0], [1, 2, 2], &d); // G = ones
    close(scalar(kd.forward(s.clone(), t)), 0.5, 1e-6);
    // Teacher with 4 tokens and another width pools to the student's 2 tokens.
    let t4 = tensor(
        vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
        [1, 4, 3],
        &d,
    );
    // pooled: [1,0,0],[0,1,0] -> G = I, same as the student's.
    close(scalar(kd.forward(s.clone(), t4)), 0.0, 1e-6);
    close(scalar(kd.forward(s.clone(), s)), 0.0, 1e-6);
}

#[test]
fn comodo_matches_hand_values_and_is_minimal_at_the_teacher() {
    let d = device(2);
    let c = ComodoConfig::new()
        .with_teacher_temperature(1.0)
        .with_student_temperature(1.0)
        .init();
    let t = tensor(vec![1.0, 0.0, 0.0, 1.0], [2, 2], &d);
    let id = |x| x;
    // p_t rows = softmax([1, 0]) = [a, b]; same student -> entropy.
    let (a, b) = (
        std::f32::consts::E / (1.0 + std::f32::consts::E),
        1.0 / (1.0 + std::f32::consts::E),
    );
    let entropy = -(a * a.ln() + b * b.ln());
    close(scalar(c.forward(t.clone(), t.clone(), id)), entropy, 1e-5);
    let swapped = tensor(vec![0.0, 1.0, 1.0, 0.0], [2, 2], &d);
    let cross = -(a * b.ln() + b * a.ln());
    close(scalar(c.forward(swapped, t.clone(), id)), cross, 1e-5);
    assert!(cross > entropy);
}

#[test]
fn comodo_queue_is_fifo_and_bounded() {
    let d = device(3);
    let mut c = ComodoConfig::new().with_queue_size(3).init();
    assert!(c.is_empty());
    c.enqueue(tensor(vec![1.0, 0.0, 0.0, 2.0], [2, 2], &d));
    c.enqueue(tensor(vec![3.0, 4.0, -1.0, 0.0], [2, 2], &d));
    assert_eq!(c.len(), 3);
    // Oldest row ([1, 0]) dropped; rows are stored normalised.
    let q = values(c.queue().unwrap().clone());
    let want = [0.0, 1.0, 0.6, 0.8, -1.0, 0.0];
    assert!(max_abs_diff(&q, &want) < 1e-6, "{q:?}");
}

#[test]
fn comodo_defaults_are_the_published_ones() {
    let c = ComodoConfig::new();
    assert_eq!(
        (c.queue_size, c.teacher_temperature, c.student_temperature),
        (4096, 0.1, 0.05)
    );
}

#[test]
fn attention_kd_divergences_match_hand_values() {
    let d = device(4);
    let t = tensor(vec![0.5, 0.5], [1, 2], &d);
    let s = tensor(vec![0.25, 0.75], [1, 2], &d);
    let kl = AttentionKdConfig::new().init();
    close(scalar(kl.forward(s.clone(), t.clone())), 0.143_841, 1e-5);
    let mse = AttentionKdConfig::new()
        .with_divergence(AttentionDivergence::Mse)
        .init();
    close(scalar(mse.forward(s.clone(), t.clone())), 0.0625, 1e-6);
    let js = AttentionKdConfig::new()
        .with_divergence(AttentionDivergence::Js)
        .init();
    close(scalar(js.forward(s.clone(), t.clone())), 0.033_822, 1e-5);
    for kd in [kl, mse, js] {
        close(scalar(kd.forward(t.clone(), t.clone())), 0.0, 1e-6);
    }
}

#[test]
fn attention_kd_temperature_acts_on_log_weights() {
    let d = device(5);
    let t = tensor(vec![0.2, 0.8], [1, 2], &d);
    let s = tensor(vec![0.5, 0.5], [1, 2], &d);
    // T = 2: p_t = sqrt-normalised = [1/3, 2/3]; KL([1/3,2/3] || [1/2,1/2]) * T^2.
    let kd = AttentionKdConfig::new().with_temperature(2.0).init();
    let want = ((1.0f32 / 3.0) * (2.0f32 / 3.0).ln() + (2.0 / 3.0) * (4.0f32 / 3.0).ln()) * 4.0;
    close(scalar(kd.forward(s, t.clone())), want, 1e-5);
    close(scalar(kd.forward(t.clone(), t)), 0.0, 1e-6);
}

#[test]
fn attention_kd_handles_any_length_ratio() {
    let d = device(6);
    let kd = AttentionKdConfig::new().init();
    let t = tensor(vec![0.25; 4], [1, 4], &d);
    let s = tensor(vec![0.5, 0.5], [1, 2], &d);
    close(scalar(kd.forward(s.clone(), t.clone())), 0.0, 1e-6);
    close(scalar(kd.forward(t, s)), 0.0, 1e-6);
    // 3 teacher steps against 64 student steps: finite and non-negative.
    let t3 = tensor(vec![0.7, 0.2, 0.1], [1, 3], &d);
    let s64 = tensor(vec![1.0 / 64.0; 64], [1, 64], &d);
    let v = scalar(kd.forward(s64, t3));
    assert!(v.is_finite() && v > 0.0);
}

#[test]
fn task_losses_match_hand_values() {
    let d = device(7);
    let logits = tensor(vec![0.0, 2.0], [2], &d);
    let targets = tensor(vec![1.0, 0.0], [2], &d);
    let bce = TaskLoss {
        kind: TaskLossKind::Bce { pos_weight: 1.0 },
    };
    // (ln 2 + ln(1 + e^2)) / 2
    close(
        scalar(bce.forward(logits.clone(), targets.clone())),
        (2f32.ln() + (1.0 + 2f32.exp()).ln()) / 2.0,
        1e-5,
    );
    let focal = TaskLoss {
        kind: TaskLossKind::Focal {
            alpha: 0.25,
            gamma: 2.0,
        },
    };
    let p = 1.0 / (1.0 + (-2f32).exp());
    let want = (0.25 * 0.25 * 2f32.ln() + 0.75 * p * p * (1.0 + 2f32.exp()).ln()) / 2.0;
    close(scalar(focal.forward(logits, targets)), want, 1e-5);
}

fn output(
    features: Tensor<2>,
    tokens: Tensor<3>,
    attention: Tensor<2>,
    logits: Tensor<1>,
) -> ModelOutput {
    ModelOutput {
        logits,
        features,
        pooled_tokens: tokens.clone(),
        tokens,
        attention_scores: attention.clone().log(),
        attention,
    }
}

#[test]
fn combined_loss_weights_its_parts_and_trains_the_projection() {
    let d = device(8).autodiff();
    let cfg = DistillationLossConfig::new(4, 3).with_weights(
        KdWeights::new()
            .with_task(1.0)
            .with_embedding(2.0)
            .with_gram(0.5)
            .with_comodo(0.25)
            .with_attention(3.0),
    );
    let loss = cfg.init(&d);
    let mut comodo = ComodoConfig::new().init();
    let teacher = output(
        tensor(noise(8, 1), [2, 4], &d),
        tensor(noise(2 * 5 * 4, 2), [2, 5, 4], &d),
        tensor(
            vec![0.1, 0.2, 0.3, 0.2, 0.2, 0.5, 0.1, 0.1, 0.2, 0.1],
            [2, 5],
            &d,
        ),
        tensor(vec![0.0, 0.0], [2], &d),
    );
    comodo.enqueue(teacher.features.clone());
    let student = output(
        tensor(noise(6, 3), [2, 3], &d).require_grad(),
        tensor(noise(2 * 8 * 3, 4), [2, 8, 3], &d),
        tensor(vec![0.125; 16], [2, 8], &d),
        tensor(vec![0.5, -1.0], [2], &d).require_grad(),
    );
    let parts = loss.forward(
        KdInputs {
            student: &student,
            teacher: Some(&teacher),
            targets: tensor(vec![1.0, 0.0], [2], &d),
        },
        Some(&comodo),
    );
    let want = scalar(parts.task.clone())
        + 2.0 * scalar(parts.embedding.clone().unwrap())
        + 0.5 * scalar(parts.gram.clone().unwrap())
        + 0.25 * scalar(parts.comodo.clone().unwrap())
        + 3.0 * scalar(parts.attention.clone().unwrap());
    close(scalar(parts.total.clone()), want, 1e-4);
    let grads = parts.total.backward();
    let mut n = 0;
    struct V<'a>(&'a fallkd_core::burn::tensor::Gradients, &'a mut usize);
    impl fallkd_core::burn::module::ModuleVisitor for V<'_> {
        fn visit_float<const D: usize>(&mut self, p: &fallkd_core::burn::module::Param<Tensor<D>>) {
            assert!(
                p.val().grad(self.0).is_some(),
                "projection parameter without gradient"
            );
            *self.1 += 1;
        }
    }
    loss.visit(&mut V(&grads, &mut n));
    assert_eq!(n, 2, "projection weight and bias");
    // Without a teacher only the task term remains.
    let parts = loss.forward(
        KdInputs {
            student: &student,
            teacher: None,
            targets: tensor(vec![1.0, 0.0], [2], &d),
        },
        None,
    );
    assert!(parts.embedding.is_none() && parts.gram.is_none() && parts.comodo.is_none());
    close(scalar(parts.total), scalar(parts.task), 1e-6);
}

#[test]
fn kd_weights_reject_negative_or_nan() {
    assert!(
        KdWeights::new()
            .with_gram(-1.0)
            .validate()
            .unwrap_err()
            .to_string()
            .contains("weights.gram")
    );
    assert!(KdWeights::new().with_comodo(f64::NAN).validate().is_err());
    assert!(KdWeights::new().validate().is_ok());
}

#[test]
#[should_panic(expected = "a COMODO weight above 0 needs its queue")]
fn a_comodo_weight_without_its_queue_is_refused_not_dropped() {
    let d = device(8);
    let loss = DistillationLossConfig::new(4, 3)
        .with_weights(
            KdWeights::new()
                .with_embedding(0.0)
                .with_gram(0.0)
                .with_comodo(1.0),
        )
        .init(&d);
    let teacher = output(
        tensor(noise(8, 1), [2, 4], &d),
        tensor(noise(2 * 5 * 4, 2), [2, 5, 4], &d),
        tensor(vec![0.2; 10], [2, 5], &d),
        tensor(vec![0.0, 0.0], [2], &d),
    );
    let student = output(
        tensor(noise(6, 3), [2, 3], &d),
        tensor(noise(2 * 8 * 3, 4), [2, 8, 3], &d),
        tensor(vec![0.125; 16], [2, 8], &d),
        tensor(vec![0.5, -1.0], [2], &d),
    );
    loss.forward(
        KdInputs {
            student: &student,
            teacher: Some(&teacher),
            targets: tensor(vec![1.0, 0.0], [2], &d),
        },
        None,
    );
}
