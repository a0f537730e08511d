//! Batches of windows as tensors: skeleton frames for the teacher, event windows (and, for
//! distillation, their skeleton partners) for a student.

use burn::tensor::{Device, Tensor};
use fallkd_core::batch::{EventWindow, student_batch, teacher_batch};
use fallkd_core::data::normalize::NormStats;
use fallkd_core::data::window::Window;

use crate::dataset::Prepared;
use crate::run_dir::Role;

/// Tensors for one batch.
pub struct Batch {
    /// Student input (students only).
    pub student: Option<fallkd_core::batch::StudentBatch>,
    /// Skeleton frames: the teacher's input, or the KD teacher's for students.
    pub frames: Option<Tensor<3>>,
    /// Labels.
    pub labels: Tensor<1>,
}

/// Builds batches for a role.
pub struct Batcher<'a> {
    /// Data.
    pub data: &'a Prepared,
    /// Statistics for the model being trained.
    pub stats: NormStats,
    /// Statistics of the KD teacher (skeleton normalisation).
    pub teacher_stats: Option<NormStats>,
    /// Role.
    pub role: Role,
    /// Student grid length.
    pub grid_len: usize,
    /// Teacher frames per window.
    pub frames: usize,
}

impl Batcher<'_> {
    /// The skeleton frames paired with `w` (none without a partner).
    pub fn skeleton<'w>(&'w self, w: &Window) -> &'w [fallkd_core::data::skeleton_csv::Frame] {
        let (a, b) = w.skeleton_frames.unwrap_or((0, 0));
        self.data.trials[w.trial]
            .skeleton
            .as_deref()
            .map_or(&[][..], |s| &s[a..b])
    }

    /// Batch of `windows` on `device`; `with_frames` adds skeleton frames for students (KD).
    pub fn batch(&self, windows: &[&Window], with_frames: bool, device: &Device) -> Batch {
        let labels: Vec<bool> = windows.iter().map(|w| w.label).collect();
        match self.role {
            Role::Teacher => {
                let items: Vec<_> = windows.iter().map(|w| self.skeleton(w)).collect();
                let (frames, labels) =
                    teacher_batch(&items, &labels, &self.stats, self.frames, device);
                Batch {
                    student: None,
                    frames: Some(frames),
                    labels,
                }
            }
            Role::Student => {
                let ev: Vec<EventWindow> = windows.iter().map(|w| EventWindow::from(*w)).collect();
                let refs: Vec<&EventWindow> = ev.iter().collect();
                let sb = student_batch(&refs, &labels, &self.stats, self.grid_len, device);
                let frames = (with_frames).then(|| {
                    let items: Vec<_> = windows.iter().map(|w| self.skeleton(w)).collect();
                    teacher_batch(
                        &items,
                        &labels,
                        self.teacher_stats.as_ref().unwrap_or(&self.stats),
                        self.frames,
                        device,
                    )
                    .0
                });
                let labels = sb.labels.clone();
                Batch {
                    student: Some(sb),
                    frames,
                    labels,
                }
            }
        }
    }
}
