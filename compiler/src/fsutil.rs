//! Writing output files safely: a temporary file in the same directory, then a rename, so that
//! an interrupted or failed run never leaves a partial file under the final name; outputs that
//! belong together ([`OutputSet`]) all appear or none do; and the one error every crate reports
//! an unwritable output with.
//!
//! The rule for every command: an output **file** goes into a folder that exists — checked with
//! [`check_output_file`] before any work, refused as a bad argument when it does not exist or
//! cannot be written — while an output **directory** (a design, a build, a dump) is created
//! with its parents.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An output that cannot be written: a folder named by the arguments that is missing or not
/// writable (a bad argument, [`OutputError::is_bad_path`]), or a failure of the machine while
/// writing (a full disk).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum OutputError {
    /// An output file's folder is missing or cannot be written, found before any work.
    #[error("{}: cannot write there: {reason}", path.display())]
    #[diagnostic(
        code(xnorc::output_folder),
        help("output files go into existing, writable folders; create the folder first (an output directory such as `build --out` is created for you)")
    )]
    Folder {
        /// The output file.
        path: PathBuf,
        /// Why: the folder does not exist, is not a folder, or refuses a file.
        reason: String,
    },
    /// A directory cannot be created.
    #[error("{}: cannot create: {source}", path.display())]
    #[diagnostic(code(xnorc::io))]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file cannot be written.
    #[error("{}: cannot write: {source}", path.display())]
    #[diagnostic(code(xnorc::io))]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl OutputError {
    /// True when the arguments named an unusable place (exit code 2): a file's folder that is
    /// missing or refuses files, or a directory that cannot be created there (its parent is
    /// read-only, or a file); false when the machine failed while writing.
    pub fn is_bad_path(&self) -> bool {
        matches!(
            self,
            OutputError::Folder { .. } | OutputError::CreateDir { .. }
        )
    }
}

/// The folder `path` is written into (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks, before any work, that `path` can be written: its folder exists, is a folder, and
/// takes a new file (probed by creating and removing one, which also catches read-only file
/// systems and permissions the metadata alone would not show).
pub fn check_output_file(path: &Path) -> Result<(), OutputError> {
    let folder = folder_of(path);
    let refuse = |reason: String| OutputError::Folder {
        path: path.to_path_buf(),
        reason,
    };
    if path.file_name().is_none() || path.is_dir() {
        return Err(refuse("it is a folder, not a file name".into()));
    }
    match std::fs::metadata(&folder) {
        Err(_) => {
            return Err(refuse(format!(
                "the folder {} does not exist",
                folder.display()
            )))
        }
        Ok(m) if !m.is_dir() => {
            return Err(refuse(format!("{} is not a folder", folder.display())))
        }
        Ok(_) => {}
    }
    let probe = folder.join(format!(".xnorc-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(refuse(format!(
            "the folder {} takes no new file: {e}",
            folder.display()
        ))),
    }
}

/// Output files written together: each is staged in a temporary file beside its final name,
/// and [`OutputSet::commit`] renames them all, so a failure while writing any leaves none
/// (dropping an uncommitted set removes what it staged).
#[derive(Default)]
pub struct OutputSet {
    /// (temporary file, final name) of every staged output.
    staged: Vec<(PathBuf, PathBuf)>,
}

impl OutputSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `bytes` to a temporary file beside `path`.
    pub fn add(&mut self, path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
        let tmp = stage(path, bytes).map_err(|source| OutputError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        self.staged.push((tmp, path.to_path_buf()));
        Ok(())
    }

    /// Moves every staged file to its final name.
    pub fn commit(mut self) -> Result<(), OutputError> {
        for (tmp, path) in std::mem::take(&mut self.staged) {
            std::fs::rename(&tmp, &path).map_err(|source| {
                let _ = std::fs::remove_file(&tmp);
                OutputError::Write {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        for (tmp, _) in &self.staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes `bytes`, synced, to the temporary file `path` is staged under — hidden, in the same
/// folder (so the rename is atomic), unique to this process — and returns its name; on failure
/// nothing is left behind.
fn stage(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("output path has no file name"))?;
    let tmp = folder_of(path).join(format!(
        ".{}.tmp{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` atomically ([`write_atomic`]).
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_atomic(path, bytes).map_err(|source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` atomically (temporary file + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = stage(path, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
