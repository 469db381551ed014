//! Files that appear complete or not at all: written to a temporary file beside the target and
//! renamed over it (special files such as `/dev/null` or a FIFO are written in place). Used by
//! every writer: tables, JSON, model weights, genosift.json; model directories are moved into
//! place whole ([`replace_dir`]).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Whether `path` is something other than a regular file that already exists (`/dev/null`, a
/// FIFO, `/dev/stdout`): written in place, since renaming over it would replace it.
pub(crate) fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename);
/// special files (`/dev/null`, FIFOs) are written in place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if is_special(path) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all(bytes);
    }
    let dir = parent_dir(path);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    make_readable(tmp.as_file())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Moves the complete directory `dir` to `out`, replacing any `out`: the old one is renamed aside
/// first and put back if the move fails. `dir` must be on `out`'s file system.
pub fn replace_dir(dir: &Path, out: &Path) -> io::Result<()> {
    let fail = |e: io::Error, what: &str| {
        io::Error::new(e.kind(), format!("cannot {what} {}: {e}", out.display()))
    };
    if !out.exists() {
        return std::fs::rename(dir, out).map_err(|e| fail(e, "create"));
    }
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    let old = parent_dir(out).join(format!(".genosift-old-{name}"));
    let _ = std::fs::remove_dir_all(&old);
    std::fs::rename(out, &old).map_err(|e| fail(e, "replace"))?;
    if let Err(e) = std::fs::rename(dir, out) {
        let _ = std::fs::rename(&old, out);
        return Err(fail(e, "replace"));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Temporary files are created 0600; results are for sharing: 0644 (as a plain create would, under
/// the usual umask).
pub(crate) fn make_readable(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
