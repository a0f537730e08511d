//! `fallkd`: wearable fall detection by cross-modal knowledge distillation. Each command's flags
//! and its function live in its module under `fallkd_train::commands`; the flags several share in
//! `fallkd_train::flags`.

use anyhow::Result;
use clap::{Parser, Subcommand};

use fallkd_train::commands::{
    ablation, audit, evaluate, export, export_onnx, features, generate, inspect, loso, personalize,
    personalize_study, pipeline, predict, score, speed, stress, train,
};

#[derive(Parser)]
#[command(
    name = "fallkd",
    version,
    about = "Fall detection from smartwatch IMU, distilled from a skeleton teacher"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the generated SmartFallMM look-alike dataset.
    Generate(generate::Args),
    /// Audit watch timestamps: duplicates, backwards steps, gaps, rates, acc/gyro offsets.
    AnalyzeTimestamps(audit::Args),
    /// Train the skeleton teacher.
    TrainTeacher(train::TeacherArgs),
    /// Train a student, with or without distillation.
    TrainStudent(train::StudentArgs),
    /// Train a feature-model reference row: the peak-|a| rule or gradient-boosted trees on
    /// hand-made window features (features.model: peak | gbm).
    TrainFeatures(features::Args),
    /// Ablation sweep from kd_config/ablation_kd.yaml: the teacher's variants, or the student's
    /// (tokens, time features, KD combinations).
    Ablation(ablation::Args),
    /// Robustness curves of trained students under timestamp perturbations.
    StressTest(stress::Args),
    /// Test metrics and batch-1 inference time of a finished run.
    Evaluate(evaluate::Args),
    /// Export a student run for the browser demo.
    Export(export::Args),
    /// Write an exported student as ONNX for watch apps (windows of up to the model's
    /// `max_events` events with their timestamps and a mask, to the fall probability), with test
    /// vectors of the pre-processing that stays outside the graph (docs/deploy.md).
    ExportOnnx(export_onnx::Args),
    /// Adapt an exported student to its wearer from labelled recordings (a CSV of
    /// `acc,gyro,label`): the alarm threshold, or the head and the threshold, checked by
    /// cross-validation on the wearer's labels (the base model is kept when the personal one
    /// does worse).
    Personalize(personalize::Args),
    /// The personalisation protocols (full calibration, ADL-only calibration, feedback) on every
    /// fold and lockbox wearer, each variant against the base models (results/personalize/).
    PersonalizeStudy(personalize_study::Args),
    /// Print what a model file holds: its format and checksum, architecture, threshold and
    /// alarm logic, windowing, and provenance (data hash, configuration, commit, figures).
    Inspect(inspect::Args),
    /// Score exported students on the recordings of subjects they never saw, as a wearer feels
    /// them (falls caught, ADL recordings alarming, recording F1, AUC), through the page's path;
    /// with --invariance also on the same recordings resampled, mirrored, turned, in g and cut
    /// around the impact (issue #32; the lockbox and across-watch splits of
    /// results/lockbox/RULE.md).
    Score(score::ScoreOptions),
    /// Run an exported student on one watch recording (prints the highest fall probability), or
    /// on every recording of a folder (one line each, then read / repaired / refused counts).
    Predict(predict::Args),
    /// Training steps/s and batch-1 latency of the default teacher or student (JSON).
    Speed(speed::Args),
    /// Leave-one-subject-out study: per fold a teacher, students with and without KD and the
    /// baseline; mean +- std over folds (loso.md, loso.csv). Finished runs are kept.
    Loso(loso::Args),
    /// The main job: teacher, students with and without KD, baseline, stress tests, report.
    Pipeline(pipeline::Args),
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    match Cli::parse().command {
        Cmd::Generate(a) => generate::cli(&a),
        Cmd::AnalyzeTimestamps(a) => audit::cli(&a),
        Cmd::TrainTeacher(a) => train::cli_teacher(&a),
        Cmd::TrainStudent(a) => train::cli_student(&a),
        Cmd::TrainFeatures(a) => features::cli(&a),
        Cmd::Ablation(a) => ablation::cli(&a),
        Cmd::StressTest(a) => stress::cli(&a),
        Cmd::Evaluate(a) => evaluate::cli(&a),
        Cmd::Export(a) => export::cli(&a),
        Cmd::ExportOnnx(a) => export_onnx::cli(&a),
        Cmd::Personalize(a) => personalize::cli(&a),
        Cmd::PersonalizeStudy(a) => personalize_study::cli(&a),
        Cmd::Inspect(a) => inspect::cli(&a),
        Cmd::Score(a) => score::cli(&a),
        Cmd::Predict(a) => predict::cli(&a),
        Cmd::Speed(a) => speed::cli(&a),
        Cmd::Loso(a) => loso::cli(&a),
        Cmd::Pipeline(a) => pipeline::cli(&a),
    }
}
