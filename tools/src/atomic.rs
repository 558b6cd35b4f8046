//! Writing a file so that it either appears whole or not at all.
//!
//! Every output of bonemask goes to a temporary file in the destination's own folder and is
//! renamed into place only once it is complete, so a failing or interrupted run never leaves a
//! truncated output behind. This module owns that mechanism and nothing else.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A finished temporary file waiting to be renamed to its destination.
///
/// Dropping a `Staged` without calling [`Staged::commit`] deletes the temporary file, so an
/// error anywhere before the commit leaves nothing on disk.
#[derive(Debug)]
pub struct Staged {
    temp: NamedTempFile,
    dest: PathBuf,
}

impl Staged {
    /// The path the file will have once committed.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Renames the temporary file to its destination, replacing any file already there.
    pub fn commit(self) -> io::Result<PathBuf> {
        let dest = self.dest;
        self.temp.persist(&dest).map_err(|e| e.error)?;
        Ok(dest)
    }
}

/// Writes a file's full contents through `fill` into a temporary file beside `dest`, flushes
/// and syncs it, and returns it staged for [`Staged::commit`].
///
/// `fill` receives a buffered writer; any error it returns is passed through and the temporary
/// file is removed.
pub fn stage<E, F>(dest: &Path, fill: F) -> Result<Staged, E>
where
    E: From<io::Error>,
    F: FnOnce(&mut dyn Write) -> Result<(), E>,
{
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".bonemask-")
        .suffix(".part")
        .tempfile_in(dir)?;
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        fill(&mut writer)?;
        writer.flush()?;
    }
    // tempfile creates files readable by the owner only; outputs are ordinary files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    temp.as_file().sync_all()?;
    Ok(Staged {
        temp,
        dest: dest.to_path_buf(),
    })
}

/// Writes `dest` atomically: [`stage`] then [`Staged::commit`].
pub fn write_atomically<E, F>(dest: &Path, fill: F) -> Result<PathBuf, E>
where
    E: From<io::Error>,
    F: FnOnce(&mut dyn Write) -> Result<(), E>,
{
    Ok(stage(dest, fill)?.commit()?)
}

/// Commits every staged file, or none: if a rename fails, the files already renamed by this
/// call are removed again and the error is returned.
pub fn commit_all(staged: Vec<Staged>) -> io::Result<Vec<PathBuf>> {
    let mut done: Vec<PathBuf> = Vec::with_capacity(staged.len());
    for file in staged {
        match file.commit() {
            Ok(path) => done.push(path),
            Err(e) => {
                for path in &done {
                    // Best effort: the original error is the one worth reporting.
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let r: Result<PathBuf, io::Error> = write_atomically(&dest, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("simulated failure"))
        });
        assert!(r.is_err());
        assert!(!dest.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file left"
        );
    }

    #[test]
    fn commit_writes_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        write_atomically::<io::Error, _>(&dest, |w| w.write_all(b"hello")).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
