//! The timestamp-aware student's scoring path as an ONNX graph: from at most `N` events of one
//! window (normalised values, seconds, a mask), and its scaled window features, to the fall logit
//! and probability. The same arithmetic as [`HostStudent::forward`], which the parity tests
//! compare it with.
//!
//! # Shapes
//! - `events`: `(B, N, C)` normalised events, valid ones first, zero after
//! - `timestamps`: `(B, N)` seconds from the window's first event, sorted within the valid ones
//! - `mask`: `(B, N)` 1 for a valid event, 0 for padding
//! - `window_features`: `(B, F)` scaled window features (students with the window-feature path)
//! - outputs: `logit` `(B, 1)`, `probability` `(B, 1)`

use super::graph::Builder;
use super::proto::{Dim, Graph};
use crate::error::Error;
use crate::model::host_forward::HostStudent;
use crate::model::resampler::TimeMode;

/// Far below any score: what a padded event's attention score gets, so that its weight is
/// exactly zero after the softmax.
const MASKED: f32 = -1e9;

/// Sizes a graph is built for.
#[derive(Debug, Clone, Copy)]
pub struct GraphSizes {
    /// Events per window `N` (the window configuration's `max_events`).
    pub max_events: usize,
    /// Window features `F` (0 without the window-feature path).
    pub features: usize,
}

/// Builds the graph; see the module documentation.
pub fn student_graph(host: &HostStudent, sizes: GraphSizes, doc: &str) -> Result<Graph, Error> {
    let n = sizes.max_events;
    if n < 2 {
        return Err(Error::Invalid(format!(
            "an ONNX window needs room for at least 2 events, not {n}"
        )));
    }
    let c = host.event_channels();
    let batch = || Dim::Named("batch".into());
    let mut g = Builder::new("fallkd_student", doc);
    let events = g.input(
        "events",
        &[batch(), Dim::Fixed(n), Dim::Fixed(c)],
        "normalised events, valid ones first, zero after",
    );
    let ts = g.input(
        "timestamps",
        &[batch(), Dim::Fixed(n)],
        "seconds from the window's first event, sorted within the valid events",
    );
    let mask = g.input(
        "mask",
        &[batch(), Dim::Fixed(n)],
        "1 for a valid event, 0 for padding",
    );
    let features = match &host.feature_hidden {
        Some(fh) => {
            if fh.input != sizes.features {
                return Err(Error::Invalid(format!(
                    "the model takes {} window features, not {}",
                    fh.input, sizes.features
                )));
            }
            Some(g.input(
                "window_features",
                &[batch(), Dim::Fixed(fh.input)],
                "scaled window features",
            ))
        }
        None => None,
    };

    // Time features [dt, ln(1 + dt), tau] per event, and tau.
    let (dt, tau) = time_features(&mut g, (&ts, &mask), n, host.time_mode);
    let ln1p = g.shift(&dt, 1.0);
    let ln1p = g.op("Log", &[&ln1p], &[]);
    let cols: Vec<String> = [&dt, &ln1p, &tau]
        .iter()
        .map(|x| g.reshape(x, &[0, n as i64, 1]))
        .collect();
    let input = g.op(
        "Concat",
        &[&events, &cols[0], &cols[1], &cols[2]],
        &[("axis", super::proto::Attribute::Int(2))],
    );

    let x = resampler(&mut g, host, (&input, &tau, &mask), n);
    let x = trunk(&mut g, host, x);
    let logit = head(&mut g, host, &x, features.as_deref());
    let probability = g.op("Sigmoid", &[&logit], &[]);
    let out = [batch(), Dim::Fixed(1)];
    g.output(&logit, "logit", &out, "the fall logit");
    g.output(&probability, "probability", &out, "the fall probability");
    Ok(g.finish())
}

/// The resampler: event embeddings, the fixed queries' cross-attention over them (with the
/// locality term and the mask), to `(B, L, D)` tokens.
fn resampler(
    g: &mut Builder,
    host: &HostStudent,
    (input, tau, mask): (&str, &str, &str),
    n: usize,
) -> String {
    let (d, l, h) = (host.dim, host.tokens, host.heads);
    let dk = d / h;
    let e = g.linear(input, &host.event_proj);
    let e = g.layer_norm(&e, &host.event_norm);
    let e = g.silu(&e);
    let k = g.linear(&e, &host.wk);
    let v = g.linear(&e, &host.wv);
    let k = g.heads(&k, (n, h, dk), true);
    let v = g.heads(&v, (n, h, dk), false);
    let scale = 1.0 / (dk as f32).sqrt();
    let mut q = vec![0.0f32; h * l * dk];
    for j in 0..l {
        for hh in 0..h {
            for i in 0..dk {
                q[(hh * l + j) * dk + i] = host.queries_projected[j * d + hh * dk + i] * scale;
            }
        }
    }
    let q = g.constant("queries_projected", &[1, h, l, dk], &q);
    let mut scores = g.op("MatMul", &[&q, &k], &[]);
    if let Some(coef) = &host.locality {
        let anchors = g.constant("anchors", &[1, 1, l, 1], &host.anchors);
        let tau4 = g.reshape(tau, &[0, 1, 1, n as i64]);
        let diff = g.sub(&anchors, &tau4);
        let sq = g.mul(&diff, &diff);
        let neg: Vec<f32> = coef.iter().map(|c| -c).collect();
        let neg = g.constant("locality", &[1, h, 1, 1], &neg);
        let bias = g.mul(&sq, &neg);
        scores = g.add(&scores, &bias);
    }
    let mask4 = g.reshape(mask, &[0, 1, 1, n as i64]);
    let off = g.shift(&mask4, -1.0);
    let off = g.scale(&off, -MASKED);
    let scores = g.add(&scores, &off);
    let p = g.softmax(&scores, -1);
    // A window without valid events attends to nothing (zero context), as the host forward.
    let p = g.mul(&p, &mask4);
    let context = g.op("MatMul", &[&p, &v], &[]);
    let context = g.merge_heads(&context, (l, d));
    let x = g.linear(&context, &host.wo);
    let queries = g.constant("queries", &[l, d], &host.queries);
    let x = g.add(&x, &queries);
    g.layer_norm(&x, &host.out_norm)
}

/// The trunk: positions, pre-norm encoder layers, final norm, and the squeeze-excitation over the
/// token mean.
fn trunk(g: &mut Builder, host: &HostStudent, mut x: String) -> String {
    let (d, l, h) = (host.dim, host.tokens, host.heads);
    let dk = d / h;
    let scale = 1.0 / (dk as f32).sqrt();
    if let Some(p) = &host.positions {
        let p = g.constant("positions", &[l, d], p);
        x = g.add(&x, &p);
    }
    for layer in &host.layers {
        let r = g.layer_norm(&x, &layer.norm_attention);
        let q = g.linear(&r, &layer.query);
        let q = g.scale(&q, scale);
        let k = g.linear(&r, &layer.key);
        let v = g.linear(&r, &layer.value);
        let q = g.heads(&q, (l, h, dk), false);
        let k = g.heads(&k, (l, h, dk), true);
        let v = g.heads(&v, (l, h, dk), false);
        let s = g.op("MatMul", &[&q, &k], &[]);
        let p = g.softmax(&s, -1);
        let c = g.op("MatMul", &[&p, &v], &[]);
        let c = g.merge_heads(&c, (l, d));
        let o = g.linear(&c, &layer.output);
        x = g.add(&x, &o);
        let r = g.layer_norm(&x, &layer.norm_ffn);
        let hidden = g.linear(&r, &layer.inner);
        let hidden = g.gelu(&hidden);
        let o = g.linear(&hidden, &layer.outer);
        x = g.add(&x, &o);
    }
    let x = g.layer_norm(&x, &host.final_norm);

    let summary = g.reduce("ReduceMean", &x, &[1]);
    let s = g.linear(&summary, &host.squeeze);
    let s = g.op("Relu", &[&s], &[]);
    let s = g.linear(&s, &host.excite);
    let gates = g.op("Sigmoid", &[&s], &[]);
    g.mul(&x, &gates)
}

/// Temporal attention pooling and the classifier, plus the window-feature path: the logit.
fn head(g: &mut Builder, host: &HostStudent, x: &str, features: Option<&str>) -> String {
    let d = host.dim;
    let a = g.linear(x, &host.pool_hidden);
    let a = g.op("Tanh", &[&a], &[]);
    let a = g.linear(&a, &host.pool_score);
    let a = g.softmax(&a, 1);
    let a = g.transpose(&a, &[0, 2, 1]);
    let pooled = g.op("MatMul", &[&a, x], &[]);
    let pooled = g.reshape(&pooled, &[0, d as i64]);
    let mut logit = g.linear(&pooled, &host.classifier);
    if let (Some(f), Some(fh), Some(fo)) = (features, &host.feature_hidden, &host.feature_out) {
        let hidden = g.linear(f, fh);
        let hidden = g.gelu(&hidden);
        let o = g.linear(&hidden, fo);
        logit = g.add(&logit, &o);
    }
    logit
}

/// `dt` and `tau` `(B, N)` as the resampler computes them for `mode` over the valid events
/// (the values at padded events are never read).
fn time_features(
    g: &mut Builder,
    (ts, mask): (&str, &str),
    n: usize,
    mode: TimeMode,
) -> (String, String) {
    // The first event's dt is 0: pad the n - 1 differences with one zero in front.
    let pad_front = |g: &mut Builder, x: &str| {
        let pads = g.ints("pads", &[0, 1, 0, 0]);
        g.op("Pad", &[x, &pads], &[])
    };
    match mode {
        TimeMode::Timestamps => {
            let d = differences(g, ts, n);
            let d = g.clip(&d, 0.0, 60.0);
            let dt = pad_front(g, &d);
            // t0 and t_end over the valid events: padded ones pushed out of the way.
            let off = g.shift(mask, -1.0);
            let up = g.scale(&off, -1e9);
            let hi = g.add(ts, &up);
            let t0 = g.reduce("ReduceMin", &hi, &[1]);
            let lo = g.sub(ts, &up);
            let t1 = g.reduce("ReduceMax", &lo, &[1]);
            let span = g.sub(&t1, &t0);
            let floor = g.scalar(1e-6);
            let span = g.op("Max", &[&span, &floor], &[]);
            let rel = g.sub(ts, &t0);
            let tau = g.div(&rel, &span);
            (dt, g.clip(&tau, 0.0, 1.0))
        }
        TimeMode::Cleaned => {
            let d = differences(g, ts, n);
            let d = g.clip(&d, 1e-4, 0.1);
            let dt = pad_front(g, &d);
            let dt = g.mul(&dt, mask);
            let axis = g.ints("axis", &[1]);
            let axis = g.reshape(&axis, &[]);
            let elapsed = g.op("CumSum", &[&dt, &axis], &[]);
            let span = g.reduce("ReduceMax", &elapsed, &[1]);
            let floor = g.scalar(1e-6);
            let span = g.op("Max", &[&span, &floor], &[]);
            let tau = g.div(&elapsed, &span);
            (dt, g.clip(&tau, 0.0, 1.0))
        }
        TimeMode::Position => {
            let index: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let index = g.constant("index", &[1, n], &index);
            let count = g.reduce("ReduceMean", mask, &[1]);
            let count = g.scale(&count, n as f32);
            let span = g.shift(&count, -1.0);
            let one = g.scalar(1.0);
            let span = g.op("Max", &[&span, &one], &[]);
            let tau = g.div(&index, &span);
            let dt = g.scale(mask, 0.0);
            (dt, g.clip(&tau, 0.0, 1.0))
        }
    }
}

/// `t_i - t_{i-1}` for `i` in `1..N`, `(B, N - 1)`.
fn differences(g: &mut Builder, ts: &str, n: usize) -> String {
    let axis = g.ints("axes", &[1]);
    let (one, end) = (g.ints("starts", &[1]), g.ints("ends", &[n as i64]));
    let later = g.op("Slice", &[ts, &one, &end, &axis], &[]);
    let (zero, last) = (g.ints("starts", &[0]), g.ints("ends", &[n as i64 - 1]));
    let earlier = g.op("Slice", &[ts, &zero, &last, &axis], &[]);
    g.sub(&later, &earlier)
}
