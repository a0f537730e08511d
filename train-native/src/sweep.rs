//! A sweep of configurations (the ablation file's variants, the pipeline's rows): one
//! configuration, and the table of the finished runs.

use serde::Deserialize;

use crate::run_dir::RunSummary;

/// One configuration of a sweep.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Run name.
    pub name: String,
    /// `key=value` overrides on top of the base configuration.
    #[serde(default)]
    pub set: Vec<String>,
}

/// Markdown table of run summaries.
pub fn summary_table(rows: &[(Variant, RunSummary)]) -> String {
    let mut t = String::from(
        "| run | overrides | split | F1 | precision | recall | accuracy | AUC | F1 @ val thr | params | ms/window |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (v, s) in rows {
        t.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.2} |\n",
            v.name,
            if v.set.is_empty() {
                "-".into()
            } else {
                v.set.join(" ")
            },
            s.split.name,
            s.test.f1,
            s.test.precision,
            s.test.recall,
            s.test.accuracy,
            s.test.auc,
            s.test_at_val_threshold.f1,
            s.parameters,
            s.ms_per_window
        ));
    }
    t
}
