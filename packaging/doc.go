// Package packaging holds the Debian packaging (deb/: build.sh, the
// maintainer scripts, install-test.sh) and the test that builds the
// packages, runs lintian on them and installs, upgrades and purges them
// (README.md here). The package has no code; it exists so go test runs
// those checks with the rest of the tree.
package packaging
