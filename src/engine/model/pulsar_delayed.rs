//! Pulsar's delayed delivery on shared and key_shared subscriptions
//! (`deliverAfter`, retry-letter delays), as the broker's in-memory tracker
//! keeps it (`InMemoryDelayedDeliveryTracker`; split from
//! `pulsar_dispatch.rs`, which moves a message aside when it reads one not
//! yet due, and `pulsar_acks.rs`).
//!
//!   read, deliverAt > now + tick ──► delayed ──p_delayed_timer──► DelayedDue at the earliest deliverAt
//!   DelayedDue ──► everything due by now + tick (the non-strict cutoff) ──► replay ──► dispatch
//!   any dispatch with permits ──► the same release first (`p_release_due`)
//!
//! Guarantees: the timer runs at the earliest deliverAt, never sooner than a
//! tick after it last ran (`updateTimer`); a cancelled timer (one set again
//! for another time) does nothing when its agenda entry comes up; no
//! delayed message is left without a timer.

use super::pulsar::Pos;
use super::pulsar::PulsarEvent;
use crate::engine::core::{Engine, Event};

/// `delayedDeliveryTickTimeMillis` default.
pub(crate) const DELAYED_TICK_US: u64 = 1_000_000;

impl Engine {
    /// Set the delayed-delivery tracker's timer as Pulsar's `updateTimer`
    /// does: for the earliest `deliverAt`, but not sooner than one tick
    /// after the timer last ran; left alone when already set for that time.
    /// (Pulsar sets none for a message already due, which its dispatcher's
    /// next read picks up; only the timer releases one here, so that one's
    /// timer is now: never the case, as a message is tracked only when due
    /// more than a tick ahead, but nothing can be stranded.)
    pub(crate) fn p_delayed_timer(&mut self, s: u32) {
        let now_us = self.now.0;
        let st = &mut self.pulsar.subs[s as usize];
        let Some(&(at, _)) = st.delayed.first() else {
            st.delayed_timer = None;
            return;
        };
        let not_before = st
            .delayed_last_tick_us
            .map_or(0, |t| t.saturating_add(DELAYED_TICK_US));
        let fire_us = at.max(not_before).max(now_us);
        if st.delayed_timer == Some(fire_us) {
            return;
        }
        st.delayed_timer = Some(fire_us);
        self.agenda.schedule(
            crate::engine::time::SimTime(fire_us),
            Event::Pulsar(PulsarEvent::DelayedDue { s }),
        );
    }

    /// A dispatcher read (`readMoreEntries`, here every dispatch of a
    /// shared or key_shared subscription that some consumer has permits
    /// for) takes what the tracker has due within a tick
    /// (`getScheduledMessages`, the non-strict cutoff), whether or not the
    /// timer ran: under steady traffic a delayed message goes out at the
    /// first read within a tick of its deliverAt.
    pub(crate) fn p_release_due(&mut self, s: u32) {
        let si = s as usize;
        let cutoff = self.now.0.saturating_add(DELAYED_TICK_US);
        let mut moved = false;
        while let Some(&(at, pos)) = self.pulsar.subs[si].delayed.first() {
            if at > cutoff {
                break;
            }
            self.pulsar.subs[si].delayed.pop_first();
            self.p_replay_due(s, pos);
            moved = true;
        }
        if moved {
            self.p_delayed_timer(s);
        }
    }

    /// The delayed-delivery tracker's timer runs: every message due within
    /// a tick from now goes out (the non-strict cutoff), then the timer is
    /// set for the next one.
    pub(crate) fn p_delayed_due(&mut self, s: u32) {
        let si = s as usize;
        let now = self.now.0;
        let st = &mut self.pulsar.subs[si];
        if st.delayed_timer != Some(now) {
            return; // a timer cancelled by a later `updateTimer`
        }
        st.delayed_timer = None;
        st.delayed_last_tick_us = Some(now);
        let cutoff = now.saturating_add(DELAYED_TICK_US);
        while let Some(&(at, pos)) = self.pulsar.subs[si].delayed.first() {
            if at > cutoff {
                break;
            }
            self.pulsar.subs[si].delayed.pop_first();
            self.p_replay_due(s, pos);
        }
        self.p_delayed_timer(s);
        self.p_dispatch(s);
    }

    /// A delayed message now due goes to the replay set, unless it was
    /// settled meanwhile (a backlog eviction acknowledges messages still in
    /// the tracker, and the topic may then have deleted them): the replay
    /// set holds only stored messages still owed (`check_pulsar`).
    fn p_replay_due(&mut self, s: u32, pos: Pos) {
        if !self.p_settled(s, pos) && self.p_log(s, pos.0).get(pos.1).is_some() {
            self.p_replay_add(s, pos);
        }
    }
}
