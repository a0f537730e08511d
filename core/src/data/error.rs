//! Errors that name the file, the line and the reason, and say what to do.

use std::fmt;

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
