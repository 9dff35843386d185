//! Nothing to export: this crate only holds the workspace's cross-cutting tests.
