//! The listen secret: `--secret`, else the one kept in `$XDG_CONFIG_HOME/inlet/listen-secret`
//! (`~/.config/…` without the variable), made at the first start (`whsec_` and 32 random
//! bytes in base64) and written with mode 0600, so the app's configured secret stays
//! valid from one run to the next.

use std::path::PathBuf;

use base64::Engine;

/// Where the secret is kept.
pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("inlet").join("listen-secret"))
}

/// Where the secret came from, for the header.
pub enum Origin {
    Given,
    Kept(PathBuf),
    Made(PathBuf),
}

/// The secret to sign with and where it came from.
pub fn load(given: Option<&str>) -> Result<(String, Origin), String> {
    if let Some(secret) = given {
        return Ok((secret.to_string(), Origin::Given));
    }
    let path = path().ok_or("neither XDG_CONFIG_HOME nor HOME is set: give --secret")?;
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok((text.trim().to_string(), Origin::Kept(path))),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
    );
    write(&path, &secret).map_err(|e| format!("cannot keep the secret in {}: {e}", path.display()))?;
    Ok((secret, Origin::Made(path)))
}

fn write(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")
}
