//! Inspector panels of the other brokers, with their live knobs:
//!
//!   Redis Pub/Sub server   output-buffer limits (hard, soft, soft seconds)
//!   Redis subscriber       disconnect / reconnect, (P)SUBSCRIBE / (P)UNSUBSCRIBE
//!   Redis stream           MAXLEN
//!   Redis group            min-idle-time (XAUTOCLAIM), crash consumer cN
//!   Pulsar topic           counters
//!   Pulsar subscription    crash / restart consumer cN, ackTimeout, negative-ack delay
//!   SQS queue / consumer   visibility timeout, ChangeMessageVisibility, redrive;
//!                          WaitTimeSeconds, MaxNumberOfMessages
//!
//! Every control sends one engine `Command` (`Msg::Cmd`, or `Msg::Knob` for a
//! typed field, whose parse error names the field), so it is logged, replayed
//! by rewind and carried by share links; each has a stable id for tests.

use super::inspector_stream::input_value;
use super::{App, Msg};
use crate::engine::view_pulsar::{log_names, PulsarSubscriptionView, PulsarTopicView};
use crate::engine::view_redis::{
    RedisGroupView, RedisPubSubView, RedisStreamView, RedisSubscriberView,
};
use crate::engine::{Command, NodeView};
use crate::scenario::{Consumer, Duration};
use crate::ui::knobs_broker as kb;
use web_sys::HtmlInputElement;
use yew::html::Scope;
use yew::prelude::*;
use yew::TargetCast;

/// A consumer's state word (also its row's `data-state`).
fn state_word(up: bool, busy: bool) -> &'static str {
    if !up {
        "crashed"
    } else if busy {
        "busy"
    } else {
        "up"
    }
}

/// Seconds as a field shows them (`30`, `0.5`).
fn secs(us: u64) -> String {
    format!("{}", us as f64 / 1e6)
}

/// The crash point a `…-crash-point` select holds: after the effect or now.
fn after_effect(select_id: &str) -> bool {
    input_value(select_id) == "after_effect"
}

/// Field `id`'s text, or `now` when it is blank.
fn or_now(id: &str, now: &str) -> String {
    let v = input_value(id);
    if v.trim().is_empty() {
        now.to_string()
    } else {
        v
    }
}

/// The counter rows of a node (the text the picture shows, in full).
fn rows(nv: &NodeView) -> Html {
    rows_except(nv, &[])
}

/// The counter rows but those labelled `skip` (shown above them already).
fn rows_except(nv: &NodeView, skip: &[&str]) -> Html {
    html! {
        <dl class="stats">
            { for nv.broker_text().into_iter().flat_map(|r| r.rows).filter(|(k, _)| !skip.contains(k)).map(|(k, v)| html! {
                <><dt>{ k }</dt><dd>{ v }</dd></>
            }) }
        </dl>
    }
}

/// A text field that sends `f(text)` when changed (Enter or leaving it).
fn text_knob(
    link: &Scope<App>,
    id: &'static str,
    label: String,
    value: String,
    f: impl Fn(&str) -> Result<Command, String> + 'static,
) -> Html {
    html! {
        <div class="knob">
            <label for={id}>{ label }</label>
            <input id={id} type="text" value={value}
                onchange={link.callback(move |e: Event| Msg::Knob(f(&e.target_unchecked_into::<HtmlInputElement>().value())))} />
        </div>
    }
}

impl App {
    /// The panel of a Redis or Pulsar node (`None` for every other kind).
    pub(super) fn broker_panel(&self, link: &Scope<Self>, nv: &NodeView) -> Option<Html> {
        Some(match nv {
            NodeView::RedisPubSub(x) => self.redis_pubsub_panel(link, nv, x),
            NodeView::RedisSubscriber(s) => self.redis_subscriber_panel(link, nv, s),
            NodeView::RedisStream(s) => self.redis_stream_panel(link, nv, s),
            NodeView::RedisGroup(g) => self.redis_group_panel(link, g),
            NodeView::PulsarTopic(t) => self.pulsar_topic_panel(t),
            NodeView::PulsarSubscription(s) => self.pulsar_subscription_panel(link, s),
            _ => return None,
        })
    }

    /// Redis server: PUBLISH counters and the pubsub output-buffer limits.
    fn redis_pubsub_panel(&self, link: &Scope<Self>, nv: &NodeView, x: &RedisPubSubView) -> Html {
        let server = x.id.clone();
        // The fields carry no `value` (a re-render would reset what is typed):
        // a blank field keeps the limit it shows as its placeholder.
        let (hard, soft, soft_s) = (
            x.hard_bytes.to_string(),
            x.soft_bytes.to_string(),
            secs(x.soft_us),
        );
        html! {
            <>
            { rows(nv) }
            <h3>{"Knobs"}</h3>
            <p class="hint">{"client-output-buffer-limit pubsub: a subscriber whose buffer passes the hard limit, or stays above the soft limit for the soft time, is disconnected. Sizes in bytes or with kb, mb, gb; a blank field keeps its value."}</p>
            <div class="knob three" id="redis-limit">
                <div>
                    <label for="redis-hard-limit">{"hard limit"}</label>
                    <input id="redis-hard-limit" type="text" placeholder={x.hard_bytes.to_string()} />
                </div>
                <div>
                    <label for="redis-soft-limit">{"soft limit"}</label>
                    <input id="redis-soft-limit" type="text" placeholder={x.soft_bytes.to_string()} />
                </div>
                <div>
                    <label for="redis-soft-time">{"soft time, s"}</label>
                    <input id="redis-soft-time" type="text" placeholder={secs(x.soft_us)} />
                </div>
            </div>
            <div class="knob">
                <button class="btn" id="redis-set-limit" onclick={link.callback(move |_| Msg::Knob(kb::output_buffer_limit(
                    &server, &or_now("redis-hard-limit", &hard), &or_now("redis-soft-limit", &soft), &or_now("redis-soft-time", &soft_s))))}>
                    {"Set the limits (CONFIG SET)"}</button>
            </div>
            </>
        }
    }

    /// Redis subscriber: its connection and its subscriptions.
    fn redis_subscriber_panel(
        &self,
        link: &Scope<Self>,
        nv: &NodeView,
        s: &RedisSubscriberView,
    ) -> Html {
        let (s1, s2, s3, s4, s5) = (
            s.id.clone(),
            s.id.clone(),
            s.id.clone(),
            s.id.clone(),
            s.id.clone(),
        );
        let connected = s.connected;
        html! {
            <>
            <dl class="stats">
                <dt>{"state"}</dt>
                <dd id="redis-connected" data-connected={connected.to_string()}>{ if connected { "connected" } else { "away (disconnected)" } }</dd>
                <dt>{"server"}</dt><dd>{ s.server.clone() }</dd>
                <dt>{"subscribed to"}</dt>
                <dd id="redis-channels">{ s.channels.iter().chain(s.patterns.iter()).cloned().collect::<Vec<_>>().join(" ") }</dd>
            </dl>
            { rows_except(nv, &["connected", "channels", "patterns"]) }
            <h3>{"Knobs"}</h3>
            <div class="knob row">
                <button class="btn danger" id="redis-disconnect" disabled={!connected}
                    title="The connection drops: its output buffer and the message it is handling are lost; it misses everything published until it reconnects"
                    onclick={link.callback(move |_| Msg::Cmd(Some(Command::DisconnectSubscriber { subscriber: s1.clone(), reconnect_after: None })))}>{"Disconnect"}</button>
                <button class="btn danger" id="redis-disconnect-3s" disabled={!connected}
                    onclick={link.callback(move |_| Msg::Cmd(Some(Command::DisconnectSubscriber { subscriber: s2.clone(), reconnect_after: Some(Duration::from_s(3)) })))}>{"Disconnect for 3 s"}</button>
                <button class="btn primary" id="redis-reconnect" disabled={connected}
                    onclick={link.callback(move |_| Msg::Cmd(Some(Command::ReconnectSubscriber { subscriber: s3.clone() })))}>{"Reconnect"}</button>
            </div>
            <div class="knob">
                <label for="redis-channel">{"Channel, or pattern with * ? [ ]"}</label>
                <div class="row">
                    <input id="redis-channel" type="text" maxlength="255" placeholder="orders.eu" />
                    <button class="btn" id="redis-subscribe" onclick={link.callback(move |_| Msg::Knob(kb::subscription(&s4, &input_value("redis-channel"), true)))}>{"Subscribe"}</button>
                    <button class="btn" id="redis-unsubscribe" onclick={link.callback(move |_| Msg::Knob(kb::subscription(&s5, &input_value("redis-channel"), false)))}>{"Unsubscribe"}</button>
                </div>
            </div>
            </>
        }
    }

    /// Redis stream: length, ids and the MAXLEN knob.
    fn redis_stream_panel(&self, link: &Scope<Self>, nv: &NodeView, s: &RedisStreamView) -> Html {
        let id = s.id.clone();
        html! {
            <>
            { rows(nv) }
            <h3>{"Knobs"}</h3>
            { text_knob(link, "redis-maxlen", "MAXLEN for later XADDs (blank or off = no trimming)".into(),
                s.maxlen.map(|n| n.to_string()).unwrap_or_else(|| "off".into()),
                move |t| kb::set_maxlen(&id, t)) }
            </>
        }
    }

    /// Redis group: PEL, lag, claiming, and its consumers with crash buttons.
    fn redis_group_panel(&self, link: &Scope<Self>, g: &RedisGroupView) -> Html {
        let id = g.id.clone();
        let crash = |c: u32, up: bool| {
            let group = g.id.clone();
            html! {
                <button class="btn small danger" id={format!("redis-crash-c{c}")} disabled={!up}
                    onclick={link.callback(move |_| Msg::Cmd(Some(Command::CrashStreamConsumer {
                        group: group.clone(), consumer: c, after_effect: after_effect("redis-crash-point"),
                        restart_after: Some(Duration::from_s(3)),
                    })))}>{"crash"}</button>
            }
        };
        html! {
            <>
            <dl class="stats">
                <dt>{"stream"}</dt><dd>{ g.stream.clone() }</dd>
                <dt>{"last delivered id"}</dt><dd>{ g.last_delivered_id.clone() }</dd>
                <dt>{"pending (PEL)"}</dt><dd id="redis-pending">{ g.pending }</dd>
                <dt>{"lag"}</dt><dd>{ g.lag }</dd>
                <dt>{"delivered"}</dt><dd>{ g.delivered }</dd>
                <dt>{"acked"}</dt><dd>{ g.acked }</dd>
                <dt>{"claimed"}</dt><dd id="redis-claimed">{ g.claimed }</dd>
                <dt>{"claimed but deleted"}</dt><dd>{ g.claim_deleted }</dd>
                <dt>{"min-idle-time"}</dt><dd id="redis-min-idle-now">{ g.min_idle_us.map_or("off".into(), |us| format!("{} ms", us as f64 / 1e3)) }</dd>
            </dl>
            <h3>{"Knobs"}</h3>
            { text_knob(link, "redis-min-idle", "XAUTOCLAIM min-idle-time, ms (blank or off = no claiming)".into(),
                g.min_idle_us.map(|us| format!("{}", us as f64 / 1e3)).unwrap_or_else(|| "off".into()),
                move |t| kb::set_min_idle_time(&id, t)) }
            <div class="knob">
                <label for="redis-crash-point">{"A consumer crashes (its entry stays pending; back after 3 s)"}</label>
                <select id="redis-crash-point">
                    <option value="now" selected=true>{"now"}</option>
                    <option value="after_effect">{"after its effect, before XACK"}</option>
                </select>
            </div>
            <h3>{"Consumers"}</h3>
            <ul class="consumers" id="redis-consumers">
                { for g.consumers.iter().enumerate().map(|(c, cv)| {
                    let st = state_word(cv.up, cv.busy);
                    html! {
                        <li data-consumer={cv.name.clone()} data-state={st}>
                            <b>{ cv.name.clone() }</b>
                            <span class={classes!("state", st)}>{ st }</span>
                            <span class="counts">{ format!("pending {} · done {}", cv.pending, cv.processed) }</span>
                            { crash(c as u32, cv.up) }
                        </li>
                    }
                }) }
            </ul>
            </>
        }
    }

    /// Pulsar topic: what it stores and what the backlog quota did.
    fn pulsar_topic_panel(&self, t: &PulsarTopicView) -> Html {
        let subs: Vec<String> = self
            .snap
            .nodes
            .iter()
            .filter_map(|n| match n {
                NodeView::PulsarSubscription(s) if s.topic == t.id => {
                    Some(format!("{} ({})", s.id, s.sub_type))
                }
                _ => None,
            })
            .collect();
        html! {
            <>
            <dl class="stats">
                <dt>{"partitions"}</dt><dd>{ if t.partitions == 0 { "non-partitioned".to_string() } else { t.partitions.to_string() } }</dd>
                <dt>{"stored now"}</dt><dd id="pulsar-stored-now">{ t.stored_now }</dd>
                <dt>{"stored"}</dt><dd>{ t.stored }</dd>
                <dt>{"deleted"}</dt><dd>{ t.deleted }</dd>
                <dt>{"held by backlog quota"}</dt><dd>{ t.held }</dd>
                <dt>{"refused or timed out"}</dt><dd>{ t.refused }</dd>
                <dt>{"subscriptions"}</dt><dd id="pulsar-topic-subs">{ subs.join(", ") }</dd>
            </dl>
            <p class="hint">{"Each subscription has its own cursor: click one to crash its consumers or change its timers."}</p>
            </>
        }
    }

    /// Pulsar subscription: cursor and counters, its consumers, its timers.
    fn pulsar_subscription_panel(&self, link: &Scope<Self>, s: &PulsarSubscriptionView) -> Html {
        let (ack_us, nack_us) = self
            .sim
            .engine
            .pulsar_timers_us(&s.id)
            .unwrap_or((None, 60_000_000));
        let (i1, i2, i3) = (s.id.clone(), s.id.clone(), s.id.clone());
        // One button per consumer: crash while it is up, restart once crashed.
        let button = |c: u32, up: bool| {
            let sub = s.id.clone();
            if up {
                html! {
                    <button class="btn small danger" id={format!("pulsar-crash-c{c}")}
                        onclick={link.callback(move |_| Msg::Cmd(Some(Command::CrashPulsarConsumer {
                            subscription: sub.clone(), consumer: c, after_effect: after_effect("pulsar-crash-point"), restart_after: None,
                        })))}>{"crash"}</button>
                }
            } else {
                html! {
                    <button class="btn small primary" id={format!("pulsar-restart-c{c}")}
                        onclick={link.callback(move |_| Msg::Cmd(Some(Command::RestartPulsarConsumer { subscription: sub.clone(), consumer: c })))}>{"restart"}</button>
                }
            }
        };
        let ranges: Vec<String> = s
            .consumers
            .iter()
            .filter(|c| !c.ranges.is_empty())
            .map(|c| {
                let r: Vec<String> = c
                    .ranges
                    .iter()
                    .map(|r| format!("{}-{}", r[0], r[1]))
                    .collect();
                format!("{}: {}", c.name, r.join(", "))
            })
            .collect();
        html! {
            <>
            <dl class="stats">
                <dt>{"topic"}</dt><dd>{ s.topic.clone() }</dd>
                <dt>{"type"}</dt><dd id="pulsar-type">{ s.sub_type.clone() }</dd>
                <dt>{"backlog"}</dt><dd id="pulsar-backlog">{ s.backlog }</dd>
                <dt>{"cursor (mark-delete)"}</dt><dd id="pulsar-cursor">{ s.cursor.clone() }</dd>
                <dt>{"ack holes"}</dt><dd>{ s.ack_holes }</dd>
                <dt>{"unacked"}</dt><dd id="pulsar-unacked">{ s.unacked }</dd>
                <dt>{"blocked on unacked"}</dt><dd id="pulsar-blocked">{
                    format!("{} · consumers blocked {}× · subscription {}×",
                        if s.blocked { format!("yes ({})", log_names(&s.blocked_on)) } else { "no".into() },
                        s.consumer_blocks, s.subscription_blocks)
                }</dd>
                <dt>{"to redeliver"}</dt><dd>{ s.replay }</dd>
                <dt>{"delayed"}</dt><dd>{ s.delayed }</dd>
                <dt>{"retry-letter topic"}</dt><dd>{ s.retry_letter }</dd>
                <dt>{"delivered"}</dt><dd id="pulsar-delivered">{ s.delivered }</dd>
                <dt>{"redelivered"}</dt><dd id="pulsar-redelivered">{ s.redelivered }</dd>
                <dt>{"acked"}</dt><dd>{ s.acked }</dd>
                <dt>{"negative acks"}</dt><dd>{ s.nacked }</dd>
                <dt>{"ack timeouts"}</dt><dd id="pulsar-ack-timeouts">{ s.ack_timeouts }</dd>
                <dt>{"dead-lettered"}</dt><dd>{ s.dead_lettered }</dd>
                <dt>{"reconsumed later"}</dt><dd>{ s.reconsumed }</dd>
                <dt>{"evicted"}</dt><dd>{ s.evicted }</dd>
            </dl>
            <h3>{"Knobs"}</h3>
            <div class="knob">
                <label for="pulsar-ack-timeout">{ format!("ackTimeout, s (at least 1; blank or off = off) — now {}",
                    ack_us.map_or("off".to_string(), |us| format!("{} s", secs(us)))) }</label>
                <div class="row">
                    <input id="pulsar-ack-timeout" type="text" value={ack_us.map(secs).unwrap_or_else(|| "off".into())}
                        onchange={link.callback(move |e: Event| Msg::Knob(kb::pulsar_ack_timeout(&i1, &e.target_unchecked_into::<HtmlInputElement>().value())))} />
                    <button class="btn" id="pulsar-ack-timeout-off" disabled={ack_us.is_none()}
                        onclick={link.callback(move |_| Msg::Cmd(Some(Command::SetPulsarAckTimeout { subscription: i2.clone(), timeout: None })))}>{"off"}</button>
                </div>
            </div>
            { text_knob(link, "pulsar-nack-delay", format!("negativeAckRedeliveryDelay, s — now {} s", secs(nack_us)),
                secs(nack_us), move |t| kb::pulsar_nack_delay(&i3, t)) }
            <div class="knob">
                <label for="pulsar-crash-point">{"A consumer crashes (the broker redelivers its unacked messages)"}</label>
                <select id="pulsar-crash-point">
                    <option value="now" selected=true>{"now"}</option>
                    <option value="after_effect">{"after its effect, before the ack"}</option>
                </select>
            </div>
            <h3>{"Consumers"}</h3>
            <ul class="consumers" id="pulsar-consumers">
                { for s.consumers.iter().enumerate().map(|(c, cv)| {
                    let st = state_word(cv.up, cv.busy);
                    html! {
                        <li data-consumer={cv.name.clone()} data-state={st} data-unacked={cv.unacked.to_string()}>
                            <b>{ cv.name.clone() }</b>
                            <span class={classes!("state", st)}>{ if cv.active_for.is_empty() { st.to_string() } else { format!("{st} · active") } }</span>
                            <span class="counts" title={format!("{} of them in its receiver queue", cv.queued)}>{ format!("unacked {} · done {}", cv.unacked, cv.processed) }</span>
                            if cv.blocked {
                                <span class="state blocked" title="at its cap of unacknowledged messages on these partitions: it gets nothing more of them">{ format!("blocked on {}", log_names(&cv.blocked_on)) }</span>
                            }
                            { button(c as u32, cv.up) }
                        </li>
                    }
                }) }
            </ul>
            if !ranges.is_empty() {
                <h3>{"Key_Shared hash ranges"}</h3>
                <ul class="bindings" id="pulsar-ranges">
                    { for ranges.iter().map(|r| html! { <li>{ r.clone() }</li> }) }
                </ul>
            }
            </>
        }
    }

    /// SQS queue: its counters and knobs (instead of RabbitMQ's, which SQS refuses).
    pub(super) fn sqs_queue_knobs(&self, link: &Scope<Self>, id: &str, node: usize) -> Html {
        let cfg = self.sim.engine.config();
        let Some(sqs) = cfg
            .queues
            .iter()
            .find(|q| q.id == id)
            .and_then(|q| q.sqs.as_ref())
        else {
            return html! {};
        };
        let view = self.snap.sqs.iter().find(|v| v.node == node);
        let counts = self.sim.engine.sqs_counts(id);
        // The queues that send their dead letters here: a redrive moves them back.
        let sources: Vec<String> = cfg
            .queues
            .iter()
            .filter(|q| {
                q.sqs
                    .as_ref()
                    .is_some_and(|s| s.dead_letter_queue.as_deref() == Some(id))
            })
            .map(|q| q.id.clone())
            .collect();
        let (q1, q2, q3) = (id.to_string(), id.to_string(), id.to_string());
        let vt = sqs.visibility_timeout.us();
        html! {
            <div id="sqs-queue">
            <dl class="stats">
                <dt>{"SQS type"}</dt><dd id="sqs-type">{ if view.is_some_and(|v| v.fifo) { "FIFO" } else { "standard" } }</dd>
                <dt>{"visible"}</dt><dd id="sqs-visible">{ view.map_or(0, |v| v.visible) }</dd>
                <dt>{"in flight"}</dt><dd id="sqs-in-flight">{ view.map_or(0, |v| v.in_flight) }</dd>
                <dt>{"delayed"}</dt><dd>{ view.map_or(0, |v| v.delayed) }</dd>
                <dt>{"next visible again in"}</dt><dd>{ view.and_then(|v| v.next_visible_in_us).map_or("—".into(), crate::ui::render::fmt_us) }</dd>
                <dt>{"visibility timeout"}</dt><dd id="sqs-vt-now">{ sqs.visibility_timeout.to_string() }</dd>
                <dt>{"dead-letter queue"}</dt><dd>{ match (&sqs.dead_letter_queue, sqs.max_receive_count) {
                    (Some(d), Some(n)) => format!("{d} after {n} receives"),
                    (Some(d), None) => d.clone(),
                    _ => "none".into(),
                } }</dd>
                if let Some(c) = counts {
                    <dt>{"requests"}</dt><dd id="sqs-requests">{ c.requests() }</dd>
                    <dt>{"visible again (timeouts)"}</dt><dd id="sqs-visible-again">{ c.visible_again }</dd>
                    <dt>{"moved to DLQ / redriven"}</dt><dd id="sqs-dlq-moves">{ format!("{} / {}", c.moved_to_dlq, c.redriven) }</dd>
                }
            </dl>
            <h3>{"Knobs"}</h3>
            { text_knob(link, "sqs-visibility-timeout", "VisibilityTimeout, s (for receives from now on; at most 12 h)".into(),
                secs(vt), move |t| kb::sqs_visibility_timeout(&q1, t)) }
            <div class="knob">
                <label for="sqs-change-visibility">{"ChangeMessageVisibility of every message in flight, s (0 = visible at once)"}</label>
                <div class="row">
                    <input id="sqs-change-visibility" type="text" placeholder="0" />
                    <button class="btn" id="sqs-change-visibility-go"
                        onclick={link.callback(move |_| Msg::Knob(kb::sqs_change_visibility(&q2, &or_now("sqs-change-visibility", "0"))))}>{"Change"}</button>
                </div>
            </div>
            if !sources.is_empty() {
                <div class="knob">
                    <button class="btn primary" id="sqs-redrive" title={format!("Move every visible message back to {}", sources.join(", "))}
                        onclick={link.callback(move |_| Msg::Cmd(Some(Command::RedriveDeadLetters { queue: q3.clone(), to: None })))}>
                        { format!("Redrive dead letters to {}", sources.join(", ")) }</button>
                </div>
            }
            </div>
        }
    }

    /// SQS consumer: its receive settings.
    pub(super) fn sqs_consumer_knobs(&self, link: &Scope<Self>, c: &Consumer) -> Html {
        let Some(r) = c.sqs.as_ref() else {
            return html! {};
        };
        let (c1, c2) = (c.id.clone(), c.id.clone());
        html! {
            <div id="sqs-consumer">
            { text_knob(link, "sqs-wait-time", format!("WaitTimeSeconds, s (0 = short polling, up to 20) — now {}", r.wait_time),
                secs(r.wait_time.us()), move |t| kb::sqs_wait_time(&c1, t)) }
            { text_knob(link, "sqs-max-messages", "MaxNumberOfMessages per receive (1 to 10)".into(),
                r.max_messages.to_string(), move |t| kb::sqs_max_messages(&c2, t)) }
            </div>
        }
    }
}
