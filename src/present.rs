//! How events are put into words: one presentation of what happened, used
//! by the TUI's message pane and by headless mode's standard error alike,
//! so the two never tell the same event differently.

use chrono::{DateTime, FixedOffset};

use crate::domain::{LeftReason, RejectKind, Security};
use crate::history::{CardState, Delivery, Entry, History, SystemEvent, TransferCard};

/// The mark after one of our messages: where it is on its way.
pub fn delivery_mark(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Received => "",
        Delivery::Pending => "⌛",
        Delivery::Sent => "✓",
        Delivery::Delivered => "✓✓",
        Delivery::Failed => "✗ not delivered",
    }
}

/// Words for a system line.
pub fn system_text(event: &SystemEvent) -> String {
    match event {
        SystemEvent::Joined {
            name,
            addr,
            security,
            host,
            afresh,
        } => {
            // Said from this side: a guest connected to its host, a host
            // sees its guest join.
            let mut text = if *host && name.ends_with(')') {
                // Named with its role already: "alice (host 2)".
                format!("connected to {name} at {addr}")
            } else if *host {
                format!("connected to {name} (host, {addr})")
            } else {
                format!("{name} joined ({addr})")
            };
            if let Security::Plain { encoding } = security {
                text.push_str(&format!(" · plaintext, unverified ({encoding})"));
            }
            if *afresh {
                text.push_str(
                    ": a new conversation (the host started afresh, or someone else answers \
                     at its address)",
                );
            }
            text
        }
        SystemEvent::Left { name, reason } => match reason {
            LeftReason::Left => format!("{name} left"),
            LeftReason::Bye => format!("{name} ended the conversation"),
            LeftReason::Closed => format!("{name} disconnected"),
            LeftReason::Silent(_) | LeftReason::Stalled(_) | LeftReason::Error(_) => {
                format!("lost {name}: {}", reason.detail().unwrap_or_default())
            }
            LeftReason::Incompatible(why) => format!("{name} cannot go on: {why}"),
            LeftReason::Idle(_) => {
                format!("dropped {name}: {}", reason.detail().unwrap_or_default())
            }
        },
        SystemEvent::Resumed {
            name,
            verification,
            words_changed,
            compared,
            restarted,
        } => {
            let mut text = if *restarted {
                format!("Resumed the conversation with {name}")
            } else {
                format!("{name} is back: the conversation goes on")
            };
            match (verification, words_changed, compared) {
                (Some(words), true, false) => text.push_str(&format!(
                    " · new verification words: {words} (compare again)"
                )),
                (Some(words), true, true) => text.push_str(&format!(
                    " · new verification words: {words} (still the conversation you \
                     compared: the resume proved it)"
                )),
                _ => {}
            }
            text
        }
        SystemEvent::Leaving { waiting } => format!(
            "{waiting} message{} still on {} way: leaving once {} delivered",
            if *waiting == 1 { "" } else { "s" },
            if *waiting == 1 { "its" } else { "their" },
            if *waiting == 1 { "it is" } else { "they are" },
        ),
        SystemEvent::Undelivered { count, name, why } => format!(
            "{count} message{} to {name} {} not delivered: {why}",
            if *count == 1 { "" } else { "s" },
            if *count == 1 { "was" } else { "were" },
        ),
        SystemEvent::Held { count, name } => format!(
            "{count} message{} you typed for the earlier conversation {} held, not sent to \
             {name}: /held send sends {}, /held discard drops {}",
            if *count == 1 { "" } else { "s" },
            if *count == 1 { "is" } else { "are" },
            if *count == 1 { "it" } else { "them" },
            if *count == 1 { "it" } else { "them" },
        ),
        SystemEvent::CodeChanged { .. } => "the secret code let one guest in and no longer works: \
            the next guest needs a new one, shown in the join command when the seat is free"
            .to_owned(),
        SystemEvent::Knock { name, addr, away } => format!(
            "someone new calling itself {name} ({addr}) wants to join while {away} is away; \
             {away} keeps the place unless you let them in"
        ),
        SystemEvent::Rejected {
            addr,
            kind,
            reason,
            earlier: 0,
        } => format!("{} a connection from {addr}: {reason}", rejected(*kind)),
        SystemEvent::Rejected {
            addr,
            kind,
            reason,
            earlier,
        } => format!(
            "{} {} connections, the last from {addr}: {reason}",
            rejected(*kind),
            u64::from(*earlier) + 1
        ),
        SystemEvent::Forgotten { messages } => format!(
            "… {} older message{} no longer kept",
            grouped(*messages),
            if *messages == 1 { " is" } else { "s are" }
        ),
        SystemEvent::Renamed { old, new, .. } => format!("{old} is now known as {new}"),
        SystemEvent::Transfer(card) => card_text(card),
        SystemEvent::Info(text) | SystemEvent::Error(text) => text.clone(),
    }
}

/// A transfer's card on one line: direction and name, how far, how fast,
/// how long still, and its state: `⇡ report.pdf · 45% of 20.0 MiB ·
/// 1.5 MiB/s · 8 s left · sending`.
pub fn card_text(card: &TransferCard) -> String {
    let arrow = if card.sending { "⇡" } else { "⇣" };
    let mut parts = vec![format!("{arrow} {}", card.name)];
    match &card.state {
        CardState::Offered => {
            parts.push(size_text(card.total));
            parts.push("offered: /accept [DIR] or /decline".to_owned());
        }
        CardState::Waiting => {
            parts.push(size_text(card.total));
            parts.push("offered, waiting for an answer".to_owned());
        }
        CardState::Moving => {
            parts.push(format!(
                "{}% of {}",
                percent(card.bytes, card.total),
                size_text(card.total)
            ));
            if let Some(rate) = card.rate.filter(|rate| *rate > 0) {
                parts.push(format!("{}/s", size_text(rate)));
                let left = card.total.saturating_sub(card.bytes).div_ceil(rate);
                parts.push(format!("{} left", duration_text(left)));
            }
            parts.push(if card.sending { "sending" } else { "receiving" }.to_owned());
        }
        CardState::Verifying => {
            parts.push(format!("100% of {}", size_text(card.total)));
            parts.push("verifying".to_owned());
        }
        CardState::Done { hash, saved } => {
            parts.push(size_text(card.total));
            parts.push(match saved {
                Some(saved) => format!("done ✓ {hash}, saved in {saved}"),
                None => format!("done ✓ {hash}"),
            });
        }
        CardState::Failed(reason) => parts.push(format!("failed: {reason}")),
    }
    parts.join(" · ")
}

/// Whole percent of `total` that `bytes` is; 100 only once all is there
/// (and for nothing to move).
pub fn percent(bytes: u64, total: u64) -> u64 {
    if total == 0 || bytes >= total {
        return 100;
    }
    (u128::from(bytes) * 100 / u128::from(total)).min(99) as u64
}

/// A size for a person: `12.3 MiB`.
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A time still to go, for a person: `8 s`, `3 min 5 s`, `2 h 10 min`.
pub fn duration_text(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 if seconds.is_multiple_of(60) => format!("{} min", seconds / 60),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

/// What the host did with a connection: refused one that wanted the seat
/// (it is taken), turned away one that failed the handshake.
fn rejected(kind: RejectKind) -> &'static str {
    match kind {
        RejectKind::Busy | RejectKind::Away => "refused",
        _ => "turned away",
    }
}

/// Why a host refused a connection, in its own person's words: the seat
/// is taken by `name`, who is here (`busy`) or away and waited for.
pub fn refusal(busy: bool, name: &str) -> String {
    if busy {
        format!("already talking with {name}")
    } else {
        format!("keeping the place of {name}, who is away")
    }
}

/// The last `count` messages of `history` as plain lines for the normal
/// terminal once the screen is gone: `14:03 alice: text` (`14:03 * alice
/// waves` for an action), later lines of a message indented under its
/// first, already sanitized as the screen shows them; a message that never
/// got there says so.
pub fn last_lines(history: &History, zone: FixedOffset, count: usize) -> Vec<String> {
    let messages: Vec<&Entry> = history
        .entries()
        .iter()
        .filter(|entry| matches!(entry, Entry::Chat { .. }))
        .collect();
    let start = messages.len().saturating_sub(count);
    let mut lines = Vec::new();
    for entry in &messages[start..] {
        let Entry::Chat {
            at_ms,
            author,
            text,
            delivery,
            action,
            ..
        } = entry
        else {
            continue;
        };
        let time = DateTime::from_timestamp_millis(*at_ms)
            .map(|t| t.with_timezone(&zone).format("%H:%M").to_string())
            .unwrap_or_else(|| "--:--".to_owned());
        let name = history.author_name(*author);
        let lead = if *action {
            format!("{time} * {name} ")
        } else {
            format!("{time} {name}: ")
        };
        let mark = match delivery {
            Delivery::Failed | Delivery::Pending => format!(" {}", delivery_mark(*delivery)),
            _ => String::new(),
        };
        let mut rows = text.split('\n');
        lines.push(format!("{lead}{}", rows.next().unwrap_or_default()));
        lines.extend(rows.map(|row| format!("      {row}")));
        if let Some(last) = lines.last_mut() {
            last.push_str(&mark);
        }
    }
    lines
}

/// A count with its thousands grouped: `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::AuthorId;

    fn card(state: CardState, bytes: u64, rate: Option<u64>) -> TransferCard {
        TransferCard {
            id: 1,
            name: "report.pdf".into(),
            sending: true,
            bytes,
            total: 20 * 1024 * 1024,
            rate,
            state,
        }
    }

    #[test]
    fn a_moving_card_says_percent_rate_and_time_left() {
        let text = card_text(&card(CardState::Moving, 9 * 1024 * 1024, Some(1024 * 1024)));
        assert_eq!(
            text,
            "⇡ report.pdf · 45% of 20.0 MiB · 1.0 MiB/s · 11 s left · sending"
        );
        // Before the rate is known, neither rate nor time left.
        let text = card_text(&card(CardState::Moving, 0, None));
        assert_eq!(text, "⇡ report.pdf · 0% of 20.0 MiB · sending");
    }

    #[test]
    fn each_state_of_a_card_reads_as_it_is() {
        let said = |state| card_text(&card(state, 0, None));
        assert_eq!(
            said(CardState::Waiting),
            "⇡ report.pdf · 20.0 MiB · offered, waiting for an answer"
        );
        assert!(said(CardState::Offered).ends_with("offered: /accept [DIR] or /decline"));
        assert!(said(CardState::Verifying).ends_with("100% of 20.0 MiB · verifying"));
        assert_eq!(
            said(CardState::Done {
                hash: "1a2b3c4d".into(),
                saved: None
            }),
            "⇡ report.pdf · 20.0 MiB · done ✓ 1a2b3c4d"
        );
        assert_eq!(
            said(CardState::Failed("cancelled by the receiver".into())),
            "⇡ report.pdf · failed: cancelled by the receiver"
        );
    }

    #[test]
    fn percent_is_whole_and_100_only_when_all_is_there() {
        assert_eq!(percent(0, 10), 0);
        assert_eq!(percent(999, 1000), 99);
        assert_eq!(percent(1000, 1000), 100);
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(u64::MAX - 1, u64::MAX), 99);
    }

    #[test]
    fn time_left_reads_like_a_person_says_it() {
        assert_eq!(duration_text(8), "8 s");
        assert_eq!(duration_text(120), "2 min");
        assert_eq!(duration_text(185), "3 min 5 s");
        assert_eq!(duration_text(7800), "2 h 10 min");
    }

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(size_text(12), "12 B");
        assert_eq!(size_text(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(size_text(1536), "1.5 KiB");
    }

    #[test]
    fn forgotten_messages_are_counted_in_thousands() {
        let said = |messages| system_text(&SystemEvent::Forgotten { messages });
        assert_eq!(said(1), "… 1 older message is no longer kept");
        assert_eq!(said(1234), "… 1,234 older messages are no longer kept");
        assert_eq!(said(999), "… 999 older messages are no longer kept");
        assert_eq!(
            said(1_000_000),
            "… 1,000,000 older messages are no longer kept"
        );
    }

    #[test]
    fn a_resume_of_compared_words_says_the_resume_proved_it() {
        let text = system_text(&SystemEvent::Resumed {
            name: "bob".into(),
            verification: Some("a-b-c-d".into()),
            words_changed: true,
            compared: true,
            restarted: false,
        });
        assert_eq!(
            text,
            "bob is back: the conversation goes on · new verification words: a-b-c-d \
             (still the conversation you compared: the resume proved it)"
        );
    }

    #[test]
    fn a_resume_with_new_words_says_to_compare_again() {
        let text = system_text(&SystemEvent::Resumed {
            name: "bob".into(),
            verification: Some("a-b-c-d".into()),
            words_changed: true,
            compared: false,
            restarted: false,
        });
        assert_eq!(
            text,
            "bob is back: the conversation goes on · new verification words: a-b-c-d (compare again)"
        );
    }

    fn joined(host: bool, afresh: bool) -> String {
        system_text(&SystemEvent::Joined {
            name: "alice".into(),
            addr: "192.168.1.5:7878".parse().unwrap(),
            security: Security::Encrypted {
                verification: "a-b-c-d".into(),
                with_code: false,
            },
            host,
            afresh,
        })
    }

    #[test]
    fn a_guest_connected_to_its_host_a_host_sees_its_guest_join() {
        assert_eq!(
            joined(true, false),
            "connected to alice (host, 192.168.1.5:7878)"
        );
        assert_eq!(joined(false, false), "alice joined (192.168.1.5:7878)");
    }

    /// One line for one event: the guest that finds a new conversation
    /// where its old one was is told so on the line that says it connected.
    #[test]
    fn a_new_conversation_is_said_on_the_connected_line() {
        assert_eq!(
            joined(true, true),
            "connected to alice (host, 192.168.1.5:7878): a new conversation (the host \
             started afresh, or someone else answers at its address)"
        );
    }

    #[test]
    fn a_refused_connection_names_who_has_the_seat() {
        let said = |kind, earlier| {
            system_text(&SystemEvent::Rejected {
                addr: "10.0.0.9:40000".parse().unwrap(),
                kind,
                reason: refusal(kind == RejectKind::Busy, "bob"),
                earlier,
            })
        };
        assert_eq!(
            said(RejectKind::Busy, 0),
            "refused a connection from 10.0.0.9:40000: already talking with bob"
        );
        assert_eq!(
            said(RejectKind::Busy, 2),
            "refused 3 connections, the last from 10.0.0.9:40000: already talking with bob"
        );
        assert_eq!(
            said(RejectKind::Away, 0),
            "refused a connection from 10.0.0.9:40000: keeping the place of bob, who is away"
        );
        let failed = system_text(&SystemEvent::Rejected {
            addr: "10.0.0.9:40000".parse().unwrap(),
            kind: RejectKind::WrongCode,
            reason: "wrong code".into(),
            earlier: 0,
        });
        assert_eq!(
            failed,
            "turned away a connection from 10.0.0.9:40000: wrong code"
        );
    }

    #[test]
    fn counts_read_naturally() {
        let one = system_text(&SystemEvent::Undelivered {
            count: 1,
            name: "bob".into(),
            why: "bob left".into(),
        });
        assert_eq!(one, "1 message to bob was not delivered: bob left");
        let two = system_text(&SystemEvent::Undelivered {
            count: 2,
            name: "bob".into(),
            why: "bob left".into(),
        });
        assert_eq!(two, "2 messages to bob were not delivered: bob left");
    }

    #[test]
    fn the_last_lines_are_the_last_messages_as_plain_lines() {
        use crate::protocol::MessageId;
        let mut history = History::new("bob");
        let alice = history.add_author("alice", "host");
        let utc = FixedOffset::east_opt(0).unwrap();
        let chat = |n: u64, author, text: &str, delivery, action| Entry::Chat {
            at_ms: 1_700_000_000_000 + i64::try_from(n).unwrap() * 60_000,
            author,
            id: MessageId { session: 1, seq: n },
            text: text.into(),
            delivery,
            action,
        };
        for n in 1..=12 {
            history.push(chat(n, alice, &format!("m{n}"), Delivery::Received, false));
        }
        history.push_system(0, SystemEvent::Info("not a message".into()));
        history.push(chat(13, alice, "waves", Delivery::Received, true));
        history.push(chat(
            14,
            AuthorId::ME,
            "two\nlines",
            Delivery::Failed,
            false,
        ));
        let lines = last_lines(&history, utc, 4);
        assert_eq!(
            lines,
            [
                "22:24 alice: m11",
                "22:25 alice: m12",
                "22:26 * alice waves",
                "22:27 bob: two",
                "      lines ✗ not delivered",
            ]
        );
        assert!(last_lines(&History::new("x"), utc, 10).is_empty());
    }
}
