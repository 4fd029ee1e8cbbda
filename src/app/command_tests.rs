//! The commands, the layers and leaving, driven through [`App::update`]
//! with injected keys and network events.

use super::*;
use crate::domain::Security;
use crate::net::PeerLink;
use crate::present::system_text;
use crossterm::event::{KeyCode, KeyModifiers};

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn info(id: ConnId, name: &str, caps: &[&str], plain: bool) -> PeerInfo {
    PeerInfo {
        id,
        name: name.to_owned(),
        addr: "127.0.0.1:5000".parse().unwrap(),
        security: if plain {
            Security::Plain { encoding: "UTF-8" }
        } else {
            Security::Encrypted {
                verification: "amber-otter-violin-maple".to_owned(),
                with_code: false,
            }
        },
        resumed: false,
        resume: None,
        caps: Capabilities::from_names(caps.iter().copied()),
    }
}

fn joined_with(info: PeerInfo) -> Event {
    let id = info.id;
    Event::Net(NetEvent::Joined {
        info,
        link: PeerLink::detached(id),
    })
}

fn joined(id: ConnId, name: &str) -> Event {
    joined_with(info(id, name, &[NICK], false))
}

/// A guest on a screen (the TUI), talking to the host alice on connection 3.
fn on_screen() -> App {
    let mut app = App::new("bob", Role::Guest, 2);
    app.clock = Clock::Fixed(0);
    app.interactive = true;
    app.update(Event::Resize(40, 12));
    app.update(joined(3, "alice"));
    app
}

/// Types `text` as a person does: a pause follows (so an Enter after it
/// is not taken for part of a paste).
fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.last_key_ms = None;
}

fn submit(app: &mut App, line: &str) -> Vec<Effect> {
    type_text(app, line);
    app.update(key(KeyCode::Enter))
}

fn quits(effects: &[Effect]) -> Option<&Exit> {
    effects.iter().find_map(|e| match e {
        Effect::Quit(exit) => Some(exit),
        _ => None,
    })
}

fn sent_frames(effects: &[Effect]) -> Vec<Frame> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { frame, .. } => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

/// The system lines of the history, as the screen words them.
fn system_lines(app: &App) -> Vec<String> {
    app.history
        .entries()
        .iter()
        .filter_map(|entry| match entry {
            Entry::System { event, .. } => Some(system_text(event)),
            Entry::Chat { .. } => None,
        })
        .collect()
}

fn last_system(app: &App) -> String {
    system_lines(app).pop().unwrap_or_default()
}

fn help_scroll(app: &App) -> Option<usize> {
    match app.layers.last() {
        Some(Layer::Help { scroll }) => Some(*scroll),
        _ => None,
    }
}

#[test]
fn f1_and_slash_help_open_the_help_and_a_key_closes_it() {
    let mut app = on_screen();
    app.update(key(KeyCode::F(1)));
    assert_eq!(help_scroll(&app), Some(0));
    // At 40×12 it does not fit: it scrolls, but not past its end.
    app.update(key(KeyCode::Down));
    assert_eq!(help_scroll(&app), Some(1));
    app.update(key(KeyCode::End));
    let end = help_scroll(&app).unwrap();
    assert!(end > 1);
    app.update(key(KeyCode::Down));
    assert_eq!(help_scroll(&app), Some(end));
    app.update(key(KeyCode::Home));
    assert_eq!(help_scroll(&app), Some(0));
    app.update(key(KeyCode::PageDown));
    let page = help_scroll(&app).unwrap();
    assert!(page > 1);
    app.update(key(KeyCode::Up));
    assert_eq!(help_scroll(&app), Some(page - 1));
    app.update(key(KeyCode::PageUp));
    assert_eq!(help_scroll(&app), Some(0));
    // The wheel scrolls the help, not the history under it.
    app.update(Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(help_scroll(&app), Some(WHEEL_ROWS));
    app.update(key(KeyCode::Home));
    // Any other key closes it, and is not typed.
    app.update(key(KeyCode::Char('x')));
    assert!(app.layers.is_empty());
    assert!(app.input.is_empty());
    // /help opens it too; Esc and q close it.
    for closer in [KeyCode::Esc, KeyCode::Char('q')] {
        submit(&mut app, "/help");
        assert_eq!(help_scroll(&app), Some(0));
        assert!(app.input.is_empty());
        app.update(key(closer));
        assert!(app.layers.is_empty());
    }
    // Ctrl-C on the help is not lost: it closes the help and leaves.
    app.update(key(KeyCode::F(1)));
    assert!(quits(&app.update(ctrl('c'))).is_some());
}

#[test]
fn help_without_a_screen_is_said_in_lines() {
    let mut app = on_screen();
    app.interactive = false;
    submit(&mut app, "/help");
    assert!(app.layers.is_empty());
    let help = last_system(&app);
    assert!(
        help.starts_with("Keys:\nEnter: send the message\n"),
        "{help}"
    );
    assert!(
        help.contains("\nF1: show the keys and commands\n"),
        "{help}"
    );
    assert!(help.contains("\n/nick NAME: change your name"), "{help}");
    assert!(
        help.contains("\nexit: end the conversation for both"),
        "{help}"
    );
}

#[test]
fn ctrl_l_asks_for_a_whole_redraw() {
    let mut app = on_screen();
    assert_eq!(app.update(ctrl('l')), vec![Effect::Redraw]);
}

#[test]
fn an_unknown_command_suggests_the_nearest_one_and_stays_in_the_box() {
    let mut app = on_screen();
    let effects = submit(&mut app, "/hlep");
    assert!(sent_frames(&effects).is_empty());
    assert_eq!(
        last_system(&app),
        "unknown command /hlep — did you mean /help?"
    );
    assert_eq!(app.input.text(), "/hlep");
    app.input.take();
    submit(&mut app, "/nikc ally");
    assert_eq!(
        last_system(&app),
        "unknown command /nikc — did you mean /nick?"
    );
    app.input.take();
    submit(&mut app, "/frobnicate");
    assert!(
        last_system(&app).starts_with("unknown command /frobnicate; /help lists them"),
        "{}",
        last_system(&app)
    );
}

#[test]
fn me_sends_an_action_and_one_arrives_as_an_action() {
    let mut app = on_screen();
    let effects = submit(&mut app, "/me waves");
    let frames = sent_frames(&effects);
    let [Frame::Chat(msg)] = frames.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!((msg.text.as_str(), msg.action), ("waves", true));
    assert!(matches!(
        app.history.entries().last(),
        Some(Entry::Chat { text, action: true, .. }) if &**text == "waves"
    ));
    // An empty action is not sent.
    let effects = submit(&mut app, "/me ");
    assert!(sent_frames(&effects).is_empty());
    assert_eq!(last_system(&app), "/me needs an action: /me waves");
    app.input.take();
    // From the peer.
    let effects = app.update(Event::Net(NetEvent::Chat {
        from: 3,
        msg: ChatMessage {
            id: MessageId { session: 9, seq: 1 },
            sent_at_ms: 0,
            text: "nods".to_owned(),
            action: true,
        },
    }));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Output(Output::Message { text, action: true, .. }) if &**text == "nods"
    )));
}

#[test]
fn an_action_to_a_plain_program_is_the_line_as_shown() {
    let mut app = App::new("alice", Role::Guest, 2);
    app.clock = Clock::Fixed(0);
    app.update(joined_with(info(3, "server", &[], true)));
    let effects = submit(&mut app, "/me waves");
    let frames = sent_frames(&effects);
    let [Frame::Chat(msg)] = frames.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!((msg.text.as_str(), msg.action), ("* alice waves", false));
}

#[test]
fn nick_renames_us_on_both_screens_and_in_later_hellos() {
    let mut app = on_screen();
    let effects = submit(&mut app, "/nick  bobby ");
    assert_eq!(app.me, "bobby");
    assert_eq!(app.history.author_name(AuthorId::ME), "bobby");
    assert!(effects.contains(&Effect::Rename("bobby".to_owned())));
    assert_eq!(
        sent_frames(&effects),
        [Frame::Nick {
            name: "bobby".into()
        }]
    );
    assert_eq!(last_system(&app), "bob is now known as bobby");
    // The peer's change.
    let effects = app.update(Event::Net(NetEvent::Renamed {
        from: 3,
        name: " ally\n ".into(),
    }));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Output(Output::System(SystemEvent::Renamed { me: false, .. }))
    )));
    assert_eq!(last_system(&app), "alice is now known as ally");
    assert_eq!(app.connected().map(|p| p.name.as_str()), Some("ally"));
    // A peer that takes our name is still told apart from us.
    app.update(Event::Net(NetEvent::Renamed {
        from: 3,
        name: "bobby".into(),
    }));
    assert_eq!(last_system(&app), "ally is now known as bobby (host)");
}

#[test]
fn a_bad_name_is_refused_and_stays_in_the_box() {
    let mut app = on_screen();
    for bad in [
        "/nick",
        "/nick a\u{1b}b",
        &format!("/nick {}", "x".repeat(30)),
    ] {
        let effects = app.update(Event::Submit(bad.to_owned()));
        assert!(sent_frames(&effects).is_empty(), "{bad}");
        assert_eq!(app.me, "bob");
        assert!(last_system(&app).starts_with("not renamed: "), "{bad}");
        // Back in the box to correct (control characters aside).
        assert!(app.input.text().starts_with("/nick"), "{bad}");
        app.input.take();
    }
}

#[test]
fn a_peer_without_the_capability_is_not_sent_the_change_and_we_are_told() {
    let mut app = App::new("bob", Role::Guest, 2);
    app.clock = Clock::Fixed(0);
    app.update(joined_with(info(3, "alice", &[], false)));
    let effects = submit(&mut app, "/nick bobby");
    assert!(sent_frames(&effects).is_empty());
    assert_eq!(app.me, "bobby");
    assert_eq!(
        last_system(&app),
        "alice's program does not take name changes (an older duplex, or a plain text \
         program): on their screen you are still bob"
    );
}

#[test]
fn clear_empties_the_screen_but_keeps_what_is_on_its_way() {
    let mut app = on_screen();
    app.update(Event::Net(NetEvent::Chat {
        from: 3,
        msg: ChatMessage {
            id: MessageId { session: 9, seq: 1 },
            sent_at_ms: 0,
            text: "hello".to_owned(),
            action: false,
        },
    }));
    submit(&mut app, "on its way");
    let effects = submit(&mut app, "/clear");
    assert!(sent_frames(&effects).is_empty());
    let left: Vec<&Entry> = app.history.entries().iter().collect();
    assert!(
        matches!(left.as_slice(), [Entry::Chat { text, delivery: Delivery::Sent, .. }] if &**text == "on its way"),
        "{left:?}"
    );
    // Its delivery mark still moves on.
    app.update(Event::Net(NetEvent::Ack {
        from: 3,
        up_to: MessageId { session: 2, seq: 1 },
    }));
    assert!(matches!(
        app.history.entries(),
        [Entry::Chat {
            delivery: Delivery::Delivered,
            ..
        }]
    ));
}

#[test]
fn ctrl_c_with_an_undelivered_message_asks_once() {
    let mut app = on_screen();
    submit(&mut app, "hello?");
    assert_eq!(app.unacked(), 1);
    assert!(quits(&app.update(ctrl('c'))).is_none());
    assert_eq!(
        app.layers,
        [Layer::Confirm(LeaveQuestion {
            undelivered: 1,
            draft: false
        })]
    );
    // A second Ctrl-C leaves.
    let effects = app.update(ctrl('c'));
    assert_eq!(quits(&effects).map(|e| e.code), Some(0));
    assert!(sent_frames(&effects).contains(&Frame::Leave));
}

#[test]
fn the_question_follows_deliveries_and_leaves_once_nothing_would_be_lost() {
    let mut app = on_screen();
    submit(&mut app, "one");
    submit(&mut app, "two");
    app.update(ctrl('c'));
    let ack = |seq| {
        Event::Net(NetEvent::Ack {
            from: 3,
            up_to: MessageId { session: 2, seq },
        })
    };
    assert!(quits(&app.update(ack(1))).is_none());
    assert_eq!(
        app.layers,
        [Layer::Confirm(LeaveQuestion {
            undelivered: 1,
            draft: false
        })]
    );
    let effects = app.update(ack(2));
    assert_eq!(quits(&effects).map(|e| e.code), Some(0));
    assert!(sent_frames(&effects).contains(&Frame::Leave));
}

#[test]
fn any_other_key_cancels_the_question_and_does_what_it_does() {
    let mut app = on_screen();
    type_text(&mut app, "draft");
    app.update(ctrl('c'));
    assert_eq!(
        app.layers,
        [Layer::Confirm(LeaveQuestion {
            undelivered: 0,
            draft: true
        })]
    );
    assert!(quits(&app.update(key(KeyCode::Char('s')))).is_none());
    assert!(app.layers.is_empty());
    assert_eq!(app.input.text(), "drafts");
    // Asked again next time.
    assert!(quits(&app.update(ctrl('c'))).is_none());
    assert!(quits(&app.update(ctrl('c'))).is_some());
}

#[test]
fn quit_is_ctrl_c_and_nothing_to_lose_leaves_at_once() {
    let mut app = on_screen();
    submit(&mut app, "hello?");
    assert!(quits(&submit(&mut app, "/quit")).is_none());
    assert!(matches!(app.layers.as_slice(), [Layer::Confirm(_)]));
    assert!(quits(&app.update(ctrl('c'))).is_some());
    // Nothing undelivered, no draft: no question.
    let mut app = on_screen();
    assert!(quits(&submit(&mut app, "/quit")).is_some());
    let mut app = on_screen();
    assert!(quits(&app.update(ctrl('c'))).is_some());
    // Headless: no screen to ask on.
    let mut app = on_screen();
    app.interactive = false;
    submit(&mut app, "hello?");
    assert!(quits(&app.update(Event::Submit("/quit".into()))).is_some());
    // SIGINT from outside never asks.
    let mut app = on_screen();
    submit(&mut app, "hello?");
    assert_eq!(
        quits(&app.update(Event::Terminate(130))).map(|e| e.code),
        Some(130)
    );
}

#[test]
fn an_ended_conversation_stays_on_screen_until_a_key() {
    let mut app = on_screen();
    let effects = app.update(Event::Net(NetEvent::Left {
        from: 3,
        reason: LeftReason::Bye,
    }));
    assert!(quits(&effects).is_none());
    let exit = Exit {
        code: 0,
        message: Some("alice ended the conversation.".to_owned()),
    };
    assert_eq!(
        app.layers,
        [Layer::Ended {
            exit: exit.clone(),
            why: "alice ended the conversation".to_owned()
        }]
    );
    assert_eq!(
        layer::ended_text("alice ended the conversation"),
        "alice ended the conversation · press any key"
    );
    // Scrolling still reads back; any other key leaves, as it would have.
    for _ in 0..20 {
        app.update(Event::Net(NetEvent::Chat {
            from: 3,
            msg: ChatMessage {
                id: MessageId { session: 9, seq: 1 },
                sent_at_ms: 0,
                text: "late".to_owned(),
                action: false,
            },
        }));
        app.history
            .push_system(0, SystemEvent::Info("filler".into()));
    }
    assert!(quits(&app.update(key(KeyCode::PageUp))).is_none());
    assert!(matches!(app.scroll, Scroll::At(_)));
    assert!(quits(&app.update(key(KeyCode::PageDown))).is_none());
    let ctrl_home = Event::Key(KeyEvent::new(KeyCode::Home, KeyModifiers::CONTROL));
    assert!(quits(&app.update(ctrl_home)).is_none());
    assert_eq!(app.scroll, app.pane().oldest());
    let wheel = |kind| {
        Event::Mouse(MouseEvent {
            kind,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        })
    };
    assert!(quits(&app.update(wheel(MouseEventKind::ScrollDown))).is_none());
    assert!(quits(&app.update(wheel(MouseEventKind::ScrollUp))).is_none());
    assert_eq!(app.update(key(KeyCode::Char('x'))), [Effect::Quit(exit)]);
}

#[test]
fn a_lost_host_ends_with_its_status_after_the_key() {
    let mut app = on_screen();
    app.update(Event::Net(NetEvent::Left {
        from: 3,
        reason: LeftReason::Left,
    }));
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(
        quits(&effects),
        Some(&Exit {
            code: 0,
            message: Some("alice (the host) left the conversation.".to_owned())
        })
    );
}

#[test]
fn without_a_screen_the_end_quits_at_once() {
    let mut app = on_screen();
    app.interactive = false;
    let effects = app.update(Event::Net(NetEvent::Left {
        from: 3,
        reason: LeftReason::Bye,
    }));
    assert_eq!(quits(&effects).map(|e| e.code), Some(0));
}

#[test]
fn an_ended_host_sends_a_new_guest_away() {
    let mut app = App::new(
        "alice",
        Role::Host {
            local: "0.0.0.0:7878".parse().unwrap(),
            hints: vec![],
            code: None,
            show_code: false,
        },
        1,
    );
    app.clock = Clock::Fixed(0);
    app.interactive = true;
    app.update(joined(3, "bob"));
    app.update(Event::Net(NetEvent::Left {
        from: 3,
        reason: LeftReason::Bye,
    }));
    assert!(app.ended().is_some());
    let effects = app.update(joined(4, "carol"));
    assert_eq!(
        effects,
        [Effect::Send {
            to: 4,
            frame: Frame::Leave
        }]
    );
    assert!(app.connected().is_none());
    // The end of input (the terminal went away) leaves as the key would.
    assert_eq!(
        quits(&app.update(Event::EndOfInput)).map(|e| e.code),
        Some(0)
    );
}

/// A host on a screen whose guest bob dropped (no goodbye): it waits for
/// bob, and asks about newcomers.
fn host_waiting_for_bob() -> App {
    let mut app = App::new(
        "alice",
        Role::Host {
            local: "0.0.0.0:7878".parse().unwrap(),
            hints: vec![],
            code: None,
            show_code: false,
        },
        1,
    );
    app.clock = Clock::Fixed(0);
    app.interactive = true;
    app.update(Event::Resize(60, 20));
    app.update(joined(3, "bob"));
    app.update(Event::Net(NetEvent::Left {
        from: 3,
        reason: LeftReason::Closed,
    }));
    app
}

/// A newcomer carol knocks; the knock's id.
fn knock(app: &mut App) -> u64 {
    let addr = "10.0.0.7:4000".parse().unwrap();
    let (knock, _answer) =
        crate::net::Knock::new("carol".into(), addr, std::time::Duration::from_secs(60));
    let id = knock.id;
    app.update(Event::Net(NetEvent::Knock(knock)));
    id
}

#[test]
fn a_question_over_the_help_is_answered_first_and_the_help_stays() {
    let mut app = host_waiting_for_bob();
    app.update(key(KeyCode::F(1)));
    let id = knock(&mut app);
    assert!(matches!(
        app.layers.as_slice(),
        [Layer::Help { .. }, Layer::Question(Question::Knock { .. })]
    ));
    // Keys the help would take go to the question on top: nothing.
    assert!(app.update(key(KeyCode::Down)).is_empty());
    let effects = app.update(key(KeyCode::Char('n')));
    assert!(effects.contains(&Effect::Answer {
        knock: id,
        admit: false
    }));
    assert!(matches!(app.layers.as_slice(), [Layer::Help { .. }]));
    app.update(key(KeyCode::Char('x')));
    assert!(app.layers.is_empty());
}

#[test]
fn ctrl_c_on_a_question_asks_first_and_another_key_goes_back_to_it() {
    let mut app = host_waiting_for_bob();
    type_text(&mut app, "a draft");
    let id = knock(&mut app);
    // Ctrl-C with a draft asks before leaving, over the question.
    assert!(quits(&app.update(ctrl('c'))).is_none());
    assert!(matches!(
        app.layers.as_slice(),
        [Layer::Question(_), Layer::Confirm(_)]
    ));
    // Another key cancels that and answers the question under it.
    let effects = app.update(key(KeyCode::Char('y')));
    assert!(effects.contains(&Effect::Answer {
        knock: id,
        admit: true
    }));
    assert!(app.layers.is_empty());
    assert_eq!(app.input.text(), "a draft");
    // With nothing to lose, Ctrl-C on a question leaves at once.
    let mut app = host_waiting_for_bob();
    knock(&mut app);
    assert!(quits(&app.update(ctrl('c'))).is_some());
}

#[test]
fn a_newcomer_waiting_when_the_conversation_ends_is_turned_away() {
    let mut app = host_waiting_for_bob();
    app.update(joined(3, "bob"));
    let id = knock(&mut app);
    let effects = app.update(Event::Net(NetEvent::Left {
        from: 3,
        reason: LeftReason::Bye,
    }));
    assert!(app.ended().is_some());
    assert!(effects.contains(&Effect::Answer {
        knock: id,
        admit: false
    }));
    assert!(matches!(app.layers.as_slice(), [Layer::Ended { .. }]));
    // And one who knocks afterwards too, without a question.
    let addr = "10.0.0.8:4000".parse().unwrap();
    let (late, _answer) =
        crate::net::Knock::new("dave".into(), addr, std::time::Duration::from_secs(60));
    let late_id = late.id;
    let effects = app.update(Event::Net(NetEvent::Knock(late)));
    assert_eq!(
        effects,
        [Effect::Answer {
            knock: late_id,
            admit: false
        }]
    );
    assert!(matches!(app.layers.as_slice(), [Layer::Ended { .. }]));
}
