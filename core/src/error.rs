//! The one error type of the core crate: every fallible public function of `fallkd-core` returns
//! [`Error`], so that `?` carries it into `anyhow` (the CLI) or a `JsError` (the page) unchanged.

use std::fmt;

pub use crate::data::error::DataError;

/// What went wrong, by kind. `Display` gives the whole message (file, line, key, reason).
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A watch or skeleton file, or one line of it, cannot be used (names the file and line).
    Data(DataError),
    /// A setting is out of range: `key` names it as the configuration file writes it (for
    /// example `window.fall_stride` or, inside a model's configuration, `num_heads`).
    Config {
        /// The key.
        key: String,
        /// What is wrong with its value, completing the sentence "`key` ...".
        reason: String,
    },
    /// A tensor of the wrong shape reached a model.
    Shape(String),
    /// An exported model file cannot be read, checked or written.
    ModelFile(String),
    /// Scoring failed: results could not be read from the device, or were not finite.
    Inference(String),
    /// A request that cannot be met for another reason (a split without training subjects, a
    /// perturbation kind that does not exist, a feature matrix of the wrong width).
    Invalid(String),
}

/// `Result` with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A setting out of range.
    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The same error with `prefix` before its key (a model's `num_heads` read as
    /// `student.num_heads`); other kinds are returned unchanged.
    pub fn under(self, prefix: &str) -> Error {
        match self {
            Error::Config { key, reason } => Error::Config {
                key: format!("{prefix}{key}"),
                reason,
            },
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Data(e) => e.fmt(f),
            Error::Config { key, reason } => write!(f, "{key} {reason}"),
            Error::Shape(m) | Error::ModelFile(m) | Error::Inference(m) | Error::Invalid(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<DataError> for Error {
    fn from(e: DataError) -> Self {
        Error::Data(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences_and_keys_take_their_section() {
        let e = Error::config("num_heads", "(3) must divide embed_dim (48)");
        assert_eq!(e.to_string(), "num_heads (3) must divide embed_dim (48)");
        let e = e.under("student.");
        assert_eq!(
            e,
            Error::Config {
                key: "student.num_heads".into(),
                reason: "(3) must divide embed_dim (48)".into()
            }
        );
        let d = Error::from(DataError::line(
            "a.csv",
            3,
            "column 2 ('x') is not a number",
        ));
        assert_eq!(d.to_string(), "a.csv:3: column 2 ('x') is not a number");
        assert_eq!(Error::Shape("s".into()).under("x.").to_string(), "s");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(d);
        assert!(boxed.to_string().starts_with("a.csv:3"));
    }
}
