//! [`HostStudent`]: the timestamp-aware student's inference forward on the host CPU, one window
//! at a time, in plain Rust over the weights copied out of a [`TimestampAwareStudent`].
//!
//! The same arithmetic as the tensor forward without dropout (tested against it to 1e-5 on the
//! logit), with no tensor library in between: a window of about a hundred events is a few million
//! multiply-adds, where the tensor backend's per-operation cost (hundreds of small kernels, each
//! allocating) outweighs the arithmetic. `fallkd predict` and the page's CPU backend run it; the
//! WebGPU backend and training keep the tensor forward. The matrix products are calls of the gemm
//! crate (burn-flex's own), single-threaded; the element-wise rest is compiled for the CPU's best
//! instruction set through pulp's runtime dispatch (AVX2 and FMA where present, SSE2 otherwise;
//! WebAssembly SIMD in the page).

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::Tensor;

use super::resampler::{TimeMode, query_anchor};
use super::student::TimestampAwareStudent;
use crate::error::Error;

/// A linear layer's weights, `w` as `[input][output]` (burn's layout) and the bias.
#[derive(Debug, Clone)]
pub(crate) struct Dense {
    pub(crate) w: Vec<f32>,
    pub(crate) b: Vec<f32>,
    pub(crate) input: usize,
    pub(crate) output: usize,
}

/// LayerNorm's scale and shift (epsilon 1e-5, burn's default, which every norm here uses).
#[derive(Debug, Clone)]
pub(crate) struct Norm {
    pub(crate) gamma: Vec<f32>,
    pub(crate) beta: Vec<f32>,
}

pub(crate) const LAYER_NORM_EPSILON: f32 = 1e-5;

/// One pre-norm encoder layer.
#[derive(Debug, Clone)]
pub(crate) struct EncoderLayer {
    pub(crate) norm_attention: Norm,
    pub(crate) query: Dense,
    pub(crate) key: Dense,
    pub(crate) value: Dense,
    pub(crate) output: Dense,
    pub(crate) norm_ffn: Norm,
    pub(crate) inner: Dense,
    pub(crate) outer: Dense,
}

/// One window's forward as a pulp operation: compiled once per instruction set (SSE2, AVX2 and
/// FMA natively; SIMD128 in the page) and run with the best the CPU has. Everything it calls is
/// `#[inline(always)]`, so that it is compiled inside the instruction set's context.
struct Window<'a> {
    host: &'a HostStudent,
    events: &'a [f32],
    timestamps: &'a [f32],
    features: Option<&'a [f32]>,
}

/// One window's forward, in parts: what personalisation adapts reads the pooled trunk features
/// and the window features apart.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardParts {
    /// The fall logit (the trunk's plus the window-feature path's).
    pub logit: f32,
    /// The trunk's pooled features `(D)`, before its classifier.
    pub pooled: Vec<f32>,
    /// The temporal attention over the L tokens.
    pub attention: Vec<f32>,
}

impl pulp::WithSimd for Window<'_> {
    type Output = Result<ForwardParts, Error>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Self::Output {
        self.host
            .forward_inline(self.events, self.timestamps, self.features)
    }
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct HostStudent {
    pub(crate) time_mode: TimeMode,
    pub(crate) heads: usize,
    pub(crate) dim: usize,
    pub(crate) tokens: usize,
    pub(crate) event_proj: Dense,
    pub(crate) event_norm: Norm,
    /// The resampler's query tokens `MLP(tau_j) + bias_j`, `(L, D)`: they do not depend on the
    /// window.
    pub(crate) queries: Vec<f32>,
    /// `wq` of the queries, `(L, D)`.
    pub(crate) queries_projected: Vec<f32>,
    pub(crate) anchors: Vec<f32>,
    pub(crate) locality: Option<Vec<f32>>,
    pub(crate) wk: Dense,
    pub(crate) wv: Dense,
    pub(crate) wo: Dense,
    pub(crate) out_norm: Norm,
    pub(crate) positions: Option<Vec<f32>>,
    pub(crate) layers: Vec<EncoderLayer>,
    pub(crate) final_norm: Norm,
    pub(crate) squeeze: Dense,
    pub(crate) excite: Dense,
    pub(crate) pool_hidden: Dense,
    pub(crate) pool_score: Dense,
    pub(crate) classifier: Dense,
    pub(crate) feature_hidden: Option<Dense>,
    pub(crate) feature_out: Option<Dense>,
}

/// `Ok` for an encoder layer the host code computes: pre-norm, plain softmax, exact GELU; else an
/// error naming `what` (the host forward or the host training step).
pub(super) fn check_layer(
    layer: &burn::nn::transformer::TransformerEncoderLayer,
    what: &str,
) -> Result<(), Error> {
    if !layer.norm_first || layer.mha.quiet_softmax {
        return Err(Error::Inference(format!(
            "{what} knows pre-norm encoder layers with the plain softmax only"
        )));
    }
    match &layer.pwff.activation {
        burn::nn::activation::Activation::Gelu(g) if !g.approximate => Ok(()),
        other => Err(Error::Inference(format!(
            "{what} knows the exact GELU only, not {other:?}"
        ))),
    }
}

pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, Error> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Inference(format!("reading the model's weights failed: {e:?}")))
}

fn param<const D: usize>(p: &Param<Tensor<D>>) -> Result<Vec<f32>, Error> {
    values(p.val())
}

fn dense(l: &Linear) -> Result<Dense, Error> {
    let [input, output] = l.weight.dims();
    let b = match &l.bias {
        Some(b) => param(b)?,
        None => vec![0.0; output],
    };
    Ok(Dense {
        w: param(&l.weight)?,
        b,
        input,
        output,
    })
}

fn norm(n: &LayerNorm) -> Result<Norm, Error> {
    let gamma = param(&n.gamma)?;
    let beta = match &n.beta {
        Some(b) => param(b)?,
        None => vec![0.0; gamma.len()],
    };
    Ok(Norm { gamma, beta })
}

impl EncoderLayer {
    /// The pre-norm encoder layer on `x`, `l` tokens of the model's width (updated in place):
    /// attention over the tokens with `heads` heads, then the feed-forward, each with its residual.
    fn apply(&self, x: &mut [f32], l: usize, heads: Heads) {
        let mut r = x.to_vec();
        self.norm_attention.apply(&mut r);
        let (q, k, v) = (
            self.query.apply(&r, l),
            self.key.apply(&r, l),
            self.value.apply(&r, l),
        );
        let c = attend(&q, &k, &v, (l, l), heads, None);
        for (xv, o) in x.iter_mut().zip(self.output.apply(&c, l)) {
            *xv += o;
        }
        let mut r = x.to_vec();
        self.norm_ffn.apply(&mut r);
        let mut hidden = self.inner.apply(&r, l);
        hidden.iter_mut().for_each(|v| *v = gelu(*v));
        for (xv, o) in x.iter_mut().zip(self.outer.apply(&hidden, l)) {
            *xv += o;
        }
    }
}

impl Dense {
    /// `rows` rows of `x` (each `input` wide) through the layer: `x W + b`, one gemm call.
    #[inline(always)]
    fn apply(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let (i, o) = (self.input, self.output);
        assert!(x.len() >= rows * i, "dense input too short");
        let mut out = Vec::with_capacity(rows * o);
        for _ in 0..rows {
            out.extend_from_slice(&self.b);
        }
        if rows > 0 {
            // Row-major throughout: out (rows, o) += x (rows, i) W (i, o).
            unsafe {
                matmul(
                    (rows, o, i),
                    (out.as_mut_ptr(), o as isize, true),
                    (x.as_ptr(), i as isize, 1),
                    (self.w.as_ptr(), o as isize, 1),
                    1.0,
                );
            }
        }
        out
    }
}

/// `dst (m, n) = [dst +] scale * lhs (m, k) rhs (k, n)` with gemm, single-threaded; each matrix
/// given by its pointer and (row stride, column stride) in elements, `dst` row-major with its row
/// stride and whether to add to what it holds.
///
/// # Safety
/// The pointers must address every element the strides and sizes reach.
#[inline(always)]
pub(super) unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs, add): (*mut f32, isize, bool),
    (lhs, lhs_rs, lhs_cs): (*const f32, isize, isize),
    (rhs, rhs_rs, rhs_cs): (*const f32, isize, isize),
    scale: f32,
) {
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs,
            add,
            lhs,
            lhs_cs,
            lhs_rs,
            rhs,
            rhs_cs,
            rhs_rs,
            if add { 1.0 } else { 0.0 },
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

impl Norm {
    /// Normalises each row of `x` in place (population variance, as burn).
    #[inline(always)]
    fn apply(&self, x: &mut [f32]) {
        let d = self.gamma.len();
        for row in x.chunks_exact_mut(d) {
            let mean = row.iter().sum::<f32>() / d as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + LAYER_NORM_EPSILON).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

/// `e^x` to about two ulp (Cephes' polynomial after reduction by powers of two), in operations the
/// compiler vectorises: the host forward takes some 70,000 exponentials per window, and libm's
/// scalar `expf` cost more than all its matrix products.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.7);
    // floor(t) by rounding through 1.5 * 2^23 (t lies in [-126, 129] after the clamp): plain
    // float arithmetic that vectorises with any instruction set, where `f32::floor` is a libm
    // call without SSE4.1 (the host training step's loops are compiled without it).
    const ROUND: f32 = 12_582_912.0;
    let t = x * std::f32::consts::LOG2_E + 0.5;
    let r = (t + ROUND) - ROUND;
    let n = if r > t { r - 1.0 } else { r };
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut y = 1.987_569_1e-4;
    y = y * r + 1.398_199_9e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 1.666_666_5e-1;
    y = y * r + 0.5;
    y = y * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) << 23) as u32)
}

/// `erf(x)` to 4e-7 (Abramowitz and Stegun 7.1.26, 1.5e-7 in exact arithmetic, with [`exp`]).
#[inline(always)]
pub(super) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

#[inline(always)]
pub(super) fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// The exact GELU, `x Phi(x)`, as burn's.
#[inline(always)]
pub(super) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The larger of `a` and `b` by one comparison (`b` when either is NaN). Not `f32::max`: its NaN
/// rule has no WebAssembly instruction, so in the page it was a call of libm's `fmaxf` per
/// element (13 % of the page's CPU path there, `benches/wasm`); this compiles to a vector select.
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// Softmax of a row in place (eight running lanes for the max and the sum, so that the
/// reductions vectorise).
#[inline(always)]
pub(super) fn softmax(row: &mut [f32]) {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (m, v) in lanes.iter_mut().zip(c) {
            *m = max(*m, *v);
        }
    }
    let top = chunks
        .remainder()
        .iter()
        .chain(&lanes)
        .copied()
        .fold(f32::NEG_INFINITY, max);
    // Weights below e^-60 of the largest are set to 0: they cannot move a sum of at least 1, and
    // as subnormal floats (the resampler's locality term makes most of a row that small) they
    // slowed every later multiplication by two orders of magnitude.
    for v in row.iter_mut() {
        let z = *v - top;
        *v = if z < -60.0 { 0.0 } else { exp(z) };
    }
    let mut sums = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (s, v) in sums.iter_mut().zip(c) {
            *s += v;
        }
    }
    let sum: f32 = sums.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>();
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// Width `dim` split over `count` attention heads.
#[derive(Debug, Clone, Copy)]
struct Heads {
    count: usize,
    dim: usize,
}

/// The resampler's locality term `-c_h (anchor_j - tau_i)^2` of each score.
#[derive(Debug, Clone, Copy)]
struct Locality<'a> {
    anchors: &'a [f32],
    tau: &'a [f32],
    coef: &'a [f32],
}

/// Attention of `rows` queries over `n` keys for each head: `q (rows, D)`, `k`, `v` `(n, D)`,
/// the optional locality term added to each score. Returns the context `(rows, D)`. Scores and
/// the weighted sum of values are gemm calls per head; the softmax runs along each score row.
#[inline(always)]
fn attend(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    (rows, n): (usize, usize),
    heads: Heads,
    locality: Option<Locality<'_>>,
) -> Vec<f32> {
    let Heads { count: heads, dim } = heads;
    let dk = dim / heads;
    let scale = 1.0 / (dk as f32).sqrt();
    let mut context = vec![0.0f32; rows * dim];
    let mut p = vec![0.0f32; rows * n];
    assert!(q.len() >= rows * dim && k.len() >= n * dim && v.len() >= n * dim);
    for h in 0..heads {
        // Scores (rows, n) = scale * q_h (rows, dk) k_h^T (dk, n).
        unsafe {
            matmul(
                (rows, n, dk),
                (p.as_mut_ptr(), n as isize, false),
                (q.as_ptr().add(h * dk), dim as isize, 1),
                (k.as_ptr().add(h * dk), 1, dim as isize),
                scale,
            );
        }
        for (j, row) in p.chunks_exact_mut(n).enumerate() {
            if let Some(loc) = locality {
                let (a, c) = (loc.anchors[j], loc.coef[h]);
                for (s, t) in row.iter_mut().zip(loc.tau) {
                    *s -= (a - t) * (a - t) * c;
                }
            }
            softmax(row);
        }
        // Context_h (rows, dk) = P (rows, n) v_h (n, dk), into the head's columns.
        unsafe {
            matmul(
                (rows, dk, n),
                (context.as_mut_ptr().add(h * dk), dim as isize, false),
                (p.as_ptr(), n as isize, 1),
                (v.as_ptr().add(h * dk), dim as isize, 1),
                1.0,
            );
        }
    }
    context
}

/// Per-event time features `[dt, ln(1 + dt), tau]` and `tau`, as
/// [`super::resampler::time_features`] computes them for a window whose events are all valid.
#[inline(always)]
pub(super) fn time_features(ts: &[f32], mode: TimeMode) -> (Vec<[f32; 3]>, Vec<f32>) {
    let n = ts.len();
    let raw_dt = |i: usize| if i == 0 { 0.0 } else { ts[i] - ts[i - 1] };
    let (dt, tau): (Vec<f32>, Vec<f32>) = match mode {
        TimeMode::Timestamps => {
            let t0 = ts.iter().copied().fold(f32::MAX, f32::min);
            let t1 = ts.iter().copied().fold(f32::MIN, f32::max);
            let span = (t1 - t0).max(1e-6);
            (0..n)
                .map(|i| {
                    (
                        raw_dt(i).clamp(0.0, 60.0),
                        ((ts[i] - t0) / span).clamp(0.0, 1.0),
                    )
                })
                .unzip()
        }
        TimeMode::Cleaned => {
            let dt: Vec<f32> = (0..n)
                .map(|i| {
                    if i == 0 {
                        0.0
                    } else {
                        raw_dt(i).clamp(1e-4, 0.1)
                    }
                })
                .collect();
            let elapsed: Vec<f32> = dt
                .iter()
                .scan(0.0f32, |acc, d| {
                    *acc += d;
                    Some(*acc)
                })
                .collect();
            let span = elapsed.iter().copied().fold(f32::MIN, f32::max).max(1e-6);
            let tau = elapsed.iter().map(|e| (e / span).clamp(0.0, 1.0)).collect();
            (dt, tau)
        }
        TimeMode::Position => {
            let span = (n as f32 - 1.0).max(1.0);
            (
                vec![0.0; n],
                (0..n).map(|i| (i as f32 / span).clamp(0.0, 1.0)).collect(),
            )
        }
    };
    let feats = dt
        .iter()
        .zip(&tau)
        .map(|(&d, &t)| [d, d.ln_1p(), t])
        .collect();
    (feats, tau)
}

impl HostStudent {
    /// Copies the weights of `student` (on any device that can read them back synchronously: the
    /// CPU backend) into host vectors.
    pub fn new(student: &TimestampAwareStudent) -> Result<HostStudent, Error> {
        let r = &student.resampler;
        let t = &student.trunk;
        let [l, d] = r.query_bias.dims();
        let anchors: Vec<f32> = (0..l).map(|j| query_anchor(j, l)).collect();
        let mlp_in = dense(&r.query_mlp_in)?;
        let mlp_out = dense(&r.query_mlp_out)?;
        let mut hidden = mlp_in.apply(&anchors, l);
        hidden.iter_mut().for_each(|v| *v = silu(*v));
        let mut queries = mlp_out.apply(&hidden, l);
        for (q, b) in queries.iter_mut().zip(param(&r.query_bias)?) {
            *q += b;
        }
        let queries_projected = dense(&r.wq)?.apply(&queries, l);
        let mut layers = Vec::with_capacity(t.encoder.layers.len());
        for layer in &t.encoder.layers {
            check_layer(layer, "the host forward")?;
            layers.push(EncoderLayer {
                // burn's pre-norm layer normalises with norm_2 before attention, norm_1 before
                // the feed-forward block (see `super::encoder`).
                norm_attention: norm(&layer.norm_2)?,
                query: dense(&layer.mha.query)?,
                key: dense(&layer.mha.key)?,
                value: dense(&layer.mha.value)?,
                output: dense(&layer.mha.output)?,
                norm_ffn: norm(&layer.norm_1)?,
                inner: dense(&layer.pwff.linear_inner)?,
                outer: dense(&layer.pwff.linear_outer)?,
            });
        }
        let positions = match &t.pos_enc {
            Some(pe) => {
                let table = param(&pe.table)?;
                if table.len() < l * d {
                    return Err(Error::Inference(format!(
                        "the positional table covers {} tokens, the resampler makes {l}",
                        table.len() / d
                    )));
                }
                Some(table[..l * d].to_vec())
            }
            None => None,
        };
        let (feature_hidden, feature_out) = match &student.feature_head {
            Some(h) => (Some(dense(&h.hidden)?), Some(dense(&h.out)?)),
            None => (None, None),
        };
        Ok(HostStudent {
            time_mode: r.time_mode,
            heads: r.num_heads,
            dim: d,
            tokens: l,
            event_proj: dense(&r.event_proj)?,
            event_norm: norm(&r.event_norm)?,
            queries,
            queries_projected,
            anchors,
            locality: match &r.log_locality {
                Some(c) => Some(param(c)?.into_iter().map(f32::exp).collect()),
                None => None,
            },
            wk: dense(&r.wk)?,
            wv: dense(&r.wv)?,
            wo: dense(&r.wo)?,
            out_norm: norm(&r.out_norm)?,
            positions,
            layers,
            final_norm: norm(&t.final_norm)?,
            squeeze: dense(&t.se.squeeze)?,
            excite: dense(&t.se.excite)?,
            pool_hidden: dense(&t.pooling.hidden)?,
            pool_score: dense(&t.pooling.score)?,
            classifier: dense(&t.classifier)?,
            feature_hidden,
            feature_out,
        })
    }

    fn heads(&self) -> Heads {
        Heads {
            count: self.heads,
            dim: self.dim,
        }
    }

    /// Channels of each event [`Self::forward`] reads (the event projection's inputs less the
    /// time features).
    pub fn event_channels(&self) -> usize {
        self.event_proj.input - super::resampler::TIME_FEATURES
    }

    /// Whether the student has the window-feature path (and [`Self::forward`] needs features).
    pub fn uses_window_features(&self) -> bool {
        self.feature_hidden.is_some()
    }

    /// The fall logit and the temporal attention over the L tokens of one window.
    ///
    /// # Shapes
    /// - events: `N x C` normalised event values, event by event, C the student's
    ///   [`Self::event_channels`] (6, or 8 with magnitude channels); all valid, `N` may be 0
    /// - timestamps: `N` seconds, sorted
    /// - features: `F` scaled window features, for a student with the window-feature path
    /// - output: the logit and `L` attention weights
    pub fn forward(
        &self,
        events: &[f32],
        timestamps: &[f32],
        features: Option<&[f32]>,
    ) -> Result<(f32, Vec<f32>), Error> {
        self.forward_parts(events, timestamps, features)
            .map(|p| (p.logit, p.attention))
    }

    /// [`Self::forward`], also returning the trunk's pooled features.
    pub fn forward_parts(
        &self,
        events: &[f32],
        timestamps: &[f32],
        features: Option<&[f32]>,
    ) -> Result<ForwardParts, Error> {
        pulp::Arch::new().dispatch(Window {
            host: self,
            events,
            timestamps,
            features,
        })
    }

    #[inline(always)]
    fn forward_inline(
        &self,
        events: &[f32],
        timestamps: &[f32],
        features: Option<&[f32]>,
    ) -> Result<ForwardParts, Error> {
        let (n, d, l) = (timestamps.len(), self.dim, self.tokens);
        let c = self.event_channels();
        if events.len() != n * c {
            return Err(Error::Inference(format!(
                "{} event values for {n} timestamps of {c} channels each",
                events.len()
            )));
        }
        // The resampler: event embeddings, then the queries' cross-attention over them.
        let context = if n == 0 {
            vec![0.0; l * d]
        } else {
            let (feats, tau) = time_features(timestamps, self.time_mode);
            let input: Vec<f32> = events
                .chunks_exact(c)
                .zip(&feats)
                .flat_map(|(e, f)| e.iter().chain(f).copied())
                .collect();
            let mut e = self.event_proj.apply(&input, n);
            self.event_norm.apply(&mut e);
            e.iter_mut().for_each(|v| *v = silu(*v));
            let k = self.wk.apply(&e, n);
            let v = self.wv.apply(&e, n);
            attend(
                &self.queries_projected,
                &k,
                &v,
                (l, n),
                self.heads(),
                self.locality.as_deref().map(|coef| Locality {
                    anchors: &self.anchors,
                    tau: &tau,
                    coef,
                }),
            )
        };
        let mut x = self.wo.apply(&context, l);
        for (xv, q) in x.iter_mut().zip(&self.queries) {
            *xv += q;
        }
        self.out_norm.apply(&mut x);
        // The trunk.
        if let Some(p) = &self.positions {
            for (xv, pv) in x.iter_mut().zip(p) {
                *xv += pv;
            }
        }
        for layer in &self.layers {
            layer.apply(&mut x, l, self.heads());
        }
        self.final_norm.apply(&mut x);
        // Squeeze-excitation over the token mean.
        let mut summary = vec![0.0f32; d];
        for row in x.chunks_exact(d) {
            for (s, v) in summary.iter_mut().zip(row) {
                *s += v;
            }
        }
        summary.iter_mut().for_each(|s| *s /= l.max(1) as f32);
        let mut squeezed = self.squeeze.apply(&summary, 1);
        squeezed.iter_mut().for_each(|v| *v = max(*v, 0.0));
        let gates: Vec<f32> = self
            .excite
            .apply(&squeezed, 1)
            .into_iter()
            .map(sigmoid)
            .collect();
        for row in x.chunks_exact_mut(d) {
            for (v, g) in row.iter_mut().zip(&gates) {
                *v *= g;
            }
        }
        // Temporal attention pooling, then the classifier.
        let mut hidden = self.pool_hidden.apply(&x, l);
        hidden.iter_mut().for_each(|v| *v = v.tanh());
        let mut attention = self.pool_score.apply(&hidden, l);
        softmax(&mut attention);
        let mut pooled = vec![0.0f32; d];
        for (row, w) in x.chunks_exact(d).zip(&attention) {
            for (p, v) in pooled.iter_mut().zip(row) {
                *p += w * v;
            }
        }
        let mut logit = self.classifier.apply(&pooled, 1)[0];
        if let (Some(fh), Some(fo)) = (&self.feature_hidden, &self.feature_out) {
            let f = features.ok_or_else(|| {
                Error::Inference("a student with the window-feature path needs features".into())
            })?;
            if f.len() != fh.input {
                return Err(Error::Inference(format!(
                    "{} window features, the model takes {}",
                    f.len(),
                    fh.input
                )));
            }
            let mut h = fh.apply(f, 1);
            h.iter_mut().for_each(|v| *v = gelu(*v));
            logit += fo.apply(&h, 1)[0];
        }
        Ok(ForwardParts {
            logit,
            pooled,
            attention,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TimeMode, TimestampAwareStudentConfig};
    use burn::tensor::{Device, TensorData};

    /// A window of `n` events with bursty, duplicated and gapped timestamps.
    fn window(n: usize, seed: u32, channels: usize) -> (Vec<f32>, Vec<f32>) {
        let mut s = seed.wrapping_mul(2654435761).max(1);
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 2.0 - 1.0
        };
        let events = (0..n * channels)
            .map(|k| {
                if k % channels == 2 {
                    next() * 3.0
                } else {
                    next()
                }
            })
            .collect();
        let mut t = 0.0f32;
        let ts = (0..n)
            .map(|i| {
                t += match i % 7 {
                    0 => 0.0,
                    3 => 0.5,
                    _ => 0.03 + 0.01 * next().abs(),
                };
                t
            })
            .collect();
        (events, ts)
    }

    fn tensor_forward(
        m: &TimestampAwareStudent,
        events: &[f32],
        ts: &[f32],
        features: Option<&[f32]>,
        device: &Device,
    ) -> (f32, Vec<f32>) {
        let n = ts.len();
        let c = events.len() / n.max(1);
        let out = m.forward(
            Tensor::from_data(TensorData::new(events.to_vec(), [1, n, c]), device),
            Tensor::from_data(TensorData::new(ts.to_vec(), [1, n]), device),
            Tensor::ones([1, n], device),
            features.map(|f| Tensor::from_data(TensorData::new(f.to_vec(), [1, f.len()]), device)),
        );
        (
            values(out.logits).unwrap()[0],
            values(out.attention).unwrap(),
        )
    }

    #[test]
    fn equals_the_tensor_forward() {
        let device = Device::flex();
        for (mode, wf, locality, pos, n, magnitude) in [
            (TimeMode::Timestamps, true, true, true, 97, false),
            (TimeMode::Timestamps, false, false, false, 1, false),
            (TimeMode::Cleaned, false, true, true, 40, false),
            (TimeMode::Position, true, true, true, 160, false),
            (TimeMode::Timestamps, true, true, true, 120, true),
        ] {
            let cfg = TimestampAwareStudentConfig::new()
                .with_time_mode(mode)
                .with_magnitude_channels(magnitude)
                .with_window_features(wf)
                .with_locality_bias(locality)
                .with_use_pos_enc(pos)
                .with_embed_dim(24)
                .with_num_tokens(16)
                .with_num_heads(3);
            let m = crate::model::jitter(cfg.init(&device), 0.2);
            let host = HostStudent::new(&m).unwrap();
            assert_eq!(host.uses_window_features(), wf);
            assert_eq!(host.event_channels(), cfg.event_channels());
            let (events, ts) = window(n, n as u32, cfg.event_channels());
            let f: Vec<f32> = (0..crate::features::NUM_FEATURES)
                .map(|i| (i as f32 * 0.37).sin())
                .collect();
            let feats = wf.then_some(&f[..]);
            let (logit, att) = host.forward(&events, &ts, feats).unwrap();
            let (want, want_att) = tensor_forward(&m, &events, &ts, feats, &device);
            assert!(
                (logit - want).abs() < 1e-5,
                "{mode:?} wf {wf}: host {logit}, tensor {want}"
            );
            assert_eq!(att.len(), want_att.len());
            for (a, b) in att.iter().zip(&want_att) {
                assert!((a - b).abs() < 1e-5, "{mode:?}: attention {a} vs {b}");
            }
        }
    }

    #[test]
    fn exp_and_erf_match_libm() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.04;
            let (e, want) = (exp(x), x.exp());
            assert!(
                ((e - want) / want).abs() < 5e-7,
                "exp({x}) = {e}, libm {want}"
            );
            let (f, want) = (erf(x * 0.05), libm::erff(x * 0.05));
            assert!(
                (f - want).abs() < 4e-7,
                "erf({}) = {f}, libm {want}",
                x * 0.05
            );
        }
        assert!(exp(-200.0) < 1e-37 && exp(-200.0) >= 0.0);
    }

    #[test]
    fn a_window_without_events_is_defined() {
        let m = TimestampAwareStudentConfig::new()
            .with_embed_dim(16)
            .with_num_tokens(8)
            .init(&Device::flex());
        let host = HostStudent::new(&m).unwrap();
        let (logit, att) = host.forward(&[], &[], None).unwrap();
        assert!(logit.is_finite());
        assert_eq!(att.len(), 8);
    }

    #[test]
    fn missing_or_mismatched_inputs_are_errors() {
        let m = TimestampAwareStudentConfig::new()
            .with_embed_dim(16)
            .with_num_tokens(8)
            .with_window_features(true)
            .init(&Device::flex());
        let host = HostStudent::new(&m).unwrap();
        let (events, ts) = window(10, 3, 6);
        assert!(host.forward(&events, &ts, None).is_err());
        assert!(host.forward(&events, &ts[..9], Some(&[0.0; 3])).is_err());
        assert!(host.forward(&events, &ts, Some(&[0.0; 3])).is_err());
        let f = [0.0; crate::features::NUM_FEATURES];
        assert!(host.forward(&events, &ts, Some(&f)).is_ok());
        assert!(host.forward(&events[..59], &ts, Some(&f)).is_err());
    }
}
