//! One module per ordering scheme. Each type parses with `parse`, keeps the original
//! string, and implements `Ord` by its ecosystem's reference algorithm (cited in the
//! module's documentation).

mod alpine;
mod debian;
mod maven;
mod packagist;
mod pypi;
mod rpm;
mod rubygems;
mod semver;

pub use alpine::AlpineVersion;
pub use debian::DebianVersion;
pub use maven::MavenVersion;
pub use packagist::PackagistVersion;
pub use pypi::PyPIVersion;
pub use rpm::RpmVersion;
pub use rubygems::RubyGemsVersion;
pub use semver::{NuGetVersion, SemVerVersion};
