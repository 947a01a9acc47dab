/// This build's release, printed by `suifang --version` next to the sync protocol versions it
/// speaks and the policy set's hash. Raised with each release.
package enum NodeRelease {
    package static let version = "0.14.0"
}
