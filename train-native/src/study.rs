//! The rows of a leave-one-subject-out study (`fallkd loso`): the built-in ones, rows given on the
//! command line (`--kd-row NAME=KEY=VALUE;...`), and a study file (`--study FILE.yaml`): named
//! rows, each a kind and a partial configuration checked like any configuration file, with the
//! study's paired comparisons and ensembles.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::config::{RunConfig, TAGS};
use crate::ensemble::Ensemble;

/// One row of the study: a run trained in every fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Run name (the folder in each fold).
    pub name: String,
    /// Teacher or student.
    pub teacher: bool,
    /// A feature-model reference row (`fallkd train-features`).
    pub features: bool,
    /// Whether it distils from its fold's teacher.
    pub kd: bool,
    /// Overrides on top of the base configuration.
    pub set: Vec<String>,
    /// In the study when `--rows` is not given.
    pub default: bool,
}

type KnownRow = (&'static str, bool, bool, &'static [&'static str], bool);

/// Feature-model rows: name, overrides, in the default study.
const FEATURE_ROWS: &[(&str, &[&str], bool)] = &[
    ("features-gbm", &["features.model=gbm"], true),
    ("peak-rule", &["features.model=peak"], true),
    ("always-fall", &["features.model=always-fall"], false),
    (
        "features-gbm-wearer",
        &[
            "features.model=gbm",
            "train.gyro_dropout=0.5",
            "data.old_adults.train=true",
        ],
        false,
    ),
    (
        "features-gbm-wearer-aug",
        &[
            "features.model=gbm",
            "train.gyro_dropout=0.5",
            "data.old_adults.train=true",
            AUGMENT,
        ],
        false,
    ),
];

/// The rows `fallkd loso` knows: name, teacher, KD, overrides, in the default study.
const KNOWN: &[KnownRow] = &[
    ("teacher", true, false, &[], true),
    ("student-nokd", false, false, &["kd.enabled=false"], true),
    (
        "student-kd",
        false,
        true,
        &["student.time_mode=timestamps"],
        true,
    ),
    (
        "student-kd-cleaned",
        false,
        true,
        &["student.time_mode=cleaned"],
        false,
    ),
    (
        "student-kd-position",
        false,
        true,
        &["student.time_mode=position"],
        true,
    ),
    (
        "student-kd-tokens32",
        false,
        true,
        &["student.time_mode=timestamps", "student.num_tokens=32"],
        false,
    ),
    (
        "student-kd-tokens128",
        false,
        true,
        &["student.time_mode=timestamps", "student.num_tokens=128"],
        false,
    ),
    (
        "baseline-fixed-rate",
        false,
        false,
        &["kd.enabled=false", "student.arch=fixed-rate"],
        true,
    ),
];

/// The augmentation of the `-aug` rows, declared before any of them ran (not tuned on folds).
pub const AUGMENT: &str = "train.augment={probability: 0.8, rotation_deg: 30, gain: 0.1}";

/// The wearer rows, each with and without KD: gyroscope dropout and the older adults' daily
/// living as extra negatives (`student-{kd,nokd}-wearer`), then the window-feature path (`-wf`,
/// the shipped student), then augmentation (`-wf-aug`).
fn wearer_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (suffix, extra) in [
        ("", &[][..]),
        ("-wf", &["student.window_features=true"][..]),
        ("-wf-aug", &["student.window_features=true", AUGMENT][..]),
    ] {
        for kd in [false, true] {
            let mut set = vec![
                if kd {
                    "student.time_mode=timestamps"
                } else {
                    "kd.enabled=false"
                },
                "train.gyro_dropout=0.5",
                "data.old_adults.train=true",
            ];
            set.extend_from_slice(extra);
            rows.push(Row {
                name: format!("student-{}-wearer{suffix}", if kd { "kd" } else { "nokd" }),
                teacher: false,
                features: false,
                kd,
                set: set.into_iter().map(String::from).collect(),
                default: false,
            });
        }
    }
    rows
}

/// Every row `fallkd loso` knows, in table order.
pub fn known_rows() -> Vec<Row> {
    let neural = KNOWN
        .iter()
        .map(|&(name, teacher, kd, set, default)| Row {
            name: name.into(),
            teacher,
            features: false,
            kd,
            set: set.iter().map(|s| s.to_string()).collect(),
            default,
        })
        .chain(wearer_rows());
    let features = FEATURE_ROWS.iter().map(|&(name, set, default)| Row {
        name: name.into(),
        teacher: false,
        features: true,
        kd: false,
        set: set.iter().map(|s| s.to_string()).collect(),
        default,
    });
    neural.chain(features).collect()
}

/// A distilled-student row from `NAME=KEY=VALUE;KEY=VALUE` (`--kd-row`).
pub fn parse_kd_row(spec: &str) -> Result<Row> {
    let (name, set) = parse_row_spec(
        "--kd-row",
        spec,
        "student-kd-posw4=train.loss={kind: bce, pos_weight: 4}",
    )?;
    Ok(Row {
        name,
        teacher: false,
        features: false,
        kd: true,
        set,
        default: false,
    })
}

/// A student row trained without distillation from `NAME=KEY=VALUE;KEY=VALUE` (`--student-row`):
/// `kd.enabled=false` comes first, so a row is the no-KD twin of a `--kd-row` with the same
/// overrides, and it does not wait for the fold's teacher.
pub fn parse_student_row(spec: &str) -> Result<Row> {
    let (name, set) = parse_row_spec(
        "--student-row",
        spec,
        "student-nokd-posw4=train.loss={kind: bce, pos_weight: 4}",
    )?;
    Ok(Row {
        name,
        teacher: false,
        features: false,
        kd: false,
        set: std::iter::once("kd.enabled=false".to_string())
            .chain(set)
            .collect(),
        default: false,
    })
}

/// A feature-model row from `NAME=KEY=VALUE;KEY=VALUE` (`--features-row`), trained by
/// `fallkd train-features` with these overrides on top of the base configuration (name the model
/// with `features.model`, as the built-in feature rows do).
pub fn parse_features_row(spec: &str) -> Result<Row> {
    let (name, set) = parse_row_spec(
        "--features-row",
        spec,
        "features-gbm-w6=features.model=gbm;window.length={by: duration, seconds: 6}",
    )?;
    Ok(Row {
        name,
        teacher: false,
        features: true,
        kd: false,
        set,
        default: false,
    })
}

/// The name and overrides of a custom row `NAME=KEY=VALUE;KEY=VALUE` given to `flag`.
fn parse_row_spec(flag: &str, spec: &str, example: &str) -> Result<(String, Vec<String>)> {
    let (name, sets) = spec.split_once('=').with_context(|| {
        format!("{flag} {spec:?}: expected NAME=KEY=VALUE[;KEY=VALUE...], e.g. {example}")
    })?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("{flag} {spec:?}: the name must be letters, digits, '-' or '_' (it names a folder)");
    }
    if known_rows().iter().any(|k| k.name == name) {
        bail!("{flag} {spec:?}: {name} is a built-in row; pick another name");
    }
    let set: Vec<String> = sets
        .split(';')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if set.is_empty() || set.iter().any(|s| !s.contains('=')) {
        bail!("{flag} {spec:?}: each override is KEY=VALUE, separated by ';'");
    }
    Ok((name.to_string(), set))
}

/// Selected rows, in table order, then the `--kd-row` ones, then the `--features-row` ones, then
/// the `--student-row` ones; an unknown name is an error listing the known ones.
pub fn select_rows(
    names: &[String],
    kd_rows: &[String],
    features_rows: &[String],
    student_rows: &[String],
) -> Result<Vec<Row>> {
    let known = known_rows();
    let mut rows: Vec<Row> = if names.is_empty() {
        known.into_iter().filter(|r| r.default).collect()
    } else {
        for n in names {
            if !known.iter().any(|r| &r.name == n) {
                bail!(
                    "--rows: unknown row {n:?}; known rows: {}",
                    known
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        known
            .into_iter()
            .filter(|r| names.contains(&r.name))
            .collect()
    };
    let custom = kd_rows
        .iter()
        .map(|spec| ("--kd-row", spec, parse_kd_row(spec)))
        .chain(
            features_rows
                .iter()
                .map(|spec| ("--features-row", spec, parse_features_row(spec))),
        )
        .chain(
            student_rows
                .iter()
                .map(|spec| ("--student-row", spec, parse_student_row(spec))),
        );
    for (flag, spec, r) in custom {
        let r = r?;
        if rows.iter().any(|x| x.name == r.name) {
            bail!("{flag} {spec:?}: the name {} is given twice", r.name);
        }
        rows.push(r);
    }
    if rows.iter().any(|r| r.kd) && !rows.iter().any(|r| r.teacher) {
        bail!("--rows: the KD rows need the teacher row (each fold distils from its own teacher)");
    }
    Ok(rows)
}

/// A study file (`fallkd loso --study FILE.yaml`, kd_config/studies/): its rows, in table order,
/// the paired tests "A beats B" and the ensembles. Unknown keys are refused, here and in every
/// row's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// The rows: a built-in row by its name alone, or a new row with its kind and configuration.
    pub rows: Vec<StudyRow>,
    /// Paired tests, each `[A, B]`: does row A beat row B (the default comparisons when empty).
    #[serde(default)]
    pub compare: Vec<[String; 2]>,
    /// Ensemble rows: name -> the rows whose fall probabilities it averages.
    #[serde(default)]
    pub ensembles: BTreeMap<String, Vec<String>>,
}

/// One row of a study file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyRow {
    /// The row's name (its folder in every fold).
    pub name: String,
    /// What it trains; absent for a built-in row.
    #[serde(default)]
    pub kind: Option<RowKind>,
    /// The row's configuration on top of the study's base configuration: a partial
    /// configuration file (the keys of kd_config/default.yaml), merged as a later `--config` is.
    #[serde(default)]
    pub config: Option<serde_yaml::Value>,
}

/// What a study row trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowKind {
    /// A student distilled from its fold's teacher (as `--kd-row`).
    KdStudent,
    /// A student without distillation (as `--student-row`: `kd.enabled: false` first).
    Student,
    /// A feature model (as `--features-row`; name it with `features.model`).
    Features,
}

/// `v` (a partial configuration) as `KEY=VALUE` overrides: one per leaf, where a mapping naming
/// its variant (a `kind:` or `by:` key) is a leaf, replaced whole as `--set` replaces it.
fn overrides_of(prefix: &str, v: &serde_yaml::Value, out: &mut Vec<String>) -> Result<()> {
    let tagged = |m: &serde_yaml::Mapping| TAGS.iter().any(|t| m.contains_key(*t));
    match v {
        serde_yaml::Value::Mapping(m) if prefix.is_empty() || !tagged(m) => {
            for (k, v) in m {
                let k = k
                    .as_str()
                    .with_context(|| format!("a key under {prefix:?} is not a string: {k:?}"))?;
                let key = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                };
                overrides_of(&key, v, out)?;
            }
        }
        _ if prefix.is_empty() => bail!("a row's config is a mapping of configuration keys"),
        v => {
            // One line: flow style for mappings and sequences.
            let value: String = if matches!(
                v,
                serde_yaml::Value::Mapping(_) | serde_yaml::Value::Sequence(_)
            ) {
                flow(v)
            } else {
                serde_yaml::to_string(v)?.trim().to_string()
            };
            out.push(format!("{prefix}={value}"));
        }
    }
    Ok(())
}

/// `v` in YAML's flow style on one line (`{kind: bce, pos_weight: 4}`).
fn flow(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::Mapping(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", flow(k), flow(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        serde_yaml::Value::Sequence(s) => {
            format!("[{}]", s.iter().map(flow).collect::<Vec<_>>().join(", "))
        }
        serde_yaml::Value::Tagged(t) => format!("!{} {}", t.tag, flow(&t.value)),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

impl Study {
    /// Reads and checks a study file: every row's configuration is loaded on top of `base`
    /// (files) and `sets` as its runs will load it, so an unknown key or a bad value is refused
    /// before anything trains, naming the row.
    pub fn load(path: &Path, base: &[std::path::PathBuf], sets: &[String]) -> Result<Study> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read study {}", path.display()))?;
        let study: Study = serde_yaml::from_str(&text)
            .with_context(|| format!("{} is not a study file", path.display()))?;
        let sources = RunConfig::read_sources(base)?;
        for (i, r) in study
            .rows()
            .with_context(|| format!("{}", path.display()))?
            .iter()
            .enumerate()
        {
            let all: Vec<String> = sets.iter().chain(&r.set).cloned().collect();
            RunConfig::from_texts(&sources, &all)
                .with_context(|| format!("{}: row {} ({})", path.display(), i + 1, r.name))?;
        }
        study
            .ensemble_rows()
            .with_context(|| format!("{}", path.display()))?;
        Ok(study)
    }

    /// The study's rows, built-in ones by name and new ones from their kind and configuration.
    pub fn rows(&self) -> Result<Vec<Row>> {
        let known = known_rows();
        let mut rows: Vec<Row> = Vec::new();
        for r in &self.rows {
            let row = match (r.kind, &r.config) {
                (None, None) => known
                    .iter()
                    .find(|k| k.name == r.name)
                    .cloned()
                    .with_context(|| {
                        format!(
                            "row {:?} is not a built-in row; a new row needs its kind and config (built-in: {})",
                            r.name,
                            known.iter().map(|k| k.name.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    })?,
                (Some(kind), Some(config)) => {
                    let mut set = Vec::new();
                    overrides_of("", config, &mut set)
                        .with_context(|| format!("row {}", r.name))?;
                    let spec = format!("{}={}", r.name, set.join(";"));
                    match kind {
                        RowKind::KdStudent => parse_kd_row(&spec)?,
                        RowKind::Student => parse_student_row(&spec)?,
                        RowKind::Features => parse_features_row(&spec)?,
                    }
                }
                _ => bail!("row {:?}: a new row has both a kind and a config; a built-in one neither", r.name),
            };
            if rows.iter().any(|x| x.name == row.name) {
                bail!("row {} is given twice", row.name);
            }
            rows.push(row);
        }
        if rows.iter().any(|r| r.kd) && !rows.iter().any(|r| r.teacher) {
            bail!("the KD rows need the teacher row (each fold distils from its own teacher)");
        }
        Ok(rows)
    }

    /// The paired tests as `(A, B)`.
    pub fn comparisons(&self) -> Vec<(String, String)> {
        self.compare
            .iter()
            .map(|[a, b]| (a.clone(), b.clone()))
            .collect()
    }

    /// The ensemble rows.
    pub fn ensemble_rows(&self) -> Result<Vec<Ensemble>> {
        self.ensembles
            .iter()
            .map(|(n, parts)| {
                Ensemble::parse(&format!("{n}={}", parts.join("+")))
                    .with_context(|| format!("ensemble {n}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("fallkd-study-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_study_file_gives_the_rows_its_flags_would() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let study = Study::load(&root.join("kd_config/study-example.yaml"), &[], &[]).unwrap();
        let rows = study.rows().unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "teacher",
                "student-nokd-wearer-wf",
                "student-kd-wearer-wf",
                "student-kd-wearer-wf-posw4",
                "features-gbm-wearer-w10"
            ]
        );
        let flags = parse_kd_row(
            "student-kd-wearer-wf-posw4=student.time_mode=timestamps;student.window_features=true;\
             train.gyro_dropout=0.5;train.loss={kind: bce, pos_weight: 4};data.old_adults.train=true",
        )
        .unwrap();
        assert_eq!(rows[3], flags);
        let features = parse_features_row(
            "features-gbm-wearer-w10=features.model=gbm;train.gyro_dropout=0.5;\
             data.old_adults.train=true;window.length={by: duration, seconds: 10}",
        )
        .unwrap();
        assert_eq!(rows[4], features);
        assert_eq!(study.comparisons()[0].0, "student-kd-wearer-wf-posw4");
        assert_eq!(study.ensemble_rows().unwrap()[0].parts.len(), 2);
    }

    #[test]
    fn unknown_keys_and_bad_rows_are_refused_naming_them() {
        let err = |text: &str| {
            format!(
                "{:#}",
                Study::load(&scratch("s.yaml", text), &[], &[]).unwrap_err()
            )
        };
        let e = err("rows: [{name: teacher}]\ncomparisons: []\n");
        assert!(e.contains("unknown field `comparisons`"), "{e}");
        let e = err("rows:\n  - name: x\n    kind: student\n    config: {train: {epoch: 3}}\n");
        assert!(e.contains("row 1 (x)") && e.contains("epoch"), "{e}");
        let e = err("rows: [{name: tacher}]\n");
        assert!(
            e.contains("not a built-in row") && e.contains("teacher"),
            "{e}"
        );
        let e = err("rows: [{name: teacher, kind: student}]\n");
        assert!(e.contains("both a kind and a config"), "{e}");
        let e = err("rows:\n  - name: k\n    kind: kd-student\n    config: {seed: 1}\n");
        assert!(e.contains("need the teacher row"), "{e}");
        let e = err("rows: [{name: teacher}]\nensembles: {e: [teacher]}\n");
        assert!(e.contains("ensemble e"), "{e}");
    }
}
