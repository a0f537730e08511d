//! [`HostNet`]: a training step's forward and backward of the skeleton teacher or the
//! timestamp-aware student on the host CPU, in plain Rust over gemm.
//!
//! A CPU training step of the tensor forward is hundreds of small burn-flex kernels per layer, each
//! allocating and dispatching, on tensors of a few thousand elements: the per-operation cost, not the
//! arithmetic, set its speed (BENCHMARKS.md). Here the forward keeps what the backward needs (a tape
//! per window) and the backward is written out layer by layer, the matrix products as gemm calls
//! (the crate burn-flex multiplies with, single-threaded per call), the windows of a batch spread
//! over rayon's threads.
//!
//! Only the model is here. The trainer turns [`HostForward::outputs`] into leaf tensors, computes
//! every loss (task, KD) with burn as before, and hands the gradients of those outputs back to
//! [`HostNet::backward`], whose parameter gradients go to burn's optimiser: losses, optimiser,
//! gradient clipping, checkpoints and model files are unchanged.
//!
//! Dropout draws the same masks, in the same order, as the tensor forward
//! ([`mod@super::dropout`]), so from the same weights a step gives the same gradients on both
//! paths up to float rounding (tested with jittered weights, with dropout, on one- and two-layer
//! teachers with and without positional encoding and four student variants: to 2e-4 of each
//! parameter's largest gradient element, or of 1e-3 of the model's largest where the exact gradient
//! is zero). [`HostNet::teacher`] and [`HostNet::student`] refuse a model with a parameter they do
//! not copy out, which would otherwise stay frozen.
//!
//! Supported: the teacher (`SkeletonTransformer`) and the timestamp-aware student (every time
//! mode, with or without the locality term, positional encoding, window-feature path and magnitude
//! channels), pre-norm encoders with GELU. Trunk masks must be all ones (they are in training:
//! teacher windows have a fixed length, the student's trunk sees its L tokens); the student's event
//! masks may pad (valid events a prefix of each row, as the batcher builds them).

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::nn::{LayerNorm, Linear};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::dropout::{fill_mask, next_base};
use super::host_forward::{
    check_layer, erf, exp, gelu, matmul, sigmoid, silu, softmax, time_features, values,
};
use super::resampler::{TIME_FEATURES, TimeMode};
use super::student::TimestampAwareStudent;
use super::teacher::SkeletonTransformer;
use super::trunk::Trunk;
use crate::error::Error;

/// LayerNorm's epsilon (burn's default, which every norm of these models uses).
const EPS: f32 = 1e-5;

/// Where one parameter's values lie in the flat vector.
#[derive(Debug, Clone, Copy)]
struct Slot {
    off: usize,
    len: usize,
}

impl Slot {
    fn of<'a>(&self, v: &'a [f32]) -> &'a [f32] {
        &v[self.off..self.off + self.len]
    }
    fn of_mut<'a>(&self, v: &'a mut [f32]) -> &'a mut [f32] {
        &mut v[self.off..self.off + self.len]
    }
}

/// The gradient of one of the model's parameters.
#[derive(Debug, Clone)]
pub struct ParamGrad {
    /// The parameter's id in the burn module.
    pub id: ParamId,
    /// Its shape.
    pub shape: Vec<usize>,
    /// The gradient, row-major.
    pub grad: Vec<f32>,
}

/// The model's parameters copied out, flat, with their ids.
#[derive(Debug, Default)]
struct Params {
    values: Vec<f32>,
    entries: Vec<(ParamId, Vec<usize>, Slot)>,
}

impl Params {
    fn add<const D: usize>(&mut self, p: &Param<Tensor<D>>) -> Result<Slot, Error> {
        let v = values(p.val())?;
        let slot = Slot {
            off: self.values.len(),
            len: v.len(),
        };
        self.values.extend_from_slice(&v);
        self.entries.push((p.id, p.dims().to_vec(), slot));
        Ok(slot)
    }

    /// Refuses `module` unless its float parameters and the ones copied out are the same, each
    /// once: a parameter the host step does not read would get no gradient and stay at its initial
    /// value, while validation and export use it.
    fn ensure_covers<M: Module>(&self, module: &M, what: &str) -> Result<(), Error> {
        struct Walk(Vec<(ParamId, Vec<usize>)>);
        impl ModuleVisitor for Walk {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                self.0.push((p.id, p.dims().to_vec()));
            }
        }
        let mut walk = Walk(Vec::new());
        module.visit(&mut walk);
        let missing: Vec<String> = walk
            .0
            .iter()
            .filter(|(id, _)| !self.entries.iter().any(|e| e.0 == *id))
            .map(|(_, shape)| format!("{shape:?}"))
            .collect();
        if missing.is_empty() && walk.0.len() == self.entries.len() {
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "the host training step does not cover the {what}: {} of its {} parameters have no host \
             counterpart (shapes {}), and it copied {} in all; teach core/src/model/host_train.rs \
             the new layer, or train with `train.step: tensor`",
            missing.len(),
            walk.0.len(),
            missing.join(", "),
            self.entries.len()
        )))
    }

    /// The shape of the parameter added last.
    fn last_shape(&self) -> &[usize] {
        self.entries.last().map_or(&[], |e| &e.1)
    }

    /// A linear layer, weight then bias (the order burn's forward reads them in).
    fn dense(&mut self, l: &Linear) -> Result<Dense, Error> {
        let w = self.add(&l.weight)?;
        let (i, o) = (self.last_shape()[0], self.last_shape()[1]);
        Ok(Dense {
            w,
            b: l.bias.as_ref().map(|b| self.add(b)).transpose()?,
            i,
            o,
        })
    }

    /// A LayerNorm, scale then shift.
    fn norm(&mut self, n: &LayerNorm) -> Result<Norm, Error> {
        let g = self.add(&n.gamma)?;
        Ok(Norm {
            g,
            b: n.beta.as_ref().map(|b| self.add(b)).transpose()?,
            d: g.len,
        })
    }
}

/// A strided view of a matrix inside a slice: element `(r, c)` at `off + r * rs + c * cs`.
#[derive(Clone, Copy)]
struct View<'a> {
    s: &'a [f32],
    off: usize,
    rs: usize,
    cs: usize,
}

/// A row-major `(_, cols)` matrix.
fn rm(s: &[f32], cols: usize) -> View<'_> {
    View {
        s,
        off: 0,
        rs: cols,
        cs: 1,
    }
}

/// The transpose of a row-major `(rows, cols)` matrix: a `(cols, rows)` view.
fn tr(s: &[f32], cols: usize) -> View<'_> {
    View {
        s,
        off: 0,
        rs: 1,
        cs: cols,
    }
}

/// Columns `off..` of a row-major matrix `rs` wide (one attention head), optionally transposed.
fn head(s: &[f32], off: usize, rs: usize, transposed: bool) -> View<'_> {
    if transposed {
        View {
            s,
            off,
            rs: 1,
            cs: rs,
        }
    } else {
        View { s, off, rs, cs: 1 }
    }
}

/// `dst[off + r * drs + c] (m, n) [+]= scale * a (m, k) b (k, n)`, bounds checked.
#[allow(clippy::too_many_arguments)] // a gemm call
fn gemm(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    (doff, drs): (usize, usize),
    add: bool,
    a: View<'_>,
    b: View<'_>,
    scale: f32,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(doff + (m - 1) * drs + n <= dst.len(), "gemm: destination");
    if k == 0 {
        if !add {
            for r in 0..m {
                dst[doff + r * drs..doff + r * drs + n].fill(0.0);
            }
        }
        return;
    }
    assert!(
        a.off + (m - 1) * a.rs + (k - 1) * a.cs < a.s.len(),
        "gemm: lhs"
    );
    assert!(
        b.off + (k - 1) * b.rs + (n - 1) * b.cs < b.s.len(),
        "gemm: rhs"
    );
    // SAFETY: the assertions above bound every element the sizes and strides reach.
    unsafe {
        matmul(
            (m, n, k),
            (dst.as_mut_ptr().add(doff), drs as isize, add),
            (a.s.as_ptr().add(a.off), a.rs as isize, a.cs as isize),
            (b.s.as_ptr().add(b.off), b.rs as isize, b.cs as isize),
            scale,
        );
    }
}

/// A linear layer: `w` `(i, o)` (burn's layout) and the optional bias.
#[derive(Debug, Clone, Copy)]
struct Dense {
    w: Slot,
    b: Option<Slot>,
    i: usize,
    o: usize,
}

impl Dense {
    /// `x W + b` for `rows` rows of `x`.
    fn fwd(&self, p: &[f32], x: &[f32], rows: usize) -> Vec<f32> {
        let mut y = vec![0.0; rows * self.o];
        if let Some(b) = self.b {
            for r in y.chunks_exact_mut(self.o) {
                r.copy_from_slice(b.of(p));
            }
        }
        gemm(
            (rows, self.o, self.i),
            &mut y,
            (0, self.o),
            self.b.is_some(),
            rm(x, self.i),
            rm(self.w.of(p), self.o),
            1.0,
        );
        y
    }

    /// Adds `dL/dW = x^T dy` and `dL/db` to `g`.
    fn grads(&self, g: &mut [f32], x: &[f32], dy: &[f32], rows: usize) {
        gemm(
            (self.i, self.o, rows),
            g,
            (self.w.off, self.o),
            true,
            tr(x, self.i),
            rm(dy, self.o),
            1.0,
        );
        if let Some(b) = self.b {
            let gb = b.of_mut(g);
            for r in dy.chunks_exact(self.o) {
                for (a, v) in gb.iter_mut().zip(r) {
                    *a += v;
                }
            }
        }
    }

    /// As [`Self::grads`], and returns `dL/dx = dy W^T`.
    fn bwd(&self, p: &[f32], g: &mut [f32], x: &[f32], dy: &[f32], rows: usize) -> Vec<f32> {
        self.grads(g, x, dy, rows);
        let mut dx = vec![0.0; rows * self.i];
        gemm(
            (rows, self.i, self.o),
            &mut dx,
            (0, self.i),
            false,
            rm(dy, self.o),
            tr(self.w.of(p), self.o),
            1.0,
        );
        dx
    }
}

/// A LayerNorm's scale and optional shift over rows `d` wide.
#[derive(Debug, Clone, Copy)]
struct Norm {
    g: Slot,
    b: Option<Slot>,
    d: usize,
}

/// What a LayerNorm's backward needs: the normalised rows and each row's `1 / std`.
#[derive(Debug, Default)]
struct NormTape {
    xhat: Vec<f32>,
    inv: Vec<f32>,
}

impl Norm {
    fn fwd(&self, p: &[f32], x: &[f32]) -> (Vec<f32>, NormTape) {
        let d = self.d;
        let gamma = self.g.of(p);
        let mut y = vec![0.0; x.len()];
        let mut xhat = vec![0.0; x.len()];
        let mut inv = Vec::with_capacity(x.len() / d);
        for ((row, yr), hr) in x
            .chunks_exact(d)
            .zip(y.chunks_exact_mut(d))
            .zip(xhat.chunks_exact_mut(d))
        {
            let mean = row.iter().sum::<f32>() / d as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let s = 1.0 / (var + EPS).sqrt();
            inv.push(s);
            for j in 0..d {
                hr[j] = (row[j] - mean) * s;
                yr[j] = hr[j] * gamma[j];
            }
            if let Some(b) = self.b {
                for (v, b) in yr.iter_mut().zip(b.of(p)) {
                    *v += b;
                }
            }
        }
        (y, NormTape { xhat, inv })
    }

    fn bwd(&self, p: &[f32], g: &mut [f32], t: &NormTape, dy: &[f32]) -> Vec<f32> {
        let d = self.d;
        let gamma = self.g.of(p);
        let mut dx = vec![0.0; dy.len()];
        let mut dgamma = vec![0.0; d];
        let mut dxhat = vec![0.0; d];
        for (((dyr, hr), dxr), &s) in dy
            .chunks_exact(d)
            .zip(t.xhat.chunks_exact(d))
            .zip(dx.chunks_exact_mut(d))
            .zip(&t.inv)
        {
            let (mut m1, mut m2) = (0.0f32, 0.0f32);
            for j in 0..d {
                dgamma[j] += dyr[j] * hr[j];
                dxhat[j] = dyr[j] * gamma[j];
                m1 += dxhat[j];
                m2 += dxhat[j] * hr[j];
            }
            let (m1, m2) = (m1 / d as f32, m2 / d as f32);
            for j in 0..d {
                dxr[j] = s * (dxhat[j] - m1 - hr[j] * m2);
            }
        }
        for (a, v) in self.g.of_mut(g).iter_mut().zip(&dgamma) {
            *a += v;
        }
        if let Some(b) = self.b {
            let gb = b.of_mut(g);
            for r in dy.chunks_exact(d) {
                for (a, v) in gb.iter_mut().zip(r) {
                    *a += v;
                }
            }
        }
        dx
    }
}

/// `d silu(x) / dx`.
fn silu_grad(x: f32) -> f32 {
    let s = sigmoid(x);
    s * (1.0 + x * (1.0 - s))
}

/// `d gelu(x) / dx` of the exact GELU: `Phi(x) + x phi(x)`.
fn gelu_grad(x: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x)
}

fn mul_in_place(x: &mut [f32], m: Option<&[f32]>) {
    if let Some(m) = m {
        for (v, k) in x.iter_mut().zip(m) {
            *v *= k;
        }
    }
}

fn add_in_place(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Softmax backward of one row: `p (dp - sum(p dp))` into `dp`.
fn softmax_grad(p: &[f32], dp: &mut [f32]) {
    let dot: f32 = p.iter().zip(dp.iter()).map(|(a, b)| a * b).sum();
    for (d, &q) in dp.iter_mut().zip(p) {
        *d = q * (*d - dot);
    }
}

/// Geometry of one attention: `rows` queries over `n` keys, `heads` heads over width `dim`.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    rows: usize,
    n: usize,
    heads: usize,
    dim: usize,
}

impl Geometry {
    fn dk(&self) -> usize {
        self.dim / self.heads
    }
}

/// The resampler's locality term: scores minus `coef_h * dist2 (rows, n)`.
#[derive(Clone, Copy)]
struct Locality<'a> {
    dist2: &'a [f32],
    coef: &'a [f32],
}

/// Attention weights `P (H, rows, n)` (before dropout) and the context `(rows, D)` of
/// `softmax(q_h k_h^T / sqrt(dk) [- locality]) [* mask] v_h` per head.
fn attention_fwd(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    geo: Geometry,
    loc: Option<Locality<'_>>,
    mask: Option<&[f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let Geometry {
        rows,
        n,
        heads,
        dim,
    } = geo;
    let dk = geo.dk();
    let scale = 1.0 / (dk as f32).sqrt();
    let mut p = vec![0.0f32; heads * rows * n];
    let mut ctx = vec![0.0f32; rows * dim];
    if n == 0 {
        return (p, ctx);
    }
    let mut pd = vec![0.0f32; rows * n];
    for h in 0..heads {
        let ph = &mut p[h * rows * n..(h + 1) * rows * n];
        gemm(
            (rows, n, dk),
            ph,
            (0, n),
            false,
            head(q, h * dk, dim, false),
            head(k, h * dk, dim, true),
            scale,
        );
        for (j, row) in ph.chunks_exact_mut(n).enumerate() {
            if let Some(l) = loc {
                let c = l.coef[h];
                for (s, d2) in row.iter_mut().zip(&l.dist2[j * n..(j + 1) * n]) {
                    *s -= c * d2;
                }
            }
            softmax(row);
        }
        let weights = masked(ph, mask.map(|m| &m[h * rows * n..]), &mut pd);
        gemm(
            (rows, dk, n),
            &mut ctx,
            (h * dk, dim),
            false,
            rm(weights, n),
            head(v, h * dk, dim, false),
            1.0,
        );
    }
    (p, ctx)
}

/// Attention probabilities `p` times the dropout `mask` (kept / (1 - rate), or 0), written into
/// `buf`; `p` itself without a mask.
fn masked<'a>(p: &'a [f32], mask: Option<&[f32]>, buf: &'a mut [f32]) -> &'a [f32] {
    match mask {
        Some(m) => {
            for ((o, a), b) in buf.iter_mut().zip(p).zip(m) {
                *o = a * b;
            }
            buf
        }
        None => p,
    }
}

/// Gradients of [`attention_fwd`]: `(dq, dk, dv, d coef_h)`.
#[allow(clippy::too_many_arguments)] // the forward's inputs and the upstream gradient
fn attention_bwd(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    p: &[f32],
    geo: Geometry,
    loc: Option<Locality<'_>>,
    mask: Option<&[f32]>,
    dctx: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let Geometry {
        rows,
        n,
        heads,
        dim,
    } = geo;
    let dk = geo.dk();
    let scale = 1.0 / (dk as f32).sqrt();
    let mut dq = vec![0.0f32; rows * dim];
    let mut dkk = vec![0.0f32; n * dim];
    let mut dv = vec![0.0f32; n * dim];
    let mut dcoef = vec![0.0f32; heads];
    if n == 0 {
        return (dq, dkk, dv, dcoef);
    }
    let mut dp = vec![0.0f32; rows * n];
    let mut pd = vec![0.0f32; rows * n];
    for h in 0..heads {
        let ph = &p[h * rows * n..(h + 1) * rows * n];
        let mh = mask.map(|m| &m[h * rows * n..(h + 1) * rows * n]);
        let weights = masked(ph, mh, &mut pd);
        // dV_h (n, dk) = P'^T (n, rows) dctx_h (rows, dk).
        gemm(
            (n, dk, rows),
            &mut dv,
            (h * dk, dim),
            false,
            tr(weights, n),
            head(dctx, h * dk, dim, false),
            1.0,
        );
        // dP' (rows, n) = dctx_h (rows, dk) v_h^T (dk, n).
        gemm(
            (rows, n, dk),
            &mut dp,
            (0, n),
            false,
            head(dctx, h * dk, dim, false),
            head(v, h * dk, dim, true),
            1.0,
        );
        mul_in_place(&mut dp, mh);
        for (j, (pr, dr)) in ph.chunks_exact(n).zip(dp.chunks_exact_mut(n)).enumerate() {
            softmax_grad(pr, dr);
            if let Some(l) = loc {
                let d2 = &l.dist2[j * n..(j + 1) * n];
                dcoef[h] -= dr.iter().zip(d2).map(|(a, b)| a * b).sum::<f32>();
            }
        }
        // dq_h = scale dS k_h; dk_h = scale dS^T q_h.
        gemm(
            (rows, dk, n),
            &mut dq,
            (h * dk, dim),
            false,
            rm(&dp, n),
            head(k, h * dk, dim, false),
            scale,
        );
        gemm(
            (n, dk, rows),
            &mut dkk,
            (h * dk, dim),
            false,
            tr(&dp, n),
            head(q, h * dk, dim, false),
            scale,
        );
    }
    (dq, dkk, dv, dcoef)
}

/// A dropout mask per batch tensor, `(B, ...)` row-major, or none when the layer drops nothing.
type Mask = Option<Vec<f32>>;

/// The next mask of the dropout stream, as [`super::dropout::dropout`] draws it, filled on
/// rayon's threads.
fn draw(prob: f64, n: usize) -> Mask {
    const RANGE: usize = 1 << 14;
    (prob > 0.0).then(|| {
        let keep = 1.0 - prob;
        let base = next_base();
        let mut mask = vec![0.0; n];
        mask.par_chunks_mut(RANGE)
            .enumerate()
            .for_each(|(c, out)| fill_mask(base, keep, (1.0 / keep) as f32, c * RANGE, out));
        mask
    })
}

/// Sample `s`'s part of a batch mask, `per` elements per sample.
fn part(m: &Mask, s: usize, per: usize) -> Option<&[f32]> {
    m.as_deref().map(|m| &m[s * per..(s + 1) * per])
}

/// One pre-norm encoder layer (burn's `TransformerEncoderLayer` with `norm_first`: `norm_2`
/// before the attention, `norm_1` before the feed-forward).
#[derive(Debug, Clone, Copy)]
struct EncLayer {
    norm_att: Norm,
    q: Dense,
    k: Dense,
    v: Dense,
    o: Dense,
    norm_ffn: Norm,
    inner: Dense,
    outer: Dense,
    p_att: f64,
    p_res: f64,
    p_ff: f64,
}

impl EncLayer {
    /// The layer's training forward on one window's `x` (rows of `geo.dim`, updated in place),
    /// with the window's dropout masks; the tape its backward reads.
    fn fwd(
        &self,
        p: &[f32],
        x: &mut [f32],
        (lm, s): (&LayerMasks, usize),
        geo: Geometry,
        ffn: usize,
    ) -> LayerTape {
        let (t, d) = (geo.rows, geo.dim);
        let (xn, n_att) = self.norm_att.fwd(p, x);
        let q = self.q.fwd(p, &xn, t);
        let k = self.k.fwd(p, &xn, t);
        let v = self.v.fwd(p, &xn, t);
        let att_mask = part(&lm.att, s, geo.heads * t * t);
        let (pw, ctx) = attention_fwd(&q, &k, &v, geo, None, att_mask);
        let mut a = self.o.fwd(p, &ctx, t);
        mul_in_place(&mut a, part(&lm.res1, s, t * d));
        add_in_place(x, &a);
        let (xf, n_ffn) = self.norm_ffn.fwd(p, x);
        let h = self.inner.fwd(p, &xf, t);
        let mut gd: Vec<f32> = h.iter().map(|&v| gelu(v)).collect();
        mul_in_place(&mut gd, part(&lm.ff, s, t * ffn));
        let mut f = self.outer.fwd(p, &gd, t);
        mul_in_place(&mut f, part(&lm.res2, s, t * d));
        add_in_place(x, &f);
        LayerTape {
            n_att,
            xn,
            q,
            k,
            v,
            p: pw,
            ctx,
            n_ffn,
            xf,
            h,
            gd,
        }
    }

    /// The layer's backward: `dx`, the gradient of its output, becomes that of its input;
    /// parameter gradients are added to `g`.
    fn bwd(
        &self,
        (p, g): (&[f32], &mut [f32]),
        lt: &LayerTape,
        (lm, s): (&LayerMasks, usize),
        geo: Geometry,
        ffn: usize,
        dx: &mut [f32],
    ) {
        let (t, d) = (geo.rows, geo.dim);
        let mut df = dx.to_vec();
        mul_in_place(&mut df, part(&lm.res2, s, t * d));
        let mut dh = self.outer.bwd(p, g, &lt.gd, &df, t);
        mul_in_place(&mut dh, part(&lm.ff, s, t * ffn));
        for (v, &h) in dh.iter_mut().zip(&lt.h) {
            *v *= gelu_grad(h);
        }
        let dxf = self.inner.bwd(p, g, &lt.xf, &dh, t);
        add_in_place(dx, &self.norm_ffn.bwd(p, g, &lt.n_ffn, &dxf));
        let mut da = dx.to_vec();
        mul_in_place(&mut da, part(&lm.res1, s, t * d));
        let dctx = self.o.bwd(p, g, &lt.ctx, &da, t);
        let att_mask = part(&lm.att, s, geo.heads * t * t);
        let (dq, dk, dv, _) = attention_bwd(&lt.q, &lt.k, &lt.v, &lt.p, geo, None, att_mask, &dctx);
        let mut dxn = self.q.bwd(p, g, &lt.xn, &dq, t);
        add_in_place(&mut dxn, &self.k.bwd(p, g, &lt.xn, &dk, t));
        add_in_place(&mut dxn, &self.v.bwd(p, g, &lt.xn, &dv, t));
        add_in_place(dx, &self.norm_att.bwd(p, g, &lt.n_att, &dxn));
    }
}

#[derive(Debug)]
struct LayerMasks {
    att: Mask,
    res1: Mask,
    ff: Mask,
    res2: Mask,
}

#[derive(Debug)]
struct TrunkMasks {
    input: Mask,
    layers: Vec<LayerMasks>,
    classifier: Mask,
}

#[derive(Debug, Default)]
struct LayerTape {
    n_att: NormTape,
    xn: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    p: Vec<f32>,
    ctx: Vec<f32>,
    n_ffn: NormTape,
    xf: Vec<f32>,
    h: Vec<f32>,
    gd: Vec<f32>,
}

#[derive(Debug, Default)]
struct TrunkTape {
    layers: Vec<LayerTape>,
    fin: NormTape,
    y: Vec<f32>,
    s: Vec<f32>,
    zpre: Vec<f32>,
    z: Vec<f32>,
    gate: Vec<f32>,
    tokens: Vec<f32>,
    hid: Vec<f32>,
    w: Vec<f32>,
    featd: Vec<f32>,
}

/// One window's outputs (see [`HostOutputs`]).
#[derive(Debug, Default)]
struct SampleOut {
    logit: f32,
    features: Vec<f32>,
    tokens: Vec<f32>,
    pooled: Vec<f32>,
    attention: Vec<f32>,
    scores: Vec<f32>,
}

/// `(start, end)` of adaptive average pooling's bin `i` of `g` over `t` steps (burn's rule).
fn pool_bin(i: usize, t: usize, g: usize) -> (usize, usize) {
    (i * t / g, ((i + 1) * t).div_ceil(g))
}

/// The trunk: positional encoding, encoder, final norm, squeeze-excitation, attention pooling,
/// classifier.
#[derive(Debug)]
struct HostTrunk {
    pos: Option<Slot>,
    max_len: usize,
    layers: Vec<EncLayer>,
    final_norm: Norm,
    squeeze: Dense,
    excite: Dense,
    pool_hidden: Dense,
    pool_score: Dense,
    classifier: Dense,
    heads: usize,
    dim: usize,
    ffn: usize,
    gram: usize,
    p_drop: f64,
}

impl HostTrunk {
    /// The batch's outputs in the layout the trainer reads, and the windows' tapes, from the
    /// per-window results (in window order).
    fn collect(
        &self,
        results: Vec<Result<(Tape, SampleOut), Error>>,
        b: usize,
        t: usize,
    ) -> Result<(HostOutputs, Vec<Tape>), Error> {
        let (d, g) = (self.dim, self.gram);
        let mut outputs = HostOutputs {
            batch: b,
            steps: t,
            dim: d,
            gram: g,
            ..HostOutputs::default()
        };
        let mut tapes = Vec::with_capacity(b);
        for r in results {
            let (tape, o) = r?;
            outputs.logits.push(o.logit);
            outputs.features.extend_from_slice(&o.features);
            outputs.tokens.extend_from_slice(&o.tokens);
            outputs.pooled_tokens.extend_from_slice(&o.pooled);
            outputs.attention.extend_from_slice(&o.attention);
            outputs.attention_scores.extend_from_slice(&o.scores);
            tapes.push(tape);
        }
        Ok((outputs, tapes))
    }

    fn new(t: &Trunk, ps: &mut Params) -> Result<HostTrunk, Error> {
        let pos = t.pos_enc.as_ref().map(|p| ps.add(&p.table)).transpose()?;
        let max_len = match pos {
            Some(_) => ps.last_shape()[0],
            None => usize::MAX,
        };
        let mut layers = Vec::new();
        let mut heads = 1;
        for layer in &t.encoder.layers {
            let mha = &layer.mha;
            check_layer(layer, "the host training step")?;
            heads = mha.n_heads;
            layers.push(EncLayer {
                norm_att: ps.norm(&layer.norm_2)?,
                q: ps.dense(&mha.query)?,
                k: ps.dense(&mha.key)?,
                v: ps.dense(&mha.value)?,
                o: ps.dense(&mha.output)?,
                norm_ffn: ps.norm(&layer.norm_1)?,
                inner: ps.dense(&layer.pwff.linear_inner)?,
                outer: ps.dense(&layer.pwff.linear_outer)?,
                p_att: mha.dropout.prob,
                p_res: layer.dropout.prob,
                p_ff: layer.pwff.dropout.prob,
            });
        }
        let final_norm = ps.norm(&t.final_norm)?;
        Ok(HostTrunk {
            pos,
            max_len,
            ffn: layers.first().map_or(0, |l| l.inner.o),
            layers,
            dim: final_norm.d,
            final_norm,
            squeeze: ps.dense(&t.se.squeeze)?,
            excite: ps.dense(&t.se.excite)?,
            pool_hidden: ps.dense(&t.pooling.hidden)?,
            pool_score: ps.dense(&t.pooling.score)?,
            classifier: ps.dense(&t.classifier)?,
            heads,
            gram: t.gram_tokens,
            p_drop: t.dropout.prob,
        })
    }

    /// The batch's masks in the tensor forward's order.
    fn masks(&self, b: usize, t: usize) -> TrunkMasks {
        let d = self.dim;
        let input = draw(self.p_drop, b * t * d);
        let layers = self
            .layers
            .iter()
            .map(|l| LayerMasks {
                att: draw(l.p_att, b * self.heads * t * t),
                res1: draw(l.p_res, b * t * d),
                ff: draw(l.p_ff, b * t * self.ffn),
                res2: draw(l.p_res, b * t * d),
            })
            .collect();
        let classifier = draw(self.p_drop, b * d);
        TrunkMasks {
            input,
            layers,
            classifier,
        }
    }

    fn fwd(
        &self,
        p: &[f32],
        mut x: Vec<f32>,
        t: usize,
        m: &TrunkMasks,
        s: usize,
    ) -> (TrunkTape, SampleOut) {
        let d = self.dim;
        let geo = Geometry {
            rows: t,
            n: t,
            heads: self.heads,
            dim: d,
        };
        if let Some(pos) = self.pos {
            add_in_place(&mut x, &pos.of(p)[..t * d]);
        }
        mul_in_place(&mut x, part(&m.input, s, t * d));
        let mut tape = TrunkTape::default();
        for (layer, lm) in self.layers.iter().zip(&m.layers) {
            tape.layers
                .push(layer.fwd(p, &mut x, (lm, s), geo, self.ffn));
        }
        let (y, fin) = self.final_norm.fwd(p, &x);
        let mut mean = vec![0.0f32; d];
        for row in y.chunks_exact(d) {
            add_in_place(&mut mean, row);
        }
        mean.iter_mut().for_each(|v| *v /= t.max(1) as f32);
        let zpre = self.squeeze.fwd(p, &mean, 1);
        let z: Vec<f32> = zpre.iter().map(|&v| v.max(0.0)).collect();
        let gate: Vec<f32> = self
            .excite
            .fwd(p, &z, 1)
            .iter()
            .map(|&v| sigmoid(v))
            .collect();
        let mut tokens = y.clone();
        for row in tokens.chunks_exact_mut(d) {
            for (v, g) in row.iter_mut().zip(&gate) {
                *v *= g;
            }
        }
        let hid: Vec<f32> = self
            .pool_hidden
            .fwd(p, &tokens, t)
            .iter()
            .map(|v| v.tanh())
            .collect();
        let scores = self.pool_score.fwd(p, &hid, t);
        let mut w = scores.clone();
        if t > 0 {
            softmax(&mut w);
        }
        let mut features = vec![0.0f32; d];
        for (row, &a) in tokens.chunks_exact(d).zip(&w) {
            for (f, v) in features.iter_mut().zip(row) {
                *f += a * v;
            }
        }
        let mut featd = features.clone();
        mul_in_place(&mut featd, part(&m.classifier, s, d));
        let logit = self.classifier.fwd(p, &featd, 1)[0];
        let g = self.gram;
        let mut pooled = vec![0.0f32; g * d];
        for (i, out) in pooled.chunks_exact_mut(d).enumerate() {
            let (a, b) = pool_bin(i, t, g);
            for row in tokens[a * d..b * d].chunks_exact(d) {
                add_in_place(out, row);
            }
            let inv = 1.0 / (b - a).max(1) as f32;
            out.iter_mut().for_each(|v| *v *= inv);
        }
        tape.fin = fin;
        tape.y = y;
        tape.s = mean;
        tape.zpre = zpre;
        tape.z = z;
        tape.gate = gate;
        tape.hid = hid;
        tape.w = w.clone();
        tape.featd = featd;
        tape.tokens = tokens.clone();
        (
            tape,
            SampleOut {
                logit,
                features,
                tokens,
                pooled,
                attention: w,
                scores,
            },
        )
    }

    /// The gradient of the trunk's input from the gradients of one window's outputs; parameter
    /// gradients are added to `g`.
    #[allow(clippy::too_many_arguments)] // a layer's backward
    fn bwd(
        &self,
        p: &[f32],
        g: &mut [f32],
        tape: &TrunkTape,
        t: usize,
        m: &TrunkMasks,
        s: usize,
        up: &SampleGrads<'_>,
    ) -> Vec<f32> {
        let d = self.dim;
        let geo = Geometry {
            rows: t,
            n: t,
            heads: self.heads,
            dim: d,
        };
        let mut dfeat = self.classifier.bwd(p, g, &tape.featd, &[up.logit], 1);
        mul_in_place(&mut dfeat, part(&m.classifier, s, d));
        if let Some(f) = up.features {
            add_in_place(&mut dfeat, f);
        }
        let mut dtok = match up.tokens {
            Some(x) => x.to_vec(),
            None => vec![0.0; t * d],
        };
        if let Some(dp) = up.pooled {
            let gn = self.gram;
            for (i, row) in dp.chunks_exact(d).enumerate() {
                let (a, b) = pool_bin(i, t, gn);
                let inv = 1.0 / (b - a).max(1) as f32;
                for r in a..b {
                    for (o, v) in dtok[r * d..(r + 1) * d].iter_mut().zip(row) {
                        *o += v * inv;
                    }
                }
            }
        }
        let mut dw = vec![0.0f32; t];
        for (r, (row, drow)) in tape
            .tokens
            .chunks_exact(d)
            .zip(dtok.chunks_exact_mut(d))
            .enumerate()
        {
            let a = tape.w[r];
            let mut dot = 0.0;
            for ((o, v), f) in drow.iter_mut().zip(row).zip(&dfeat) {
                *o += a * f;
                dot += v * f;
            }
            dw[r] = dot + up.attention.map_or(0.0, |x| x[r]);
        }
        softmax_grad(&tape.w, &mut dw);
        if let Some(x) = up.scores {
            add_in_place(&mut dw, x);
        }
        let mut dhid = self.pool_score.bwd(p, g, &tape.hid, &dw, t);
        for (v, h) in dhid.iter_mut().zip(&tape.hid) {
            *v *= 1.0 - h * h;
        }
        add_in_place(
            &mut dtok,
            &self.pool_hidden.bwd(p, g, &tape.tokens, &dhid, t),
        );
        let mut dy = dtok.clone();
        let mut dgate = vec![0.0f32; d];
        for ((dyr, dr), yr) in dy
            .chunks_exact_mut(d)
            .zip(dtok.chunks_exact(d))
            .zip(tape.y.chunks_exact(d))
        {
            for j in 0..d {
                dyr[j] = dr[j] * tape.gate[j];
                dgate[j] += dr[j] * yr[j];
            }
        }
        for (v, &a) in dgate.iter_mut().zip(&tape.gate) {
            *v *= a * (1.0 - a);
        }
        let mut dz = self.excite.bwd(p, g, &tape.z, &dgate, 1);
        for (v, &z) in dz.iter_mut().zip(&tape.zpre) {
            if z <= 0.0 {
                *v = 0.0;
            }
        }
        let ds = self.squeeze.bwd(p, g, &tape.s, &dz, 1);
        let inv_t = 1.0 / t.max(1) as f32;
        for row in dy.chunks_exact_mut(d) {
            for (v, a) in row.iter_mut().zip(&ds) {
                *v += a * inv_t;
            }
        }
        let mut dx = self.final_norm.bwd(p, g, &tape.fin, &dy);
        for ((layer, lt), lm) in self.layers.iter().zip(&tape.layers).zip(&m.layers).rev() {
            layer.bwd((p, g), lt, (lm, s), geo, self.ffn, &mut dx);
        }
        mul_in_place(&mut dx, part(&m.input, s, t * d));
        if let Some(pos) = self.pos {
            add_in_place(&mut pos.of_mut(g)[..t * d], &dx);
        }
        dx
    }
}

/// The teacher's joint embedding: `SiLU(LayerNorm(Linear(x)))`.
#[derive(Debug)]
struct TeacherFront {
    proj: Dense,
    norm: Norm,
}

/// The student's resampler and window-feature path.
#[derive(Debug)]
struct StudentFront {
    event_proj: Dense,
    event_norm: Norm,
    query_in: Dense,
    query_out: Dense,
    query_bias: Slot,
    anchors: Vec<f32>,
    wq: Dense,
    wk: Dense,
    wv: Dense,
    wo: Dense,
    out_norm: Norm,
    log_locality: Option<Slot>,
    heads: usize,
    dim: usize,
    tokens: usize,
    time_mode: TimeMode,
    feature_head: Option<(Dense, Dense, f64)>,
}

/// The student's queries, shared by every window of a batch.
#[derive(Debug)]
struct Queries {
    u: Vec<f32>,
    s1: Vec<f32>,
    q: Vec<f32>,
    qp: Vec<f32>,
    coef: Vec<f32>,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per network
enum Front {
    Teacher(TeacherFront),
    Student(StudentFront),
}

/// What the front of one window keeps for the backward.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per window, the variant the network's
enum FrontTape {
    Teacher {
        x: Vec<f32>,
        norm: NormTape,
        en: Vec<f32>,
    },
    Student {
        n: usize,
        evin: Vec<f32>,
        norm: NormTape,
        en: Vec<f32>,
        e: Vec<f32>,
        k: Vec<f32>,
        v: Vec<f32>,
        p: Vec<f32>,
        dist2: Vec<f32>,
        ctx: Vec<f32>,
        out: NormTape,
        /// The window-feature path: its input, pre-activation and masked activation.
        feature: Option<(Vec<f32>, Vec<f32>, Vec<f32>)>,
    },
}

/// One window's tape.
#[derive(Debug)]
struct Tape {
    front: FrontTape,
    trunk: TrunkTape,
}

/// A batch's input, row-major, as the batcher builds it.
#[derive(Debug, Clone, Copy)]
pub enum HostInputs<'a> {
    /// The teacher's skeleton frames `(B, T, C)`.
    Teacher {
        /// Frames.
        frames: &'a [f32],
        /// `[B, T, C]`.
        dims: [usize; 3],
    },
    /// The student's events.
    Student {
        /// `(B, N, C)` normalised events.
        events: &'a [f32],
        /// `(B, N)` seconds.
        timestamps: &'a [f32],
        /// `(B, N)` 1 valid, 0 padded; the valid events a prefix of each row.
        mask: &'a [f32],
        /// `(B, F)` scaled window features, for a student with the window-feature path.
        features: Option<&'a [f32]>,
        /// `[B, N, C]`.
        dims: [usize; 3],
    },
}

/// A batch's outputs, row-major, as [`super::ModelOutput`] holds them.
#[derive(Debug, Clone, Default)]
pub struct HostOutputs {
    /// Windows B.
    pub batch: usize,
    /// Steps T of the trunk (the teacher's frames, the student's tokens L).
    pub steps: usize,
    /// Width D.
    pub dim: usize,
    /// Pooled tokens G.
    pub gram: usize,
    /// `(B)`.
    pub logits: Vec<f32>,
    /// `(B, D)`.
    pub features: Vec<f32>,
    /// `(B, T, D)`.
    pub tokens: Vec<f32>,
    /// `(B, G, D)`.
    pub pooled_tokens: Vec<f32>,
    /// `(B, T)`.
    pub attention: Vec<f32>,
    /// `(B, T)`.
    pub attention_scores: Vec<f32>,
}

/// The forward of one batch: its outputs and what the backward needs.
#[derive(Debug)]
pub struct HostForward {
    /// The outputs.
    pub outputs: HostOutputs,
    tapes: Vec<Tape>,
    trunk_masks: TrunkMasks,
    feature_mask: Mask,
    queries: Option<Queries>,
}

/// The loss's gradients with respect to a batch's outputs (row-major, shapes as in
/// [`HostOutputs`]); `None` for an output the loss does not read.
#[derive(Debug, Clone, Copy)]
pub struct OutputGrads<'a> {
    /// `(B)`.
    pub logits: &'a [f32],
    /// `(B, D)`.
    pub features: Option<&'a [f32]>,
    /// `(B, T, D)`.
    pub tokens: Option<&'a [f32]>,
    /// `(B, G, D)`.
    pub pooled_tokens: Option<&'a [f32]>,
    /// `(B, T)`.
    pub attention: Option<&'a [f32]>,
    /// `(B, T)`.
    pub attention_scores: Option<&'a [f32]>,
}

/// One window's share of [`OutputGrads`].
struct SampleGrads<'a> {
    logit: f32,
    features: Option<&'a [f32]>,
    tokens: Option<&'a [f32]>,
    pooled: Option<&'a [f32]>,
    attention: Option<&'a [f32]>,
    scores: Option<&'a [f32]>,
}

/// Gradient buffers: the backward sums each of this many chunks of the batch in its own buffer,
/// then the buffers in order, so the result does not depend on the number of threads (and the
/// backward uses at most this many threads; the forward spreads every window).
const CHUNKS: usize = 4;

/// See the module documentation.
#[derive(Debug)]
pub struct HostNet {
    params: Params,
    front: Front,
    trunk: HostTrunk,
}

impl HostNet {
    /// The teacher's parameters, copied out.
    ///
    /// # Errors
    /// When the model has a parameter the host step does not read (it would stay frozen), or a
    /// layer it does not support.
    pub fn teacher(m: &SkeletonTransformer) -> Result<HostNet, Error> {
        let mut ps = Params::default();
        let front = Front::Teacher(TeacherFront {
            proj: ps.dense(&m.embedding.linear)?,
            norm: ps.norm(&m.embedding.norm)?,
        });
        let trunk = HostTrunk::new(&m.trunk, &mut ps)?;
        ps.ensure_covers(m, "teacher")?;
        Ok(HostNet {
            params: ps,
            front,
            trunk,
        })
    }

    /// The timestamp-aware student's parameters, copied out.
    ///
    /// # Errors
    /// As [`HostNet::teacher`].
    pub fn student(m: &TimestampAwareStudent) -> Result<HostNet, Error> {
        let mut ps = Params::default();
        let r = &m.resampler;
        let query_bias = ps.add(&r.query_bias)?;
        let (l, d) = (ps.last_shape()[0], ps.last_shape()[1]);
        let query_in = ps.dense(&r.query_mlp_in)?;
        let query_out = ps.dense(&r.query_mlp_out)?;
        let event_proj = ps.dense(&r.event_proj)?;
        let event_norm = ps.norm(&r.event_norm)?;
        let (wq, wk, wv) = (ps.dense(&r.wq)?, ps.dense(&r.wk)?, ps.dense(&r.wv)?);
        let log_locality = r.log_locality.as_ref().map(|p| ps.add(p)).transpose()?;
        let (wo, out_norm) = (ps.dense(&r.wo)?, ps.norm(&r.out_norm)?);
        let trunk = HostTrunk::new(&m.trunk, &mut ps)?;
        let feature_head = m
            .feature_head
            .as_ref()
            .map(|h| -> Result<_, Error> {
                Ok((ps.dense(&h.hidden)?, ps.dense(&h.out)?, h.dropout.prob))
            })
            .transpose()?;
        let front = StudentFront {
            event_proj,
            event_norm,
            query_in,
            query_out,
            query_bias,
            anchors: values(r.query_anchor.clone())?,
            wq,
            wk,
            wv,
            wo,
            out_norm,
            log_locality,
            heads: r.num_heads,
            dim: d,
            tokens: l,
            time_mode: r.time_mode,
            feature_head,
        };
        ps.ensure_covers(m, "timestamp-aware student")?;
        Ok(HostNet {
            params: ps,
            front: Front::Student(front),
            trunk,
        })
    }

    /// Refuses `module` unless this net copied out every one of its parameters (see
    /// [`HostNet::teacher`]; a model that wraps the one copied, with a layer of its own, is refused).
    ///
    /// # Errors
    /// [`Error::Invalid`], naming the shapes of the parameters the host step would leave frozen.
    pub fn ensure_covers<M: Module>(&self, module: &M, what: &str) -> Result<(), Error> {
        self.params.ensure_covers(module, what)
    }

    /// Parameters (elements).
    pub fn num_params(&self) -> usize {
        self.params.values.len()
    }

    /// The batch size and the steps the trunk sees, once the inputs are checked against the
    /// model (shapes, the window features a student with that path needs).
    fn batch_shape(&self, inputs: HostInputs<'_>) -> Result<(usize, usize), Error> {
        let (b, t) = match (&self.front, inputs) {
            (Front::Teacher(f), HostInputs::Teacher { dims, frames }) => {
                if dims[2] != f.proj.i || frames.len() != dims.iter().product::<usize>() {
                    return Err(Error::Shape(format!(
                        "the teacher reads {} features per frame, the batch has {:?}",
                        f.proj.i, dims
                    )));
                }
                (dims[0], dims[1])
            }
            (
                Front::Student(f),
                HostInputs::Student {
                    dims,
                    features,
                    events,
                    timestamps,
                    mask,
                },
            ) => {
                let [b, n, c] = dims;
                if events.len() != b * n * c || timestamps.len() != b * n || mask.len() != b * n {
                    return Err(Error::Shape(format!(
                        "a student batch of shape {dims:?} with {} event values, {} timestamps \
                         and {} mask values",
                        events.len(),
                        timestamps.len(),
                        mask.len()
                    )));
                }
                match (&f.feature_head, features) {
                    (Some(_), None) => {
                        return Err(Error::Inference(
                            "a student with the window-feature path needs the window features"
                                .into(),
                        ));
                    }
                    (Some((hidden, ..)), Some(fs)) if fs.len() != b * hidden.i => {
                        return Err(Error::Shape(format!(
                            "{} window-feature values for {b} windows of {} features",
                            fs.len(),
                            hidden.i
                        )));
                    }
                    _ => {}
                }
                (dims[0], f.tokens)
            }
            _ => {
                return Err(Error::Inference(
                    "the host training step was given another model's batch".into(),
                ));
            }
        };
        if t > self.trunk.max_len {
            return Err(Error::Shape(format!(
                "{t} steps exceed the positional table ({})",
                self.trunk.max_len
            )));
        }
        Ok((b, t))
    }

    /// The forward of a training step (dropout on, masks drawn from this thread's dropout stream
    /// as the tensor forward draws them).
    ///
    /// # Errors
    /// When the inputs do not fit the model (another model's batch, a window longer than the
    /// positional table, a student with the window-feature path given no features).
    pub fn forward(&self, inputs: HostInputs<'_>) -> Result<HostForward, Error> {
        let p = &self.params.values;
        let (b, t) = self.batch_shape(inputs)?;
        let trunk_masks = self.trunk.masks(b, t);
        let feature_mask = match &self.front {
            Front::Student(StudentFront {
                feature_head: Some((hidden, _, prob)),
                ..
            }) => draw(*prob, b * hidden.o),
            _ => None,
        };
        let queries = match &self.front {
            Front::Student(f) => Some(f.queries(p)),
            Front::Teacher(_) => None,
        };
        let results: Vec<Result<(Tape, SampleOut), Error>> = (0..b)
            .into_par_iter()
            .map(|s| {
                let (front, x0) = match (&self.front, inputs) {
                    (Front::Teacher(f), HostInputs::Teacher { frames, dims }) => {
                        let per = dims[1] * dims[2];
                        f.fwd(p, &frames[s * per..(s + 1) * per], dims[1])
                    }
                    (
                        Front::Student(f),
                        HostInputs::Student {
                            events,
                            timestamps,
                            mask,
                            dims: [_, n, c],
                            ..
                        },
                    ) => f.fwd(
                        p,
                        queries.as_ref().expect("student queries"),
                        &events[s * n * c..(s + 1) * n * c],
                        &timestamps[s * n..(s + 1) * n],
                        &mask[s * n..(s + 1) * n],
                        c,
                    )?,
                    _ => unreachable!("checked above"),
                };
                let (trunk, mut out) = self.trunk.fwd(p, x0, t, &trunk_masks, s);
                let front = match (front, &self.front, inputs) {
                    (
                        FrontTape::Student {
                            n,
                            evin,
                            norm,
                            en,
                            e,
                            k,
                            v,
                            p: pw,
                            dist2,
                            ctx,
                            out: on,
                            ..
                        },
                        Front::Student(StudentFront {
                            feature_head: Some((hidden, outl, _)),
                            ..
                        }),
                        HostInputs::Student {
                            features: Some(fs), ..
                        },
                    ) => {
                        let nf = hidden.i;
                        let fin = fs[s * nf..(s + 1) * nf].to_vec();
                        let pre = hidden.fwd(p, &fin, 1);
                        let mut act: Vec<f32> = pre.iter().map(|&v| gelu(v)).collect();
                        mul_in_place(&mut act, part(&feature_mask, s, hidden.o));
                        out.logit += outl.fwd(p, &act, 1)[0];
                        FrontTape::Student {
                            n,
                            evin,
                            norm,
                            en,
                            e,
                            k,
                            v,
                            p: pw,
                            dist2,
                            ctx,
                            out: on,
                            feature: Some((fin, pre, act)),
                        }
                    }
                    (front, ..) => front,
                };
                Ok((Tape { front, trunk }, out))
            })
            .collect();
        let (outputs, tapes) = self.trunk.collect(results, b, t)?;
        Ok(HostForward {
            outputs,
            tapes,
            trunk_masks,
            feature_mask,
            queries,
        })
    }

    /// The gradient of every parameter from the loss's gradients with respect to the outputs of
    /// `fwd` (the forward of this network).
    pub fn backward(&self, fwd: &HostForward, up: &OutputGrads<'_>) -> Vec<ParamGrad> {
        let p = &self.params.values;
        let o = &fwd.outputs;
        let (b, t, d, gn) = (o.batch, o.steps, o.dim, o.gram);
        let total = p.len();
        // Beyond the parameters, a student's chunk buffer holds the gradients of the shared
        // queries (q, their projection) and of the locality coefficients.
        let extra = match &self.front {
            Front::Student(f) => 2 * f.tokens * f.dim + f.heads,
            Front::Teacher(_) => 0,
        };
        let per_chunk = b.div_ceil(CHUNKS).max(1);
        let buffers: Vec<Vec<f32>> = (0..b.div_ceil(per_chunk))
            .into_par_iter()
            .map(|c| {
                let mut g = vec![0.0f32; total + extra];
                for s in c * per_chunk..((c + 1) * per_chunk).min(b) {
                    let sg = SampleGrads {
                        logit: up.logits[s],
                        features: up.features.map(|x| &x[s * d..(s + 1) * d]),
                        tokens: up.tokens.map(|x| &x[s * t * d..(s + 1) * t * d]),
                        pooled: up.pooled_tokens.map(|x| &x[s * gn * d..(s + 1) * gn * d]),
                        attention: up.attention.map(|x| &x[s * t..(s + 1) * t]),
                        scores: up.attention_scores.map(|x| &x[s * t..(s + 1) * t]),
                    };
                    let tape = &fwd.tapes[s];
                    if let (
                        Front::Student(StudentFront {
                            feature_head: Some((hidden, outl, _)),
                            ..
                        }),
                        FrontTape::Student {
                            feature: Some((fin, pre, act)),
                            ..
                        },
                    ) = (&self.front, &tape.front)
                    {
                        let mut dh = outl.bwd(p, &mut g, act, &[sg.logit], 1);
                        mul_in_place(&mut dh, part(&fwd.feature_mask, s, hidden.o));
                        for (v, &x) in dh.iter_mut().zip(pre) {
                            *v *= gelu_grad(x);
                        }
                        hidden.grads(&mut g, fin, &dh, 1);
                    }
                    let dx0 = self
                        .trunk
                        .bwd(p, &mut g, &tape.trunk, t, &fwd.trunk_masks, s, &sg);
                    match (&self.front, &tape.front) {
                        (Front::Teacher(f), front) => f.bwd(p, &mut g, front, &dx0, t),
                        (Front::Student(f), front) => {
                            let (params, shared) = g.split_at_mut(total);
                            f.bwd(
                                p,
                                params,
                                shared,
                                fwd.queries.as_ref().expect("student queries"),
                                front,
                                &dx0,
                            )
                        }
                    }
                }
                g
            })
            .collect();
        let mut g = vec![0.0f32; total + extra];
        for buf in &buffers {
            add_in_place(&mut g, buf);
        }
        if let Front::Student(f) = &self.front {
            let (params, shared) = g.split_at_mut(total);
            f.bwd_queries(
                p,
                params,
                shared,
                fwd.queries.as_ref().expect("student queries"),
            );
        }
        self.params
            .entries
            .iter()
            .map(|(id, shape, slot)| ParamGrad {
                id: *id,
                shape: shape.clone(),
                grad: slot.of(&g).to_vec(),
            })
            .collect()
    }
}

impl TeacherFront {
    fn fwd(&self, p: &[f32], x: &[f32], t: usize) -> (FrontTape, Vec<f32>) {
        let e1 = self.proj.fwd(p, x, t);
        let (en, norm) = self.norm.fwd(p, &e1);
        let e = en.iter().map(|&v| silu(v)).collect();
        (
            FrontTape::Teacher {
                x: x.to_vec(),
                norm,
                en,
            },
            e,
        )
    }

    fn bwd(&self, p: &[f32], g: &mut [f32], tape: &FrontTape, dx0: &[f32], t: usize) {
        let FrontTape::Teacher { x, norm, en } = tape else {
            unreachable!("a teacher's tape")
        };
        let den: Vec<f32> = dx0
            .iter()
            .zip(en)
            .map(|(dy, &x)| dy * silu_grad(x))
            .collect();
        let de1 = self.norm.bwd(p, g, norm, &den);
        self.proj.grads(g, x, &de1, t);
    }
}

impl StudentFront {
    fn queries(&self, p: &[f32]) -> Queries {
        let l = self.tokens;
        let u = self.query_in.fwd(p, &self.anchors, l);
        let s1: Vec<f32> = u.iter().map(|&v| silu(v)).collect();
        let mut q = self.query_out.fwd(p, &s1, l);
        add_in_place(&mut q, self.query_bias.of(p));
        let qp = self.wq.fwd(p, &q, l);
        let coef = match self.log_locality {
            Some(c) => c.of(p).iter().map(|v| v.exp()).collect(),
            None => vec![0.0; self.heads],
        };
        Queries { u, s1, q, qp, coef }
    }

    fn geometry(&self, n: usize) -> Geometry {
        Geometry {
            rows: self.tokens,
            n,
            heads: self.heads,
            dim: self.dim,
        }
    }

    #[allow(clippy::too_many_arguments)] // one window's inputs
    fn fwd(
        &self,
        p: &[f32],
        qs: &Queries,
        events: &[f32],
        timestamps: &[f32],
        mask: &[f32],
        c: usize,
    ) -> Result<(FrontTape, Vec<f32>), Error> {
        let n = mask.iter().take_while(|&&m| m >= 0.5).count();
        if mask[n..].iter().any(|&m| m >= 0.5) {
            return Err(Error::Inference(
                "the host training step needs the valid events as a prefix of each row".into(),
            ));
        }
        let ci = c + TIME_FEATURES;
        if self.event_proj.i != ci {
            return Err(Error::Shape(format!(
                "the student reads {} channels per event, the batch has {c}",
                self.event_proj.i - TIME_FEATURES
            )));
        }
        let (feats, tau) = time_features(&timestamps[..n], self.time_mode);
        let mut evin = Vec::with_capacity(n * ci);
        for (i, f) in feats.iter().enumerate() {
            evin.extend_from_slice(&events[i * c..(i + 1) * c]);
            evin.extend_from_slice(f);
        }
        let pe = self.event_proj.fwd(p, &evin, n);
        let (en, norm) = self.event_norm.fwd(p, &pe);
        let e: Vec<f32> = en.iter().map(|&v| silu(v)).collect();
        let k = self.wk.fwd(p, &e, n);
        let v = self.wv.fwd(p, &e, n);
        let mut dist2 = Vec::with_capacity(self.tokens * n);
        for &a in &self.anchors {
            dist2.extend(tau.iter().map(|&t| (a - t) * (a - t)));
        }
        let loc = self.log_locality.map(|_| Locality {
            dist2: &dist2,
            coef: &qs.coef,
        });
        let (pw, ctx) = attention_fwd(&qs.qp, &k, &v, self.geometry(n), loc, None);
        let mut r = self.wo.fwd(p, &ctx, self.tokens);
        add_in_place(&mut r, &qs.q);
        let (tokens, out) = self.out_norm.fwd(p, &r);
        Ok((
            FrontTape::Student {
                n,
                evin,
                norm,
                en,
                e,
                k,
                v,
                p: pw,
                dist2,
                ctx,
                out,
                feature: None,
            },
            tokens,
        ))
    }

    /// One window's backward: parameter gradients into `g`, the shared queries' into `shared`
    /// (`dq (L, D)`, `d qp (L, D)`, `d coef (H)`).
    fn bwd(
        &self,
        p: &[f32],
        g: &mut [f32],
        shared: &mut [f32],
        qs: &Queries,
        tape: &FrontTape,
        dtokens: &[f32],
    ) {
        let FrontTape::Student {
            n,
            evin,
            norm,
            en,
            e,
            k,
            v,
            p: pw,
            dist2,
            ctx,
            out,
            ..
        } = tape
        else {
            unreachable!("a student's tape")
        };
        let (l, d) = (self.tokens, self.dim);
        let (dq, rest) = shared.split_at_mut(l * d);
        let (dqp, dcoef) = rest.split_at_mut(l * d);
        let dr = self.out_norm.bwd(p, g, out, dtokens);
        add_in_place(dq, &dr);
        let dctx = self.wo.bwd(p, g, ctx, &dr, l);
        let loc = self.log_locality.map(|_| Locality {
            dist2,
            coef: &qs.coef,
        });
        let (dqp1, dk, dv, dc) =
            attention_bwd(&qs.qp, k, v, pw, self.geometry(*n), loc, None, &dctx);
        add_in_place(dqp, &dqp1);
        add_in_place(dcoef, &dc);
        let mut de = self.wk.bwd(p, g, e, &dk, *n);
        add_in_place(&mut de, &self.wv.bwd(p, g, e, &dv, *n));
        for (v, &x) in de.iter_mut().zip(en) {
            *v *= silu_grad(x);
        }
        let dpe = self.event_norm.bwd(p, g, norm, &de);
        self.event_proj.grads(g, evin, &dpe, *n);
    }

    /// The shared queries' backward, once per batch after the windows' gradients are summed.
    fn bwd_queries(&self, p: &[f32], g: &mut [f32], shared: &mut [f32], qs: &Queries) {
        let (l, d) = (self.tokens, self.dim);
        let (dq, rest) = shared.split_at_mut(l * d);
        let (dqp, dcoef) = rest.split_at_mut(l * d);
        add_in_place(dq, &self.wq.bwd(p, g, &qs.q, dqp, l));
        add_in_place(self.query_bias.of_mut(g), dq);
        let mut du = self.query_out.bwd(p, g, &qs.s1, dq, l);
        for (v, &x) in du.iter_mut().zip(&qs.u) {
            *v *= silu_grad(x);
        }
        self.query_in.grads(g, &self.anchors, &du, l);
        if let Some(c) = self.log_locality {
            for ((a, dc), coef) in c.of_mut(g).iter_mut().zip(dcoef.iter()).zip(&qs.coef) {
                *a += dc * coef;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dropout::seed_dropout;
    use crate::model::{
        ModelOutput, SkeletonTransformerConfig, TimestampAwareStudentConfig, seed_training,
    };
    use burn::module::Module;
    use burn::tensor::{Device, Distribution, TensorData};

    fn vec_of<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    /// Random weights for the loss's gradient with respect to each output, and the loss
    /// `sum_o <w_o, o>` on the tensor forward's outputs.
    struct Probe {
        logits: Vec<f32>,
        features: Vec<f32>,
        tokens: Vec<f32>,
        pooled: Vec<f32>,
        attention: Vec<f32>,
        scores: Vec<f32>,
    }

    impl Probe {
        fn new(o: &HostOutputs) -> Probe {
            let mut r = crate::rng::Rng::new(9);
            let mut v = |n: usize| (0..n).map(|_| r.uniform() as f32 - 0.5).collect::<Vec<_>>();
            Probe {
                logits: v(o.logits.len()),
                features: v(o.features.len()),
                tokens: v(o.tokens.len()),
                pooled: v(o.pooled_tokens.len()),
                attention: v(o.attention.len()),
                scores: v(o.attention_scores.len()),
            }
        }

        fn loss(&self, o: &ModelOutput, device: &Device) -> Tensor<1> {
            let w1 =
                |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), device);
            let flat2 = |t: Tensor<2>| t.flatten::<1>(0, 1);
            let flat3 = |t: Tensor<3>| t.flatten::<1>(0, 2);
            (o.logits.clone() * w1(&self.logits)).sum()
                + (flat2(o.features.clone()) * w1(&self.features)).sum()
                + (flat3(o.tokens.clone()) * w1(&self.tokens)).sum()
                + (flat3(o.pooled_tokens.clone()) * w1(&self.pooled)).sum()
                + (flat2(o.attention.clone()) * w1(&self.attention)).sum()
                + (flat2(o.attention_scores.clone()) * w1(&self.scores)).sum()
        }

        fn grads(&self) -> OutputGrads<'_> {
            OutputGrads {
                logits: &self.logits,
                features: Some(&self.features),
                tokens: Some(&self.tokens),
                pooled_tokens: Some(&self.pooled),
                attention: Some(&self.attention),
                attention_scores: Some(&self.scores),
            }
        }
    }

    /// Largest difference relative to the larger of the tensor's largest magnitude and `floor`.
    fn rel_diff(a: &[f32], b: &[f32], floor: f32) -> f32 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(floor, |m, v| m.max(v.abs()));
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
            / scale
    }

    /// The host step's outputs and parameter gradients against burn's autodiff of the tensor
    /// forward, both drawing their dropout masks from `seed`.
    fn check<M: Module>(
        model: &M,
        host: &HostNet,
        inputs: HostInputs<'_>,
        tensor_forward: impl Fn() -> ModelOutput,
        seed: u64,
    ) {
        seed_dropout(seed);
        let fwd = host.forward(inputs).unwrap();
        seed_dropout(seed);
        let out = tensor_forward();
        let (o, t) = (&fwd.outputs, &out);
        for (what, host, tensor) in [
            ("logits", &o.logits, vec_of(t.logits.clone().inner())),
            (
                "pooled tokens",
                &o.pooled_tokens,
                vec_of(t.pooled_tokens.clone().inner()),
            ),
            (
                "attention",
                &o.attention,
                vec_of(t.attention.clone().inner()),
            ),
        ] {
            let diff = rel_diff(host, &tensor, 1.0);
            assert!(diff < 1e-4, "{what}: relative difference {diff}");
        }
        let probe = Probe::new(&fwd.outputs);
        let device = out.logits.device();
        let grads = probe.loss(&out, &device).backward();
        let host_grads = host.backward(&fwd, &probe.grads());
        let mut checked = 0;
        // A gradient that is zero in exact arithmetic (the attention keys' bias: it adds the same
        // amount to every score of a query) is float noise on both paths: each parameter is
        // compared relative to its own largest element or to 1e-3 of the largest of the model's.
        let largest = host_grads
            .iter()
            .flat_map(|g| g.grad.iter())
            .fold(0.0f32, |m, v| m.max(v.abs()));
        let mut visitor = Compare {
            floor: 1e-3 * largest.max(1.0),
            host: &host_grads,
            grads: &grads,
            checked: &mut checked,
        };
        model.visit(&mut visitor);
        assert_eq!(checked, host_grads.len(), "every parameter compared");
    }

    struct Compare<'a> {
        floor: f32,
        host: &'a [ParamGrad],
        grads: &'a burn::tensor::Gradients,
        checked: &'a mut usize,
    }

    impl burn::module::ModuleVisitor for Compare<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let Some(h) = self.host.iter().find(|g| g.id == param.id) else {
                panic!(
                    "parameter {:?} {:?} has no host gradient: it would stay frozen",
                    param.id,
                    param.dims()
                );
            };
            let want = param
                .val()
                .grad(self.grads)
                .map(vec_of)
                .unwrap_or_else(|| vec![0.0; h.grad.len()]);
            let diff = rel_diff(&h.grad, &want, self.floor);
            assert!(
                diff < 2e-4,
                "parameter {:?} {:?}: relative difference {diff}",
                param.id,
                h.shape
            );
            *self.checked += 1;
        }
    }

    #[test]
    fn teacher_gradients_equal_burns_autodiff() {
        let ad = Device::flex().autodiff();
        seed_training(&ad, 3);
        // One and two layers, with and without the positional encoding, with and without dropout.
        for (layers, pos_enc, dropout) in [(1, true, 0.0), (1, true, 0.3), (2, false, 0.2)] {
            let model = SkeletonTransformerConfig::new()
                .with_embed_dim(32)
                .with_input_dim(12)
                .with_num_layers(layers)
                .with_num_heads(2)
                .with_max_len(64)
                .with_use_pos_enc(pos_enc)
                .with_dropout(dropout)
                .init(&ad);
            let model = crate::model::jitter(model, 0.2);
            let x = Tensor::<3>::random([3, 10, 12], Distribution::Normal(0.0, 1.0), &ad);
            let frames = vec_of(x.clone().inner());
            let host = HostNet::teacher(&model).unwrap();
            check(
                &model,
                &host,
                HostInputs::Teacher {
                    frames: &frames,
                    dims: [3, 10, 12],
                },
                || model.forward(x.clone(), None).unwrap(),
                11,
            );
        }
    }

    /// A model with a layer of its own around the student: the host step copies the student's
    /// parameters, not the new one, and refuses to train it rather than leave it frozen.
    #[derive(burn::module::Module, Debug)]
    struct StudentPlus {
        student: TimestampAwareStudent,
        extra: Param<Tensor<2>>,
    }

    #[test]
    fn a_parameter_the_host_does_not_read_is_refused() {
        let ad = Device::flex().autodiff();
        let student = TimestampAwareStudentConfig::new()
            .with_embed_dim(16)
            .with_num_tokens(8)
            .init(&ad);
        let host = HostNet::student(&student).unwrap();
        host.ensure_covers(&student, "student").unwrap();
        let plus = StudentPlus {
            student,
            extra: Param::from_tensor(Tensor::<2>::zeros([3, 5], &ad)),
        };
        let err = host
            .ensure_covers(&plus, "student")
            .unwrap_err()
            .to_string();
        assert!(err.contains("1 of its") && err.contains("[3, 5]"), "{err}");
        // The teacher's net does not cover the student either.
        let teacher = SkeletonTransformerConfig::new()
            .with_embed_dim(16)
            .with_input_dim(6)
            .init(&ad);
        let err = HostNet::teacher(&teacher)
            .unwrap()
            .ensure_covers(&plus.student, "student")
            .unwrap_err();
        assert!(err.to_string().contains("host training step"), "{err}");
    }

    #[test]
    fn student_gradients_equal_burns_autodiff() {
        let ad = Device::flex().autodiff();
        seed_training(&ad, 4);
        for (mode, locality, features, dropout) in [
            (TimeMode::Timestamps, true, false, 0.0),
            (TimeMode::Timestamps, true, true, 0.2),
            (TimeMode::Cleaned, false, true, 0.1),
            (TimeMode::Position, true, false, 0.1),
        ] {
            let cfg = TimestampAwareStudentConfig::new()
                .with_embed_dim(16)
                .with_num_tokens(8)
                .with_gram_tokens(4)
                .with_time_mode(mode)
                .with_locality_bias(locality)
                .with_window_features(features)
                .with_feature_hidden(8)
                .with_dropout(dropout);
            let model = crate::model::jitter(cfg.init(&ad), 0.2);
            let (b, n, c) = (4, 12, 6);
            let ev = Tensor::<3>::random([b, n, c], Distribution::Normal(0.0, 1.0), &ad);
            let ts = Tensor::<2>::random([b, n], Distribution::Uniform(0.0, 0.05), &ad).cumsum(1);
            // The second window pads its last 5 events, the third its last 11, the fourth has none.
            let valid = [n, n - 5, 1, 0];
            let m: Vec<f32> = (0..b)
                .flat_map(|s| (0..n).map(move |i| if i < valid[s] { 1.0 } else { 0.0 }))
                .collect();
            let mask = Tensor::<2>::from_data(TensorData::new(m.clone(), [b, n]), &ad);
            let nf = crate::features::NUM_FEATURES;
            let f = Tensor::<2>::random([b, nf], Distribution::Normal(0.0, 1.0), &ad);
            let (evv, tsv, fv) = (
                vec_of(ev.clone().inner()),
                vec_of(ts.clone().inner()),
                vec_of(f.clone().inner()),
            );
            let host = HostNet::student(&model).unwrap();
            check(
                &model,
                &host,
                HostInputs::Student {
                    events: &evv,
                    timestamps: &tsv,
                    mask: &m,
                    features: features.then_some(&fv[..]),
                    dims: [b, n, c],
                },
                || {
                    model.forward(
                        ev.clone(),
                        ts.clone(),
                        mask.clone(),
                        features.then(|| f.clone()),
                    )
                },
                21,
            );
        }
    }

    #[test]
    fn gradients_do_not_depend_on_the_thread_count() {
        let ad = Device::flex().autodiff();
        seed_training(&ad, 5);
        let model = SkeletonTransformerConfig::new()
            .with_embed_dim(16)
            .with_input_dim(6)
            .with_gram_tokens(4)
            .init(&ad);
        let model = crate::model::jitter(model, 0.2);
        let x = Tensor::<3>::random([9, 6, 6], Distribution::Normal(0.0, 1.0), &ad);
        let frames = vec_of(x.inner());
        let host = HostNet::teacher(&model).unwrap();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                seed_dropout(1);
                let fwd = host
                    .forward(HostInputs::Teacher {
                        frames: &frames,
                        dims: [9, 6, 6],
                    })
                    .unwrap();
                let probe = Probe::new(&fwd.outputs);
                host.backward(&fwd, &probe.grads())
                    .into_iter()
                    .flat_map(|g| g.grad)
                    .collect::<Vec<f32>>()
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn pool_bins_match_burns_adaptive_pooling() {
        let device = Device::flex();
        for (t, g) in [(10, 4), (7, 7), (120, 64), (5, 8)] {
            let x: Vec<f32> = (0..t).map(|i| (i * i) as f32).collect();
            let tensor = Tensor::<3>::from_data(TensorData::new(x.clone(), [1, 1, t]), &device);
            let want = vec_of(burn::tensor::module::adaptive_avg_pool1d(tensor, g));
            let got: Vec<f32> = (0..g)
                .map(|i| {
                    let (a, b) = pool_bin(i, t, g);
                    x[a..b].iter().sum::<f32>() / (b - a) as f32
                })
                .collect();
            assert_eq!(got, want, "T {t}, G {g}");
        }
    }
}
