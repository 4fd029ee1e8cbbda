//! Issue #5: the cost of one frame of a 120×40 terminal, by history length.
//!
//! For 1,000, 100,000 and 1,000,000 messages in history, times
//! `Terminal<TestBackend>::draw(|f| duplex::ui::render(&app, f))` in four
//! views: live, five PgUps back, the middle of the history (the scroll
//! anchor set to the entry in the middle, as many PgUps would leave it),
//! and the oldest entry (Ctrl-Home). Each App is built once per size,
//! outside the timed loop, by feeding the same events the network would.
//!
//! Baseline, in the same run: a frame of the same size holding one fixed
//! `Paragraph` of 40 full lines, i.e. what drawing a full screen costs on
//! this machine with the same backend.
//!
//! `cargo bench --bench render` (`bench/run.sh` runs it and prints the
//! ratios; the goal is 1,000,000 messages within 1.2× of 1,000).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use duplex::app::{App, Clock, Event, Role};
use duplex::net::{NetEvent, PeerInfo, PeerLink, Security};
use duplex::protocol::{ChatMessage, MessageId};
use duplex::view::{Anchor, Scroll};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::text::{Line, Text};
use ratatui::widgets::Paragraph;

const COLS: u16 = 120;
const ROWS: u16 = 40;
const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];
/// 2026-01-01 12:00 UTC.
const NOW_MS: i64 = 1_767_268_800_000;
const PEER: u64 = 7;

/// Message texts of varied length: short, a sentence, one that wraps over
/// two or three rows, CJK (wide) text that wraps, emoji and combining marks,
/// and one with a line break.
fn text_for(i: usize) -> String {
    // A small LCG, so every run builds the same history.
    let r = (i as u64)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407)
        >> 33;
    match r % 10 {
        0 | 1 => format!("ok {i}"),
        2..=4 => format!("message {i}: the quick brown fox jumps over the lazy dog"),
        5 => format!(
            "long {i}: {}",
            "a longer message that goes on and on so that it wraps ".repeat(1 + (r % 5) as usize)
        ),
        6 => format!(
            "中文 {i} {}",
            "你好世界，这是一条比较长的消息。".repeat(1 + (r % 6) as usize)
        ),
        7 => format!("emoji {i} 👍🏽 café 👨‍👩‍👧 naïve e\u{301}"),
        8 => format!("two lines {i}\nsecond line of it"),
        _ => format!("日本語とEnglishの mixed {i} テキスト"),
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

/// A host app with a connected guest and `count` messages, most from the
/// guest and every fifth typed on this side, on a 120×40 terminal.
fn build_app(count: usize) -> App {
    let mut app = App::new(
        "alice",
        Role::Host {
            local: "127.0.0.1:7878".parse().expect("address"),
            hints: vec![],
            code: None,
            show_code: true,
        },
        1,
    );
    // The whole history is kept, to measure a frame over all of it.
    app.history.set_limit(usize::MAX, usize::MAX);
    app.clock = Clock::Fixed(NOW_MS);
    app.zone = chrono::FixedOffset::east_opt(0).expect("UTC");
    app.update(Event::Resize(COLS, ROWS));
    app.update(Event::Net(NetEvent::Joined {
        info: PeerInfo {
            id: PEER,
            name: "bob".to_owned(),
            addr: "127.0.0.1:50000".parse().expect("address"),
            security: Security::Encrypted {
                verification: "amber-otter-violin-maple".to_owned(),
                with_code: false,
            },
            resumed: false,
            resume: None,
            caps: Default::default(),
        },
        link: PeerLink::detached(PEER),
    }));
    for i in 0..count.saturating_sub(1) {
        let text = text_for(i);
        if i % 5 == 4 {
            // Our own messages go through Submit; the effect is dropped.
            app.update(Event::Submit(text));
        } else {
            app.update(Event::Net(NetEvent::Chat {
                from: PEER,
                msg: ChatMessage {
                    id: MessageId {
                        session: 2,
                        seq: i as u64 + 1, // sequence numbers start at 1
                    },
                    sent_at_ms: NOW_MS - (count - i) as i64 * 1_000,
                    text,
                    action: false,
                },
            }));
        }
    }
    // Joined plus count - 1 messages: `count` entries in all.
    assert_eq!(app.history.len(), count);
    app
}

/// Sets the view: `live`, `pgup5`, `middle` or `oldest`.
fn set_view(app: &mut App, view: &str) {
    app.update(key(KeyCode::End, KeyModifiers::CONTROL));
    match view {
        "live" => {}
        "pgup5" => {
            for _ in 0..5 {
                app.update(key(KeyCode::PageUp, KeyModifiers::NONE));
            }
        }
        "middle" => {
            app.scroll = Scroll::At(Anchor {
                entry: app.history.len() / 2,
                row: 0,
            });
        }
        "oldest" => {
            app.update(key(KeyCode::Home, KeyModifiers::CONTROL));
        }
        other => panic!("unknown view {other}"),
    }
    if view != "live" {
        assert!(matches!(app.scroll, Scroll::At(_)), "{view} is scrolled");
    }
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(COLS, ROWS)).expect("test terminal")
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_120x40");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(100);

    // Baseline: one fixed paragraph filling the screen.
    let lines: Vec<Line<'static>> = (0..ROWS)
        .map(|row| {
            Line::raw(format!(
                "{row:02} {}",
                "the quick brown fox jumps over the lazy dog · "
                    .repeat(3)
                    .chars()
                    .take(COLS as usize - 3)
                    .collect::<String>()
            ))
        })
        .collect();
    let paragraph = Paragraph::new(Text::from(lines));
    let mut term = terminal();
    group.bench_function("baseline_paragraph_40_lines", |b| {
        b.iter(|| {
            term.draw(|frame| frame.render_widget(black_box(&paragraph), frame.area()))
                .expect("draw");
        })
    });

    for count in SIZES {
        let mut app = build_app(count);
        for view in ["live", "pgup5", "middle", "oldest"] {
            set_view(&mut app, view);
            let mut term = terminal();
            group.bench_with_input(BenchmarkId::new(view, count), &app, |b, app| {
                b.iter(|| {
                    term.draw(|frame| duplex::ui::render(black_box(app), frame))
                        .expect("draw");
                })
            });
        }
        drop(app);
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
