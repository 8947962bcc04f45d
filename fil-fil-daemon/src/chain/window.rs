//! The snapshot window: which heights of a chain get their messages and parent
//! state exported. These are the two predicates of Lotus `WalkSnapshot`, kept as a
//! small pure type so the export walk, validation and the daemon's window
//! maintenance all apply the same rule.

/// Window parameters of one export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotWindow {
    /// Height of the exported head tipset.
    pub head_height: i64,
    /// `--recent-stateroots`: how many epochs back state (and, with
    /// `skip_old_msgs`, messages) are kept.
    pub depth: i64,
    /// Drop messages of blocks older than the window (Lotus `--skip-old-msgs`).
    pub skip_old_msgs: bool,
}

impl SnapshotWindow {
    /// True when a block at `height` has its message DAG exported.
    pub fn messages_in_window(&self, height: i64) -> bool {
        !self.skip_old_msgs || self.is_recent(height)
    }

    /// True when a block at `height` has its parent-state DAG exported. Genesis
    /// state is always part of a snapshot.
    pub fn state_in_window(&self, height: i64) -> bool {
        height == 0 || self.is_recent(height)
    }

    /// Lotus: `b.Height > ts.Height() - inclRecentRoots`, saturating so absurd
    /// depths mean "everything".
    fn is_recent(&self, height: i64) -> bool {
        height > self.head_height.saturating_sub(self.depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_zero_keeps_only_genesis_state() {
        let w = SnapshotWindow {
            head_height: 39,
            depth: 0,
            skip_old_msgs: false,
        };
        assert!(w.state_in_window(0));
        assert!(!w.state_in_window(39));
        assert!(w.messages_in_window(1));
    }

    #[test]
    fn depth_counts_back_from_head_exclusive() {
        let w = SnapshotWindow {
            head_height: 100,
            depth: 10,
            skip_old_msgs: true,
        };
        assert!(w.state_in_window(91) && w.messages_in_window(91));
        assert!(!w.state_in_window(90) && !w.messages_in_window(90));
        assert!(w.state_in_window(0) && !w.messages_in_window(0));
        let all = SnapshotWindow {
            depth: i64::MAX,
            ..w
        };
        assert!(all.state_in_window(1) && all.messages_in_window(1));
    }
}
