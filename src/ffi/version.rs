//! `te_version` and the version macros.

use std::ffi::c_char;

/// Major version of this header (the library's is in te_version()).
pub const TE_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const TE_VERSION_MINOR: u32 = 2;
/// Patch version of this header.
pub const TE_VERSION_PATCH: u32 = 0;

/// The library's version, "MAJOR.MINOR.PATCH", matching the TE_VERSION_* macros of
/// the header it was built with. Static: never NULL, never freed. Thread-safe.
#[no_mangle]
pub extern "C" fn te_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_match_cargo_toml() {
        let parse = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(TE_VERSION_MAJOR, parse(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(TE_VERSION_MINOR, parse(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(TE_VERSION_PATCH, parse(env!("CARGO_PKG_VERSION_PATCH")));
        // SAFETY: a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(te_version()) };
        assert_eq!(v.to_str().unwrap(), format!("{TE_VERSION_MAJOR}.{TE_VERSION_MINOR}.{TE_VERSION_PATCH}"));
    }
}
