//! The top bar (preset, play/step, clock, speed, seed, panel toggles,
//! theme) and the timeline scrubber with command markers.

use super::{App, Msg};
use crate::scenario;
use crate::ui::charts::ChartKind;
use crate::ui::views;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use yew::TargetCast;

impl App {
    pub(super) fn view_topbar(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let speed_v = self.speed.log10();
        let speed_min_v = views::SPEED_MIN.log10();
        let effective = (self.sim.throttled && self.playing).then_some(self.effective_speed);
        let t = self.sim.now_us();
        let clock = format!("{}.{:03} s", t / 1_000_000, (t / 1000) % 1000);
        let title = self.sim.scenario.title.clone();
        html! {
            <header class="topbar">
                <div class="brand" title="QueueLab: a deterministic message-broker simulator">{"Queue"}<b>{"Lab"}</b></div>
                if !self.embed {
                    <select id="preset" class="preset" aria-label="Scenario"
                        onchange={link.callback(|e: Event| Msg::Preset(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                        if self.preset.is_empty() {
                            <option value="" selected=true>{ format!("Custom: {title}") }</option>
                        }
                        { for scenario::presets().iter().map(|p| {
                            let sc_title = views::preset_title(p);
                            html! { <option value={p.name} selected={p.name == self.preset} title={p.name}>{ sc_title }</option> }
                        }) }
                    </select>
                } else {
                    <span class="embed-title">{ title }</span>
                }
                <button id="play" class={classes!("btn", "primary", self.playing.then_some("playing"))}
                    title="Play / pause (space)"
                    onclick={link.callback(|_| Msg::TogglePlay)}>
                    { if self.playing { "❚❚ Pause" } else { "▶ Play" } }
                </button>
                <button id="step" class="btn" title="Process one engine event, or with a message selected, move it to its next hop (.)" onclick={link.callback(|_| Msg::Step)}>{"Step"}</button>
                <div class="clock" id="clock" title="Simulated time">
                    <span class="lbl">{"t ="}</span>{ clock }
                </div>
                <label class="speed" title="Simulation speed, 0.05× to 1000× (log scale); when throttled, the speed really reached follows the arrow">
                    <span class="lbl">{"Speed"}</span>
                    <input id="speed" type="range" min={format!("{speed_min_v:.4}")} max="3" step="0.01" value={format!("{speed_v:.2}")}
                        oninput={link.callback(|e: InputEvent| Msg::Speed(crate::scenario::parse_f64(&e.target_unchecked_into::<HtmlInputElement>().value()).unwrap_or(0.0)))} />
                    <span id="speed-label" class="speed-val">{ views::fmt_speed_effective(self.speed, effective) }</span>
                </label>
                if !self.embed && !self.presenter {
                    <label class="seed" title="Seed of the random streams: same seed, same run">
                        <span class="lbl">{"Seed"}</span>
                        <input id="seed" type="text" inputmode="numeric" value={self.seed_text.clone()}
                            oninput={link.callback(|e: InputEvent| Msg::SeedText(e.target_unchecked_into::<HtmlInputElement>().value()))}
                            onkeydown={link.batch_callback(|e: KeyboardEvent| (e.key() == "Enter").then_some(Msg::Restart(false)))} />
                    </label>
                    <button id="restart" class="btn" title="Restart from t = 0 with this seed" onclick={link.callback(|_| Msg::Restart(false))}>{"↺"}<span class="txt">{" Restart"}</span></button>
                    <button id="new-seed" class="btn" title="Restart with a new random seed" onclick={link.callback(|_| Msg::Restart(true))}>{"New seed"}</button>
                }

                if self.sim.throttled && self.playing {
                    <span id="throttled" class="badge warn" role="img" aria-label="throttled" title="Throttled: the per-frame event cap is binding, so the simulation runs slower than the chosen speed (the label says how fast it really goes)">{"⚠"}</span>
                }
                if self.presenter {
                    <select id="big-chart" class="chart-pick" aria-label="Show one chart large" title="Show one chart large beside the picture"
                        onchange={link.callback(|e: Event| {
                            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                            Msg::BigChart(ChartKind::ALL.iter().position(|k| k.id() == v))
                        })}>
                        <option value="" selected={self.big_chart.is_none()}>{"No chart"}</option>
                        { for ChartKind::ALL.iter().enumerate().map(|(k, kind)| html! {
                            <option value={kind.id()} selected={self.big_chart == Some(k)}>{ kind.short() }</option>
                        }) }
                    </select>
                }
                <div class="spacer"></div>
                if !self.embed && !self.presenter {
                    if self.side_hidden {
                        <button class="btn" id="show-side" title="Show the inspector panel" onclick={link.callback(|_| Msg::TogglePanel(2))}>{"⟨"}<span class="txt">{" Inspector"}</span></button>
                    }
                    <button class="btn narrow-only" id="toggle-side" onclick={link.callback(|_| Msg::TogglePanel(0))}>{"Inspector"}</button>
                    <button class="btn narrow-only" id="toggle-bottom" onclick={link.callback(|_| Msg::TogglePanel(1))}>{"Charts"}</button>
                }
                if !self.embed {
                    <button id="presenter" class={classes!("btn", self.presenter.then_some("on"))} title="Presenter mode (p): large type, panels folded, for a room"
                        aria-pressed={self.presenter.to_string()} onclick={link.callback(|_| Msg::TogglePresenter)}>
                        { if self.presenter { "Exit" } else { "Present" } }
                    </button>
                }
                <button id="theme" class="btn icon" title="Light / dark theme" onclick={link.callback(|_| Msg::ToggleTheme)}>
                    { if self.dark { "☀" } else { "☾" } }
                </button>
            </header>
        }
    }

    pub(super) fn view_scrubber(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let max_ms = (self.sim.horizon_us / 1000).max(1);
        let cur_ms = self.sim.now_us() / 1000;
        html! {
            <div class="scrubber" title="Timeline: drag back to rewind, forward to return">
                <span class="lbl">{"Timeline"}</span>
                <div class="track">
                    <input id="scrubber" type="range" min="0" max={max_ms.to_string()} step="1" value={cur_ms.to_string()}
                        oninput={link.callback(|e: InputEvent| {
                            let v: u64 = e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(0);
                            Msg::Seek(v * 1000)
                        })} />
                    { for self.sim.script().iter().map(|c| {
                        let frac = (c.at_us as f64 / self.sim.horizon_us.max(1) as f64).clamp(0.0, 1.0);
                        html! {
                            <span class="marker" title={format!("{:.3} s: {}", c.at_us as f64 / 1e6, c.command.describe())}
                                style={format!("left: calc(8px + (100% - 16px) * {frac:.5})")}></span>
                        }
                    }) }
                    { for self.rebalance_marks().into_iter().map(|(t_us, what)| {
                        let frac = (t_us as f64 / self.sim.horizon_us.max(1) as f64).clamp(0.0, 1.0);
                        html! {
                            <span class="marker rebalance" title={format!("{:.1} s: {what}", t_us as f64 / 1e6)}
                                style={format!("left: calc(8px + (100% - 16px) * {frac:.5})")}></span>
                        }
                    }) }
                    { for self.snap.alerts.iter().flat_map(|a| a.fired_at_s.iter().map(move |t| (a, *t))).map(|(a, t)| {
                        let frac = (t * 1e6 / self.sim.horizon_us.max(1) as f64).clamp(0.0, 1.0);
                        html! {
                            <span class="marker alert" title={format!("{t:.1} s: alert {} fired ({})", a.id, a.rule)}
                                style={format!("left: calc(8px + (100% - 16px) * {frac:.5})")}></span>
                        }
                    }) }
                    { for self.sim.scenario.schedule.iter().filter(|c| c.at.0 <= self.sim.horizon_us).map(|c| {
                        let frac = (c.at.0 as f64 / self.sim.horizon_us.max(1) as f64).clamp(0.0, 1.0);
                        html! {
                            <span class="marker sched" title={format!("{} (scheduled): {}", c.at, c.command.describe())}
                                style={format!("left: calc(8px + (100% - 16px) * {frac:.5})")}></span>
                        }
                    }) }
                </div>
                <span class="scrub-val">{ format!("{} / {}", fmt_secs(self.sim.now_us()), fmt_secs(self.sim.horizon_us)) }</span>
                <span class="events" title="Engine events processed">{ format!("{} events", self.sim.engine.events()) }</span>
                <button id="build-toggle" class={classes!("btn", self.builder.on.then_some("on"))}
                    title="Topology builder (b): add parts from a palette, connect them, edit their fields"
                    aria-pressed={self.builder.on.to_string()}
                    onclick={link.callback(|_| Msg::Build(super::builder::BuildMsg::Toggle))}>
                    { if self.builder.on { "✎ Building" } else { "✎ Build" } }
                </button>
                { self.view_share_button(ctx) }
            </div>
        }
    }
}

/// Rebalance marks drawn on the timeline at most.
const REBALANCE_MARKS_MAX: usize = 100;

impl App {
    /// Where a consumer group started a rebalance, to the sample interval:
    /// (time, "rebalance: group, group"), from the time series.
    pub(super) fn rebalance_marks(&self) -> Vec<(u64, String)> {
        let cfg = self.sim.engine.config();
        let pts = self.sim.chart_series();
        let mut out = Vec::new();
        for w in pts.windows(2) {
            let moved: Vec<&str> = (0..w[1].group_rebalances.len())
                .filter(|&g| {
                    w[1].group_rebalances[g] > w[0].group_rebalances.get(g).copied().unwrap_or(0)
                })
                .filter_map(|g| cfg.consumer_groups.get(g).map(|c| c.id.as_str()))
                .collect();
            if !moved.is_empty() {
                out.push((w[1].t_us, format!("rebalance: {}", moved.join(", "))));
                if out.len() >= REBALANCE_MARKS_MAX {
                    break;
                }
            }
        }
        out
    }
}

fn fmt_secs(us: u64) -> String {
    format!("{:.1} s", us as f64 / 1e6)
}
