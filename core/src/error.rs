//! The one error type of the core crate: every fallible public function of `fallkd-core` returns
//! [`Error`], so that `?` carries it into `anyhow` (the CLI) or a `JsError` (the page) unchanged.

use std::fmt;

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

    /// `num_heads` attention heads must split `embed_dim` evenly (and be at least one).
    pub fn check_heads(num_heads: usize, embed_dim: usize) -> Result<(), Error> {
        if num_heads == 0 || !embed_dim.is_multiple_of(num_heads) {
            return Err(Error::config(
                "num_heads",
                format!("({num_heads}) must divide embed_dim ({embed_dim})"),
            ));
        }
        Ok(())
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

/// A file (or one line of it) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// File name as given by the caller (path or upload name).
    pub file: String,
    /// 1-based line, when the problem is on one line.
    pub line: Option<usize>,
    /// What is wrong and, where possible, what to do about it.
    pub reason: String,
}

impl DataError {
    /// An error about the whole file.
    pub fn file(file: &str, reason: impl Into<String>) -> Self {
        DataError {
            file: file.to_string(),
            line: None,
            reason: reason.into(),
        }
    }

    /// An error on one line.
    pub fn line(file: &str, line: usize, reason: impl Into<String>) -> Self {
        DataError {
            file: file.to_string(),
            line: Some(line),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for DataError {}

/// The bytes of a CSV file as text, without a byte-order mark; non-UTF-8 input is an error.
pub fn csv_text<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, DataError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        DataError::file(
            file,
            format!(
                "not UTF-8 text (byte {}): is this a CSV file?",
                e.valid_up_to()
            ),
        )
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
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
