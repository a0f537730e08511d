//! A small builder of ONNX graphs (opset 13): fresh value names, weights as initializers, and the
//! layers the student is made of (linear, layer norm, GELU, SiLU, multi-head attention) written
//! out in plain operators that every runtime and converter knows.

use super::proto::{self, Attribute, Dim, Graph};
use crate::model::host_forward::{Dense, LAYER_NORM_EPSILON, Norm};

/// The default-domain opset the exporter writes: 13, the oldest with `Softmax` over one axis and
/// the newest whose reductions still take their axes as attributes; converters to LiteRT and the
/// mobile runtimes read it.
pub const OPSET: i64 = 13;

/// A graph under construction.
#[derive(Debug, Default)]
pub struct Builder {
    graph: Graph,
    names: usize,
}

impl Builder {
    /// An empty graph named `name`.
    pub fn new(name: &str, doc: &str) -> Builder {
        Builder {
            graph: Graph {
                name: name.into(),
                doc: doc.into(),
                ..Graph::default()
            },
            names: 0,
        }
    }

    fn fresh(&mut self, hint: &str) -> String {
        self.names += 1;
        format!("{hint}_{}", self.names)
    }

    /// Declares a float input of `dims`.
    pub fn input(&mut self, name: &str, dims: &[Dim], doc: &str) -> String {
        self.graph.inputs.push(proto::value_info(name, dims, doc));
        name.into()
    }

    /// Makes `value` an output called `name`, of `dims`.
    pub fn output(&mut self, value: &str, name: &str, dims: &[Dim], doc: &str) {
        self.op_named("Identity", &[value], &[], name);
        self.graph.outputs.push(proto::value_info(name, dims, doc));
    }

    /// A float weight of `dims`.
    pub fn constant(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh(hint);
        self.graph
            .initializers
            .push(proto::float_tensor(&name, dims, values));
        name
    }

    /// A float scalar.
    pub fn scalar(&mut self, v: f32) -> String {
        self.constant("scalar", &[], &[v])
    }

    /// A one-dimensional int64 weight (shapes, axes, pads, slice bounds).
    pub fn ints(&mut self, hint: &str, values: &[i64]) -> String {
        let name = self.fresh(hint);
        self.graph
            .initializers
            .push(proto::int_tensor(&name, &[values.len()], values));
        name
    }

    fn op_named(&mut self, op: &str, inputs: &[&str], attrs: &[(&str, Attribute)], out: &str) {
        let name = format!("{op}_{}", self.graph.nodes.len());
        let inputs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        self.graph
            .nodes
            .push(proto::node(op, &name, &inputs, &[out.to_string()], attrs));
    }

    /// One node of `op` with one output, whose name it returns.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: &[(&str, Attribute)]) -> String {
        let out = self.fresh(&op.to_lowercase());
        self.op_named(op, inputs, attrs, &out);
        out
    }

    /// `a + b` (broadcasting).
    pub fn add(&mut self, a: &str, b: &str) -> String {
        self.op("Add", &[a, b], &[])
    }

    /// `a - b`.
    pub fn sub(&mut self, a: &str, b: &str) -> String {
        self.op("Sub", &[a, b], &[])
    }

    /// `a * b`.
    pub fn mul(&mut self, a: &str, b: &str) -> String {
        self.op("Mul", &[a, b], &[])
    }

    /// `a / b`.
    pub fn div(&mut self, a: &str, b: &str) -> String {
        self.op("Div", &[a, b], &[])
    }

    /// `x` times a scalar.
    pub fn scale(&mut self, x: &str, s: f32) -> String {
        let s = self.scalar(s);
        self.mul(x, &s)
    }

    /// `x` plus a scalar.
    pub fn shift(&mut self, x: &str, s: f32) -> String {
        let s = self.scalar(s);
        self.add(x, &s)
    }

    /// `x` clamped to `[lo, hi]`.
    pub fn clip(&mut self, x: &str, lo: f32, hi: f32) -> String {
        let (lo, hi) = (self.scalar(lo), self.scalar(hi));
        self.op("Clip", &[x, &lo, &hi], &[])
    }

    /// `x` reshaped (0 keeps that dimension of `x`, -1 infers one).
    pub fn reshape(&mut self, x: &str, shape: &[i64]) -> String {
        let s = self.ints("shape", shape);
        self.op("Reshape", &[x, &s], &[])
    }

    /// `x` with its dimensions permuted.
    pub fn transpose(&mut self, x: &str, perm: &[i64]) -> String {
        self.op(
            "Transpose",
            &[x],
            &[("perm", Attribute::Ints(perm.to_vec()))],
        )
    }

    /// A reduction (`ReduceMean`, `ReduceMax`, `ReduceMin`) over `axes`, keeping them.
    pub fn reduce(&mut self, op: &str, x: &str, axes: &[i64]) -> String {
        self.op(
            op,
            &[x],
            &[
                ("axes", Attribute::Ints(axes.to_vec())),
                ("keepdims", Attribute::Int(1)),
            ],
        )
    }

    /// Softmax along `axis`.
    pub fn softmax(&mut self, x: &str, axis: i64) -> String {
        self.op("Softmax", &[x], &[("axis", Attribute::Int(axis))])
    }

    /// `x W + b` over the last dimension of `x`.
    pub(crate) fn linear(&mut self, x: &str, l: &Dense) -> String {
        let w = self.constant("weight", &[l.input, l.output], &l.w);
        let b = self.constant("bias", &[l.output], &l.b);
        let y = self.op("MatMul", &[x, &w], &[]);
        self.add(&y, &b)
    }

    /// Layer norm over the last dimension (burn's: biased variance, epsilon 1e-5), in
    /// `ReduceMean`, `Sub`, `Sqrt` and `Div`, which opset 13 runtimes all have.
    pub(crate) fn layer_norm(&mut self, x: &str, n: &Norm) -> String {
        let mean = self.reduce("ReduceMean", x, &[-1]);
        let centred = self.sub(x, &mean);
        let sq = self.mul(&centred, &centred);
        let var = self.reduce("ReduceMean", &sq, &[-1]);
        let var = self.shift(&var, LAYER_NORM_EPSILON);
        let sd = self.op("Sqrt", &[&var], &[]);
        let y = self.div(&centred, &sd);
        let gamma = self.constant("gamma", &[n.gamma.len()], &n.gamma);
        let beta = self.constant("beta", &[n.beta.len()], &n.beta);
        let y = self.mul(&y, &gamma);
        self.add(&y, &beta)
    }

    /// The exact GELU, `x (1 + erf(x / sqrt 2)) / 2`.
    pub fn gelu(&mut self, x: &str) -> String {
        let z = self.scale(x, std::f32::consts::FRAC_1_SQRT_2);
        let e = self.op("Erf", &[&z], &[]);
        let e = self.shift(&e, 1.0);
        let y = self.mul(x, &e);
        self.scale(&y, 0.5)
    }

    /// SiLU, `x sigmoid(x)`.
    pub fn silu(&mut self, x: &str) -> String {
        let s = self.op("Sigmoid", &[x], &[]);
        self.mul(x, &s)
    }

    /// Splits `(B, T, D)` into heads `(B, H, T, D/H)`, or `(B, H, D/H, T)` when `keys`.
    pub fn heads(&mut self, x: &str, (t, heads, dk): (usize, usize, usize), keys: bool) -> String {
        let r = self.reshape(x, &[0, t as i64, heads as i64, dk as i64]);
        self.transpose(&r, if keys { &[0, 2, 3, 1] } else { &[0, 2, 1, 3] })
    }

    /// Joins heads `(B, H, T, D/H)` back into `(B, T, D)`.
    pub fn merge_heads(&mut self, x: &str, (t, d): (usize, usize)) -> String {
        let r = self.transpose(x, &[0, 2, 1, 3]);
        self.reshape(&r, &[0, t as i64, d as i64])
    }

    /// The finished graph.
    pub fn finish(self) -> Graph {
        self.graph
    }
}
