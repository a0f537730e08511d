//! The ONNX protobuf messages this crate writes, encoded by hand: the wire format is a few lines
//! (varints and length-delimited fields), and a code generator would need `protoc` at build time.
//!
//! Field numbers are those of `onnx/onnx.proto` (ONNX 1.14). Only what the exporter writes is
//! here: a model with one graph, nodes with int, float and int-list attributes, float and int64
//! tensors, and tensor value infos with fixed or named dimensions.

/// A protobuf message under construction.
#[derive(Debug, Default, Clone)]
pub struct Message(Vec<u8>);

const VARINT: u64 = 0;
const FIXED32: u64 = 5;
const LEN: u64 = 2;

impl Message {
    /// An empty message.
    pub fn new() -> Message {
        Message::default()
    }

    fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn key(&mut self, field: u32, wire: u64) {
        self.varint((u64::from(field) << 3) | wire);
    }

    /// An integer field (int32, int64 and enums share the varint encoding; negative numbers
    /// take ten bytes, as protobuf's int64 does).
    pub fn int(mut self, field: u32, v: i64) -> Message {
        self.key(field, VARINT);
        self.varint(v as u64);
        self
    }

    /// A float field.
    pub fn float(mut self, field: u32, v: f32) -> Message {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A bytes or string field.
    pub fn bytes(mut self, field: u32, v: &[u8]) -> Message {
        self.key(field, LEN);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    /// A string field.
    pub fn string(self, field: u32, v: &str) -> Message {
        self.bytes(field, v.as_bytes())
    }

    /// An embedded message.
    pub fn message(self, field: u32, m: &Message) -> Message {
        self.bytes(field, &m.0)
    }

    /// A packed repeated integer field.
    pub fn packed_ints(self, field: u32, vs: &[i64]) -> Message {
        let mut body = Message::new();
        for &v in vs {
            body.varint(v as u64);
        }
        self.bytes(field, &body.0)
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// `TensorProto.DataType` values.
pub mod data_type {
    /// 32-bit float.
    pub const FLOAT: i64 = 1;
    /// 64-bit integer.
    pub const INT64: i64 = 7;
}

/// A `TensorProto` of `dims` holding little-endian `raw` data of `data_type`.
pub fn tensor(name: &str, dims: &[usize], data_type: i64, raw: &[u8]) -> Message {
    let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
    Message::new()
        .packed_ints(1, &dims)
        .int(2, data_type)
        .string(8, name)
        .bytes(9, raw)
}

/// A float `TensorProto`.
pub fn float_tensor(name: &str, dims: &[usize], values: &[f32]) -> Message {
    debug_assert_eq!(dims.iter().product::<usize>(), values.len());
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor(name, dims, data_type::FLOAT, &raw)
}

/// An int64 `TensorProto`.
pub fn int_tensor(name: &str, dims: &[usize], values: &[i64]) -> Message {
    debug_assert_eq!(dims.iter().product::<usize>(), values.len());
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor(name, dims, data_type::INT64, &raw)
}

/// One dimension of a value's shape.
#[derive(Debug, Clone)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A size named, and chosen, at run time (the batch).
    Named(String),
}

/// A `ValueInfoProto` of a float tensor of `dims`, with a doc string.
pub fn value_info(name: &str, dims: &[Dim], doc: &str) -> Message {
    let mut shape = Message::new();
    for d in dims {
        let dim = match d {
            Dim::Fixed(n) => Message::new().int(1, *n as i64),
            Dim::Named(s) => Message::new().string(2, s),
        };
        shape = shape.message(1, &dim);
    }
    let tensor_type = Message::new().int(1, data_type::FLOAT).message(2, &shape);
    let ty = Message::new().message(1, &tensor_type);
    Message::new()
        .string(1, name)
        .message(2, &ty)
        .string(3, doc)
}

/// An attribute of a node.
#[derive(Debug, Clone)]
pub enum Attribute {
    /// `INT`.
    Int(i64),
    /// `FLOAT`.
    Float(f32),
    /// `INTS`.
    Ints(Vec<i64>),
}

/// An `AttributeProto`.
pub fn attribute(name: &str, a: &Attribute) -> Message {
    // AttributeType: FLOAT 1, INT 2, INTS 7.
    let m = Message::new().string(1, name);
    match a {
        Attribute::Float(f) => m.float(2, *f).int(20, 1),
        Attribute::Int(i) => m.int(3, *i).int(20, 2),
        Attribute::Ints(is) => m.packed_ints(8, is).int(20, 7),
    }
}

/// A `NodeProto` of the default domain.
pub fn node(
    op: &str,
    name: &str,
    inputs: &[String],
    outputs: &[String],
    attributes: &[(&str, Attribute)],
) -> Message {
    let mut m = Message::new();
    for i in inputs {
        m = m.string(1, i);
    }
    for o in outputs {
        m = m.string(2, o);
    }
    m = m.string(3, name).string(4, op);
    for (k, a) in attributes {
        m = m.message(5, &attribute(k, a));
    }
    m
}

/// The parts of a `GraphProto`.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    /// Graph name.
    pub name: String,
    /// `NodeProto`s in topological order.
    pub nodes: Vec<Message>,
    /// Weight `TensorProto`s.
    pub initializers: Vec<Message>,
    /// Input `ValueInfoProto`s.
    pub inputs: Vec<Message>,
    /// Output `ValueInfoProto`s.
    pub outputs: Vec<Message>,
    /// What the graph computes.
    pub doc: String,
}

/// The ONNX IR version written (ONNX 1.10; opset 13 needs at least 7).
pub const IR_VERSION: i64 = 8;

/// A `ModelProto` of `graph` at default-domain `opset`, with string metadata.
pub fn model(
    graph: &Graph,
    opset: i64,
    producer: (&str, &str),
    metadata: &[(String, String)],
) -> Vec<u8> {
    let mut g = Message::new();
    for n in &graph.nodes {
        g = g.message(1, n);
    }
    g = g.string(2, &graph.name);
    for t in &graph.initializers {
        g = g.message(5, t);
    }
    g = g.string(10, &graph.doc);
    for i in &graph.inputs {
        g = g.message(11, i);
    }
    for o in &graph.outputs {
        g = g.message(12, o);
    }
    let mut m = Message::new()
        .int(1, IR_VERSION)
        .string(2, producer.0)
        .string(3, producer.1)
        .message(7, &g)
        .message(8, &Message::new().string(1, "").int(2, opset));
    for (k, v) in metadata {
        m = m.message(14, &Message::new().string(1, k).string(2, v));
    }
    m.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_keys_follow_the_wire_format() {
        // Examples of the protobuf encoding guide: 150 in field 1 is 08 96 01.
        assert_eq!(Message::new().int(1, 150).into_bytes(), [0x08, 0x96, 0x01]);
        // A string "testing" in field 2: 12 07 74 65 73 74 69 6e 67.
        assert_eq!(
            Message::new().string(2, "testing").into_bytes(),
            [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']
        );
        // -1 as int64 takes ten bytes.
        assert_eq!(Message::new().int(1, -1).into_bytes().len(), 11);
        // A float is fixed32: key 0x15 for field 2.
        assert_eq!(
            Message::new().float(2, 1.0).into_bytes(),
            [0x15, 0, 0, 0x80, 0x3f]
        );
        // Packed [3, 270] in field 4: 22 03 03 8e 02.
        assert_eq!(
            Message::new().packed_ints(4, &[3, 270]).into_bytes(),
            [0x22, 0x03, 0x03, 0x8e, 0x02]
        );
    }
}
