//! ONNX export of the timestamp-aware student, for watch apps (ONNX Runtime Mobile, or LiteRT
//! after conversion; docs/deploy.md).
//!
//! The graph ([`student`]) covers the model: from one window's prepared inputs to the fall
//! probability. What prepares those inputs from a watch's raw samples stays out of the graph, as
//! [`prepare_window`]: turning the events into the model's frame (gravity axes) and scaling them,
//! timestamps relative to the window's first event, and the hand-made window features (peaks,
//! stillness after the impact, orientation change: sorting, percentiles and per-recording logic
//! that ONNX expresses badly). A watch app calls its own port of [`prepare_window`], checked
//! against the test vectors `fallkd export-onnx --vectors` writes; the windowing and the alarm
//! logic around the model are the app's as well, with their settings in the model's metadata
//! (`fallkd.header`).

pub mod graph;
pub mod proto;
pub mod student;

use serde::{Deserialize, Serialize};

use crate::batch::{
    EventWindow, event_channels, relative_times, student_events, window_feature_row_in,
};
use crate::error::Error;
use crate::model::HostStudent;
use crate::model::Student;
use crate::model_file::ModelHeader;

pub use student::GraphSizes;

/// One window's inputs to the ONNX graph, padded to the graph's `N` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnnxInputs {
    /// `N x C` normalised events, event by event, zero after the valid ones.
    pub events: Vec<f32>,
    /// `N` seconds from the window's first event, zero after the valid ones.
    pub timestamps: Vec<f32>,
    /// `N` ones for the valid events, then zeros.
    pub mask: Vec<f32>,
    /// `F` scaled window features (empty for a student without the window-feature path).
    pub window_features: Vec<f32>,
}

/// The events per window an exported graph takes: the model's windowing thins every window to
/// `max_events`.
pub fn max_events(header: &ModelHeader) -> usize {
    header.window_config().max_events
}

/// The graph's inputs for one raw window (events in m/s^2 and rad/s in the watch's frame,
/// seconds; cut as the model's [`ModelHeader::window_config`] cuts them, with its feature
/// context): the reference implementation of the pre-processing a watch app does before calling
/// the ONNX model.
///
/// Errors: a window with more events than the graph takes.
pub fn prepare_window(w: &EventWindow, header: &ModelHeader) -> Result<OnnxInputs, Error> {
    let n = max_events(header);
    let stats = &header.stats;
    let valid = w.events.len();
    if valid > n {
        return Err(Error::Invalid(format!(
            "the window holds {valid} events, the model takes at most {n} (the windowing thins \
             windows to that many)"
        )));
    }
    let mut events = student_events(w, stats);
    events.resize(n * event_channels(stats), 0.0);
    let mut timestamps = relative_times(w);
    timestamps.resize(n, 0.0);
    let mut mask = vec![1.0; valid];
    mask.resize(n, 0.0);
    let window_features = match &stats.features {
        Some(fs) => fs.apply(&window_feature_row_in(w, stats.axes)),
        None => Vec::new(),
    };
    Ok(OnnxInputs {
        events,
        timestamps,
        mask,
        window_features,
    })
}

/// The ONNX model (bytes of a `ModelProto`) of an exported timestamp-aware student with its
/// header. The model's metadata holds the header as JSON (`fallkd.header`: normalisation,
/// windowing, threshold, alarm logic, provenance) and the threshold alone (`fallkd.threshold`).
///
/// Errors: the fixed-rate baseline (only the timestamp-aware student exports), or weights the
/// host forward cannot read.
pub fn export_student(model: &Student, header: &ModelHeader) -> Result<Vec<u8>, Error> {
    let Some(student) = model.timestamp_aware() else {
        return Err(Error::Invalid(
            "only the timestamp-aware student exports to ONNX, not the fixed-rate baseline".into(),
        ));
    };
    let host = HostStudent::new(student)?;
    let sizes = GraphSizes {
        max_events: max_events(header),
        features: header
            .stats
            .features
            .as_ref()
            .map_or(0, |_| crate::features::NUM_FEATURES),
    };
    let doc = format!(
        "fallkd timestamp-aware student: {}. Inputs are prepared by fallkd-core's \
         onnx::prepare_window (docs/deploy.md).",
        header.description
    );
    let graph = student::student_graph(&host, sizes, &doc)?;
    let header_json = serde_json::to_string(header)
        .map_err(|e| Error::Invalid(format!("the model header does not serialise: {e}")))?;
    Ok(proto::model(
        &graph,
        graph::OPSET,
        ("fallkd", env!("CARGO_PKG_VERSION")),
        &[
            ("fallkd.header".into(), header_json),
            ("fallkd.threshold".into(), header.threshold.to_string()),
            ("fallkd.max_events".into(), sizes.max_events.to_string()),
        ],
    ))
}

/// One raw window as a watch app holds it: the events (acc xyz m/s^2, gyro xyz rad/s, the
/// watch's frame) and their seconds, and the feature context when the model computes its window
/// features over a longer stretch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawWindow {
    /// Events of the window.
    pub events: Vec<[f32; 6]>,
    /// Their seconds, sorted.
    pub timestamps: Vec<f64>,
    /// Events the window features are computed over (`None`: the window's own).
    pub context_events: Option<Vec<[f32; 6]>>,
    /// Their seconds.
    pub context_timestamps: Option<Vec<f64>>,
}

impl From<&EventWindow> for RawWindow {
    fn from(w: &EventWindow) -> RawWindow {
        RawWindow {
            events: w.events.clone(),
            timestamps: w.timestamps.clone(),
            context_events: w.context.as_ref().map(|c| c.events.clone()),
            context_timestamps: w.context.as_ref().map(|c| c.timestamps.clone()),
        }
    }
}

/// A test vector of the pre-processing and the model: a raw window, the inputs
/// [`prepare_window`] makes of it, and the logit and probability of the native forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestVector {
    /// The window as the app holds it.
    pub raw: RawWindow,
    /// The graph's inputs.
    pub inputs: OnnxInputs,
    /// The native forward's fall logit.
    pub logit: f32,
    /// The native forward's fall probability.
    pub probability: f32,
}

/// The test vector of window `w` for `student` (the model the header belongs to).
pub fn test_vector(
    host: &HostStudent,
    header: &ModelHeader,
    w: &EventWindow,
) -> Result<TestVector, Error> {
    let inputs = prepare_window(w, header)?;
    let valid = w.events.len();
    let c = host.event_channels();
    let features = (!inputs.window_features.is_empty()).then_some(&inputs.window_features[..]);
    let (logit, _) = host.forward(
        &inputs.events[..valid * c],
        &inputs.timestamps[..valid],
        features,
    )?;
    Ok(TestVector {
        raw: RawWindow::from(w),
        inputs,
        logit,
        probability: 1.0 / (1.0 + (-logit).exp()),
    })
}
