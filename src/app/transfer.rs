//! Files inside the conversation, as the app sees them: the commands
//! (`/send`, `/accept`, `/decline`, `/transfers`, `/cancel`), the
//! transfers in progress (pure state machines from `crate::transfer`),
//! and what the person and scripts are told. The runtime does the IO the
//! state machines ask for ([`Effect::Files`]) and reports back with
//! [`Event::Files`](super::Event::Files).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{App, Effect, Output};
use crate::history::{CardState, SystemEvent, TransferCard};
use crate::protocol::Frame;
use crate::protocol::codec::MAX_PLAINTEXT_LEN;
use crate::protocol::frame::capability;
use crate::protocol::transfer::{TransferFrame, TransferId};
use crate::transfer::{Action, IoDone, Phase, Receiver, Sender};

/// Progress notes for scripts at most this often, per transfer.
pub const PROGRESS_EVERY_MS: i64 = 250;

/// Where files land and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileOptions {
    /// The folder files are received in (`--downloads`).
    pub downloads: PathBuf,
    /// Accept every offer at once (`--auto-accept`).
    pub auto_accept: bool,
    /// Decline offers with a file larger than this (`--max-file-size`).
    pub max_file_size: Option<u64>,
}

/// One end of a transfer.
#[derive(Debug, Clone)]
pub enum Side {
    /// We send.
    Sending(Sender),
    /// We receive.
    Receiving(Receiver),
}

/// A transfer and what the person sees of it.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Our end of it.
    pub side: Side,
    /// What it is called: the first entry, and how many more.
    pub name: String,
    /// When it started (monotonic ms), for the rate.
    pub started_ms: i64,
    /// When bytes began moving (monotonic ms), and how many had moved
    /// then: the card's rate is counted from there.
    moving_from: Option<(i64, u64)>,
    /// Bytes per second when progress was last told.
    told_rate: Option<u64>,
    /// When progress was last told.
    told_ms: i64,
    /// The phase last told.
    told: Phase,
}

impl Transfer {
    /// Where it is.
    pub fn phase(&self) -> &Phase {
        match &self.side {
            Side::Sending(sender) => &sender.phase,
            Side::Receiving(receiver) => &receiver.phase,
        }
    }

    /// Bytes moved and the total.
    pub fn progress(&self) -> (u64, u64) {
        match &self.side {
            Side::Sending(sender) => (sender.sent, sender.offer.total),
            Side::Receiving(receiver) => (receiver.received, receiver.offer.total),
        }
    }

    fn sending(&self) -> bool {
        matches!(self.side, Side::Sending(_))
    }

    /// What was offered.
    fn offer(&self) -> &crate::protocol::transfer::Offer {
        match &self.side {
            Side::Sending(sender) => &sender.offer,
            Side::Receiving(receiver) => &receiver.offer,
        }
    }

    /// Bytes per second since bytes began moving, at `now_ms`.
    fn rate(&self, now_ms: i64) -> Option<u64> {
        let (since, from) = self.moving_from?;
        let elapsed = u64::try_from(now_ms - since).ok().filter(|ms| *ms > 0)?;
        let moved = self.progress().0.saturating_sub(from);
        Some(moved.saturating_mul(1000) / elapsed)
    }

    /// The card the conversation shows for it, at `now_ms`.
    fn card(&self, id: TransferId, now_ms: i64) -> TransferCard {
        let (bytes, total) = self.progress();
        let state = match self.phase() {
            Phase::Offered if self.sending() => CardState::Waiting,
            Phase::Offered => CardState::Offered,
            Phase::Moving => CardState::Moving,
            Phase::Verifying => CardState::Verifying,
            Phase::Done(hash) => CardState::Done {
                hash: hash.clone(),
                saved: match &self.side {
                    Side::Receiving(r) => {
                        r.saved.first().or_else(|| r.paths().first()).map(|path| {
                            crate::text::sanitize_text(&path.display().to_string()).into_owned()
                        })
                    }
                    Side::Sending(_) => None,
                },
            },
            Phase::Failed(reason) => CardState::Failed(reason.clone()),
        };
        TransferCard {
            id,
            name: card_name(self.offer()),
            sending: self.sending(),
            bytes,
            total,
            rate: self.rate(now_ms),
            state,
        }
    }
}

/// What a card calls an offer: its one top-level entry's name, or how many
/// files and folders (`3 files, 1 folder`).
fn card_name(offer: &crate::protocol::transfer::Offer) -> String {
    use crate::protocol::transfer::EntryKind;
    let tops: Vec<_> = offer
        .entries
        .iter()
        .filter(|entry| !entry.path.contains('/'))
        .collect();
    if let [one] = tops[..] {
        return crate::text::sanitize_text(&one.path).into_owned();
    }
    let count = |kind: EntryKind, one: &str, many: &str| {
        let n = tops.iter().filter(|entry| entry.kind == kind).count();
        (n > 0).then(|| format!("{n} {}", if n == 1 { one } else { many }))
    };
    [
        count(EntryKind::File, "file", "files"),
        count(EntryKind::Dir, "folder", "folders"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

/// What happened to a transfer, for the front ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferNote {
    /// `offer`, `progress`, `done` or `failed`.
    pub event: &'static str,
    /// The transfer, in hex.
    pub id: String,
    /// Whether we send it.
    pub sending: bool,
    /// What it is called.
    pub name: String,
    /// Bytes moved so far.
    pub bytes: u64,
    /// Bytes in all.
    pub total: u64,
    /// The whole line, for a person.
    pub text: String,
}

/// Every transfer moving, summed for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovingTotal {
    /// How many transfers move.
    pub count: usize,
    /// What the first is called (the one, when only one moves).
    pub name: String,
    /// Bytes moved, in all.
    pub bytes: u64,
    /// Bytes to move, in all.
    pub total: u64,
    /// Bytes per second, in all.
    pub rate: u64,
}

/// Every transfer of this run.
#[derive(Debug, Clone, Default)]
pub struct Transfers {
    /// Where files land and what is accepted.
    pub options: FileOptions,
    /// By id, oldest first.
    list: BTreeMap<TransferId, Transfer>,
}

impl Transfers {
    /// Every transfer, oldest first.
    pub fn iter(&self) -> std::collections::btree_map::Iter<'_, TransferId, Transfer> {
        self.list.iter()
    }

    /// Bytes moving and in all, over the transfers not over yet.
    pub fn moving(&self) -> Option<(u64, u64)> {
        let active: Vec<_> = self
            .list
            .values()
            .filter(|t| *t.phase() == Phase::Moving || *t.phase() == Phase::Verifying)
            .map(Transfer::progress)
            .collect();
        (!active.is_empty()).then(|| active.iter().fold((0, 0), |(a, b), (x, y)| (a + x, b + y)))
    }

    /// What the status bar shows while anything moves: how many
    /// transfers, what the one is called, bytes moved and in all, and the
    /// rate, summed over the transfers moving or being verified (as last
    /// told).
    pub fn total(&self) -> Option<MovingTotal> {
        let active: Vec<&Transfer> = self
            .list
            .values()
            .filter(|t| *t.phase() == Phase::Moving || *t.phase() == Phase::Verifying)
            .collect();
        let first = active.first()?;
        Some(MovingTotal {
            count: active.len(),
            name: card_name(first.offer()),
            bytes: active.iter().map(|t| t.progress().0).sum(),
            total: active.iter().map(|t| t.progress().1).sum(),
            rate: active.iter().filter_map(|t| t.told_rate).sum(),
        })
    }

    /// The newest offer we have not answered.
    fn newest_offer(&self) -> Option<TransferId> {
        self.list
            .iter()
            .rev()
            .find(|(_, t)| matches!(&t.side, Side::Receiving(r) if r.is_offered()))
            .map(|(id, _)| *id)
    }
}

/// A typed line, if it is a transfer command.
enum FileCommand {
    Send(Vec<PathBuf>),
    Accept(Option<PathBuf>),
    Decline,
    List,
    Cancel(Option<String>),
}

fn file_command(line: &str) -> Option<FileCommand> {
    let rest = line.trim().strip_prefix('/')?;
    let (name, args) = match rest.split_once(char::is_whitespace) {
        Some((name, args)) => (name, args.trim()),
        None => (rest, ""),
    };
    let arg = (!args.is_empty()).then(|| args.to_owned());
    Some(match name {
        "send" => FileCommand::Send(split_paths(args)),
        "accept" => FileCommand::Accept(arg.map(PathBuf::from)),
        "decline" => FileCommand::Decline,
        "transfers" => FileCommand::List,
        "cancel" => FileCommand::Cancel(arg),
        _ => return None,
    })
}

/// Paths separated by spaces; a path with spaces in double quotes, or
/// with each space escaped with `\`.
fn split_paths(args: &str) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if !quoted => current.extend(chars.next()),
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    paths.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        paths.push(PathBuf::from(current));
    }
    paths
}

pub use crate::present::size_text;

fn hex(id: TransferId) -> String {
    format!("{id:016x}")
}

impl App {
    /// A transfer command typed by the person, or `None` for any other line.
    pub(super) fn transfer_command(&mut self, line: &str) -> Option<Vec<Effect>> {
        Some(match file_command(line)? {
            FileCommand::Send(paths) => self.offer_files(paths),
            FileCommand::Accept(dir) => match self.transfers.newest_offer() {
                Some(id) => self.accept_offer(id, dir),
                None => self.files_info("there is no offer to accept"),
            },
            FileCommand::Decline => match self.transfers.newest_offer() {
                Some(id) => self.step(id, |side| match side {
                    Side::Receiving(r) => r.decline("the person declined"),
                    Side::Sending(_) => Vec::new(),
                }),
                None => self.files_info("there is no offer to decline"),
            },
            FileCommand::List => {
                let lines: Vec<String> = self
                    .transfers
                    .iter()
                    .map(|(id, t)| self.transfer_line(*id, t))
                    .collect();
                if lines.is_empty() {
                    self.files_info("no transfers yet")
                } else {
                    self.files_info(&lines.join("\n"))
                }
            }
            FileCommand::Cancel(which) => {
                let id = match which {
                    Some(prefix) => self
                        .transfers
                        .iter()
                        .find(|(id, t)| !t.phase().is_over() && hex(**id).starts_with(&prefix))
                        .map(|(id, _)| *id),
                    None => self
                        .transfers
                        .iter()
                        .rev()
                        .find(|(_, t)| !t.phase().is_over())
                        .map(|(id, _)| *id),
                };
                match id {
                    Some(id) => self.step(id, |side| match side {
                        Side::Sending(s) => s.cancel("cancelled by the sender"),
                        Side::Receiving(r) => r.cancel("cancelled by the receiver"),
                    }),
                    None => self.files_info("no transfer to cancel"),
                }
            }
        })
    }

    fn files_info(&mut self, text: &str) -> Vec<Effect> {
        self.system(SystemEvent::Info(text.to_owned()))
    }

    fn files_error(&mut self, text: &str) -> Vec<Effect> {
        self.system(SystemEvent::Error(text.to_owned()))
    }

    fn offer_files(&mut self, paths: Vec<PathBuf>) -> Vec<Effect> {
        if paths.is_empty() {
            return self.files_error("/send needs a file or folder: /send PATH…");
        }
        let Some(peer) = self.connected() else {
            return self.files_error("not sent: nobody is connected");
        };
        if peer.is_plain() {
            let name = peer.name.clone();
            return self.files_error(&format!(
                "not sent: {name} is a plain text program and cannot receive files"
            ));
        }
        if !peer.caps.has(capability::FILES) {
            let name = peer.name.clone();
            return self.files_error(&format!(
                "not sent: {name}'s duplex cannot receive files (it is older)"
            ));
        }
        let id = rand::random::<u64>();
        vec![Effect::Files(Action::Scan { id, paths })]
    }

    fn accept_offer(&mut self, id: TransferId, dir: Option<PathBuf>) -> Vec<Effect> {
        let dir = dir.unwrap_or_else(|| self.transfers.options.downloads.clone());
        self.step(id, |side| match side {
            Side::Receiving(r) => r.accept(dir),
            Side::Sending(_) => Vec::new(),
        })
    }

    /// A transfer frame from the peer.
    pub(super) fn on_transfer_frame(&mut self, frame: TransferFrame) -> Vec<Effect> {
        let id = frame.id();
        if let TransferFrame::Offer(offer) = frame {
            if self.transfers.list.contains_key(&id) {
                return Vec::new(); // offered again after a reconnect
            }
            return self.on_offer(offer);
        }
        if !self.transfers.list.contains_key(&id) {
            return Vec::new();
        }
        self.step(id, |side| match side {
            Side::Sending(s) => s.on_frame(frame),
            Side::Receiving(r) => r.on_frame(frame),
        })
    }

    fn on_offer(&mut self, offer: crate::protocol::transfer::Offer) -> Vec<Effect> {
        let id = offer.id;
        let name = summary(&offer);
        let total = offer.total;
        let count = offer.entries.len();
        let biggest = offer.entries.iter().map(|e| e.size).max().unwrap_or(0);
        let from = self.peer_name().unwrap_or_else(|| "the peer".to_owned());
        let refused = match Receiver::new(offer.clone()) {
            Ok(receiver) => match self.transfers.options.max_file_size {
                Some(max) if biggest > max => Err((
                    Receiver::new(offer).ok(),
                    format!("a file is over the {} limit", size_text(max)),
                )),
                _ => Ok(receiver),
            },
            Err(reason) => Err((None, reason)),
        };
        match refused {
            Ok(receiver) => {
                self.insert(id, Side::Receiving(receiver), name.clone());
                let text = format!(
                    "{from} offers {name} ({count} {}, {}) [{}]: /accept [DIR] or /decline",
                    if count == 1 { "entry" } else { "entries" },
                    size_text(total),
                    &hex(id)[..8],
                );
                let mut effects = self.note(id, "offer", text);
                if self.transfers.options.auto_accept {
                    effects.extend(self.accept_offer(id, None));
                }
                effects
            }
            Err((receiver, reason)) => {
                let mut effects =
                    self.files_error(&format!("declined {from}'s offer of {name}: {reason}"));
                if let Some(receiver) = receiver {
                    self.insert(id, Side::Receiving(receiver), name);
                    effects.extend(self.step(id, |side| match side {
                        Side::Receiving(r) => r.decline(&reason),
                        Side::Sending(_) => Vec::new(),
                    }));
                } else {
                    effects.extend(self.send_transfer(TransferFrame::Decline { id, reason }));
                }
                effects
            }
        }
    }

    fn insert(&mut self, id: TransferId, side: Side, name: String) {
        let now = self.clock.mono_ms();
        self.transfers.list.insert(
            id,
            Transfer {
                side,
                name,
                started_ms: now,
                moving_from: None,
                told_rate: None,
                told_ms: now,
                told: Phase::Offered,
            },
        );
    }

    /// What the runtime did for a transfer.
    pub(super) fn on_files_io(&mut self, done: IoDone) -> Vec<Effect> {
        let id = done.id();
        if let IoDone::Scanned { listing, .. } = done {
            return self.on_scanned(id, listing);
        }
        if !self.transfers.list.contains_key(&id) {
            return Vec::new();
        }
        self.step(id, |side| match side {
            Side::Sending(s) => s.on_io(done),
            Side::Receiving(r) => r.on_io(done),
        })
    }

    fn on_scanned(
        &mut self,
        id: TransferId,
        listing: Result<Vec<crate::transfer::Listed>, String>,
    ) -> Vec<Effect> {
        let listing = match listing {
            Ok(listing) => listing,
            Err(err) => return self.files_error(&format!("not sent: {err}")),
        };
        let (sender, actions) = match Sender::new(id, listing) {
            Ok(made) => made,
            Err(err) => return self.files_error(&format!("not sent: {err}")),
        };
        let fits = Frame::Transfer(TransferFrame::Offer(sender.offer.clone()))
            .encode()
            .is_ok_and(|bytes| bytes.len() <= MAX_PLAINTEXT_LEN);
        if !fits {
            return self.files_error(&format!(
                "not sent: {} entries are too many for one offer; send the folders one by one",
                sender.offer.entries.len()
            ));
        }
        let name = summary(&sender.offer);
        let total = sender.offer.total;
        let count = sender.offer.entries.len();
        self.insert(id, Side::Sending(sender), name.clone());
        let to = self.peer_name().unwrap_or_else(|| "the peer".to_owned());
        let mut effects = self.note(
            id,
            "offer",
            format!(
                "offering {name} ({count} {}, {}) to {to} [{}]; waiting for an answer",
                if count == 1 { "entry" } else { "entries" },
                size_text(total),
                &hex(id)[..8]
            ),
        );
        effects.extend(self.carry_out(actions));
        effects
    }

    /// After the conversation resumed on a new connection: each transfer
    /// picks up where it was.
    pub(super) fn transfers_reconnected(&mut self) -> Vec<Effect> {
        let ids: Vec<TransferId> = self.transfers.list.keys().copied().collect();
        let mut effects = Vec::new();
        for id in ids {
            let offer = match self.transfers.list.get_mut(&id).map(|t| &mut t.side) {
                Some(Side::Sending(sender)) if !sender.phase.is_over() => {
                    // Offered again: a receiver that knows it skips the
                    // offer; one that restarted (and lost it) sees it anew.
                    sender.reconnected();
                    Some(sender.offer.clone())
                }
                _ => None,
            };
            if let Some(offer) = offer {
                effects.extend(self.send_transfer(TransferFrame::Offer(offer)));
            }
            effects.extend(self.step(id, |side| match side {
                Side::Receiving(r) => r.reconnected(),
                Side::Sending(_) => Vec::new(),
            }));
        }
        effects
    }

    /// The conversation ended for good: every transfer not over fails.
    pub(super) fn transfers_ended(&mut self, reason: &str) -> Vec<Effect> {
        let ids: Vec<TransferId> = self
            .transfers
            .list
            .iter()
            .filter(|(_, t)| !t.phase().is_over())
            .map(|(id, _)| *id)
            .collect();
        let mut effects = Vec::new();
        for id in ids {
            effects.extend(self.step(id, |side| match side {
                Side::Sending(s) => s.cancel(reason),
                Side::Receiving(r) => r.cancel(reason),
            }));
        }
        effects
    }

    /// Runs one step of a transfer, carries out its actions and tells
    /// what changed.
    fn step(&mut self, id: TransferId, step: impl FnOnce(&mut Side) -> Vec<Action>) -> Vec<Effect> {
        let Some(transfer) = self.transfers.list.get_mut(&id) else {
            return Vec::new();
        };
        let actions = step(&mut transfer.side);
        let mut effects = self.carry_out(actions);
        effects.extend(self.tell(id));
        effects
    }

    fn carry_out(&mut self, actions: Vec<Action>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for action in actions {
            match action {
                Action::Send(frame) => effects.extend(self.send_transfer(frame)),
                other => effects.push(Effect::Files(other)),
            }
        }
        effects
    }

    /// Sends a transfer frame to the connected peer (nothing while
    /// disconnected: the transfer resumes when the conversation does).
    fn send_transfer(&mut self, frame: TransferFrame) -> Vec<Effect> {
        match self.connected() {
            Some(peer) => vec![Effect::Send {
                to: peer.id,
                frame: Frame::Transfer(frame),
            }],
            None => Vec::new(),
        }
    }

    /// Tells the front ends what changed: a new phase at once, progress at
    /// most every [`PROGRESS_EVERY_MS`].
    fn tell(&mut self, id: TransferId) -> Vec<Effect> {
        let mut effects = self.tell_resumed(id);
        effects.extend(self.tell_phase(id));
        effects
    }

    /// Says once where a transfer picked up after a reconnect.
    fn tell_resumed(&mut self, id: TransferId) -> Vec<Effect> {
        let Some(transfer) = self.transfers.list.get_mut(&id) else {
            return Vec::new();
        };
        let at = match &mut transfer.side {
            Side::Sending(s) => s.resumed_at.take(),
            Side::Receiving(r) => r.resumed_at.take(),
        };
        let Some(at) = at else {
            return Vec::new();
        };
        let (_, total) = transfer.progress();
        let text = format!(
            "[{}] {}: resumed at {} of {} (what the receiver had matched its hash)",
            &hex(id)[..8],
            transfer.name,
            size_text(at),
            size_text(total)
        );
        self.note(id, "resumed", text)
    }

    fn tell_phase(&mut self, id: TransferId) -> Vec<Effect> {
        let now = self.clock.mono_ms();
        let Some(transfer) = self.transfers.list.get_mut(&id) else {
            return Vec::new();
        };
        let phase = transfer.phase().clone();
        if phase == Phase::Moving && transfer.moving_from.is_none() {
            transfer.moving_from = Some((now, transfer.progress().0));
        }
        let changed = phase != transfer.told;
        let due = now - transfer.told_ms >= PROGRESS_EVERY_MS;
        let event = match &phase {
            Phase::Done(_) if changed => "done",
            Phase::Failed(_) if changed => "failed",
            Phase::Moving | Phase::Verifying if changed || due => "progress",
            _ => return Vec::new(),
        };
        transfer.told = phase;
        transfer.told_ms = now;
        transfer.told_rate = transfer.rate(now);
        let transfer = transfer.clone();
        let text = self.transfer_line(id, &transfer);
        if event == "progress" {
            // Scripts get progress; a person's screen the card, in place.
            self.show_card(id, &transfer);
            return vec![Effect::Output(Output::Transfer(
                self.note_of(id, event, &transfer, text),
            ))];
        }
        self.note(id, event, text)
    }

    /// A line about a transfer for the person, and a note for scripts.
    fn note(&mut self, id: TransferId, event: &'static str, text: String) -> Vec<Effect> {
        let Some(transfer) = self.transfers.list.get(&id).cloned() else {
            return Vec::new();
        };
        self.show_card(id, &transfer);
        vec![Effect::Output(Output::Transfer(
            self.note_of(id, event, &transfer, text),
        ))]
    }

    /// Shows the transfer's card: in place of the one shown, or as a new
    /// entry (the first time, or when the old one is no longer kept).
    fn show_card(&mut self, id: TransferId, transfer: &Transfer) {
        let card = transfer.card(id, self.clock.mono_ms());
        if !self.history.update_transfer(card.clone()) {
            self.history
                .push_system(self.clock.now_ms(), SystemEvent::Transfer(card));
            self.note_arrival();
        }
    }

    fn note_of(
        &self,
        id: TransferId,
        event: &'static str,
        transfer: &Transfer,
        text: String,
    ) -> TransferNote {
        let (bytes, total) = transfer.progress();
        TransferNote {
            event,
            id: hex(id),
            sending: transfer.sending(),
            name: transfer.name.clone(),
            bytes,
            total,
            text,
        }
    }

    /// One line about a transfer: name, direction, percent, rate, time
    /// left, state.
    fn transfer_line(&self, id: TransferId, transfer: &Transfer) -> String {
        let (bytes, total) = transfer.progress();
        let percent = (bytes.saturating_mul(100))
            .checked_div(total)
            .unwrap_or(100);
        let elapsed_ms = (self.clock.mono_ms() - transfer.started_ms).max(1);
        let rate = bytes as f64 * 1000.0 / elapsed_ms as f64;
        let direction = if transfer.sending() {
            "sending"
        } else {
            "receiving"
        };
        let short = &hex(id)[..8];
        let name = &transfer.name;
        match transfer.phase() {
            Phase::Offered => format!("[{short}] {name}: offered, {}", size_text(total)),
            Phase::Moving | Phase::Verifying => {
                let left = if rate > 0.0 {
                    format!(
                        ", {} s left",
                        ((total - bytes.min(total)) as f64 / rate).ceil()
                    )
                } else {
                    String::new()
                };
                format!(
                    "[{short}] {name}: {direction} {percent}% of {}, {}/s{left}",
                    size_text(total),
                    size_text(rate as u64)
                )
            }
            Phase::Done(hash) => {
                let saved = match &transfer.side {
                    Side::Receiving(r) => match r.saved.first() {
                        Some(path) => format!(" into {}", path.display()),
                        None => r
                            .paths()
                            .first()
                            .map(|path| format!(" into {}", path.display()))
                            .unwrap_or_default(),
                    },
                    Side::Sending(_) => String::new(),
                };
                format!(
                    "[{short}] {name}: done ✓ {hash}, {}{saved}",
                    size_text(total)
                )
            }
            Phase::Failed(reason) => format!("[{short}] {name}: failed: {reason}"),
        }
    }
}

/// What an offer is called: its first top-level entry, and how many more.
fn summary(offer: &crate::protocol::transfer::Offer) -> String {
    let first = offer
        .entries
        .first()
        .map(|entry| crate::text::sanitize_text(&entry.path).into_owned())
        .unwrap_or_default();
    let tops = offer
        .entries
        .iter()
        .filter(|entry| !entry.path.contains('/'))
        .count();
    if tops > 1 {
        format!("{first} and {} more", tops - 1)
    } else {
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Event, Role};
    use crate::domain::{Capabilities, PeerInfo, Security};
    use crate::net::{NetEvent, PeerLink};
    use crate::protocol::transfer::{EntryKind, Offer, OfferEntry};
    use crate::transfer::IoDone;

    fn connected(security: Security, caps: &[&str]) -> App {
        let mut app = App::new("alice", Role::Guest, 1);
        let info = PeerInfo {
            id: 3,
            name: "bob".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            security,
            resumed: false,
            resume: None,
            caps: Capabilities::from_names(caps.iter().copied()),
        };
        app.update(Event::Net(NetEvent::Joined {
            info,
            link: PeerLink::detached(3),
        }));
        app
    }

    fn encrypted() -> App {
        connected(
            Security::Encrypted {
                verification: "a-b-c-d".into(),
                with_code: false,
            },
            &["files"],
        )
    }

    fn offer(path: &str, size: u64) -> Event {
        Event::Net(NetEvent::Transfer {
            from: 3,
            frame: TransferFrame::Offer(Offer {
                id: 9,
                entries: vec![OfferEntry {
                    path: path.into(),
                    size,
                    kind: EntryKind::File,
                }],
                total: size,
            }),
        })
    }

    fn declined(effects: &[Effect]) -> Option<String> {
        effects.iter().find_map(|effect| match effect {
            Effect::Send {
                frame: Frame::Transfer(TransferFrame::Decline { reason, .. }),
                ..
            } => Some(reason.clone()),
            _ => None,
        })
    }

    fn errors(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Output(Output::System(SystemEvent::Error(text))) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_offer_with_a_hostile_name_is_declined_and_nothing_is_written() {
        let mut app = encrypted();
        let effects = app.update(offer("../../.ssh/authorized_keys", 10));
        let reason = declined(&effects).expect("a decline");
        assert!(reason.contains("unsafe name"), "{reason}");
        assert!(!effects.iter().any(|e| matches!(e, Effect::Files(_))));
    }

    #[test]
    fn an_offer_over_the_size_limit_is_declined() {
        let mut app = encrypted();
        app.transfers.options.max_file_size = Some(100);
        let effects = app.update(offer("big.iso", 101));
        let reason = declined(&effects).expect("a decline");
        assert!(reason.contains("limit"), "{reason}");
        let mut app = encrypted();
        app.transfers.options.max_file_size = Some(100);
        assert_eq!(declined(&app.update(offer("ok.txt", 100))), None);
    }

    #[test]
    fn nothing_is_prepared_before_accepting_unless_auto_accept() {
        let mut app = encrypted();
        let effects = app.update(offer("a.txt", 3));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Files(_))));
        let effects = app.update(Event::Submit("/accept".into()));
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::Files(Action::Prepare { .. })))
        );
        let mut app = encrypted();
        app.transfers.options.auto_accept = true;
        let effects = app.update(offer("a.txt", 3));
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::Files(Action::Prepare { .. })))
        );
    }

    #[test]
    fn a_plain_peer_or_an_older_duplex_cannot_be_sent_files() {
        let mut app = connected(Security::Plain { encoding: "UTF-8" }, &[]);
        let effects = app.update(Event::Submit("/send a.txt".into()));
        assert!(
            errors(&effects)[0].contains("plain text program"),
            "{effects:?}"
        );
        let mut app = connected(
            Security::Encrypted {
                verification: "a-b-c-d".into(),
                with_code: false,
            },
            &[],
        );
        let effects = app.update(Event::Submit("/send a.txt".into()));
        assert!(
            errors(&effects)[0].contains("cannot receive files"),
            "{effects:?}"
        );
        let effects = encrypted().update(Event::Submit("/send a.txt".into()));
        assert!(matches!(&effects[..], [Effect::Files(Action::Scan { .. })]));
    }

    #[test]
    fn a_card_names_the_one_entry_or_counts_files_and_folders() {
        let entry = |path: &str, kind| OfferEntry {
            path: path.into(),
            size: 1,
            kind,
        };
        let offer = |entries| Offer {
            id: 1,
            entries,
            total: 3,
        };
        let one = offer(vec![
            entry("photos", EntryKind::Dir),
            entry("photos/a.jpg", EntryKind::File),
        ]);
        assert_eq!(card_name(&one), "photos");
        let several = offer(vec![
            entry("a.txt", EntryKind::File),
            entry("b.txt", EntryKind::File),
            entry("c.txt", EntryKind::File),
            entry("logs", EntryKind::Dir),
            entry("logs/d.txt", EntryKind::File),
        ]);
        assert_eq!(card_name(&several), "3 files, 1 folder");
    }

    #[test]
    fn the_total_sums_what_moves_with_its_rate() {
        let mut app = encrypted();
        app.clock = crate::app::Clock::Fixed(1_000);
        app.update(offer("a.txt", 1000));
        assert_eq!(app.transfers.total(), None, "an offer does not move");
        app.update(Event::Submit("/accept".into()));
        app.update(Event::Files(IoDone::Prepared {
            id: 9,
            paths: vec![PathBuf::from("/dl/a.txt")],
        }));
        app.clock = crate::app::Clock::Fixed(2_000);
        app.update(Event::Net(NetEvent::Transfer {
            from: 3,
            frame: TransferFrame::Chunk {
                id: 9,
                entry: 0,
                offset: 0,
                bytes: vec![0; 400],
            },
        }));
        assert_eq!(
            app.transfers.total(),
            Some(MovingTotal {
                count: 1,
                name: "a.txt".into(),
                bytes: 400,
                total: 1000,
                rate: 400,
            })
        );
    }

    fn cards(app: &App) -> Vec<TransferCard> {
        app.history
            .entries()
            .iter()
            .filter_map(|entry| match entry {
                crate::history::Entry::System { event, .. } => match &**event {
                    SystemEvent::Transfer(card) => Some(card.clone()),
                    _ => None,
                },
                crate::history::Entry::Chat { .. } => None,
            })
            .collect()
    }

    #[test]
    fn the_senders_card_waits_for_an_answer_then_moves_in_the_same_place() {
        let mut app = encrypted();
        app.update(Event::Files(IoDone::Scanned {
            id: 5,
            listing: Ok(vec![crate::transfer::Listed {
                source: PathBuf::from("/src/a.txt"),
                path: "a.txt".into(),
                size: 10,
                kind: EntryKind::File,
            }]),
        }));
        let shown = cards(&app);
        assert_eq!(shown.len(), 1);
        assert!(shown[0].sending);
        assert_eq!(shown[0].state, CardState::Waiting);
        app.update(Event::Net(NetEvent::Transfer {
            from: 3,
            frame: TransferFrame::Accept { id: 5 },
        }));
        let shown = cards(&app);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(shown[0].state, CardState::Moving);
        app.update(Event::Net(NetEvent::Transfer {
            from: 3,
            frame: TransferFrame::Cancel {
                id: 5,
                reason: "no room".into(),
            },
        }));
        let shown = cards(&app);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            matches!(&shown[0].state, CardState::Failed(why) if why.contains("no room")),
            "{shown:?}"
        );
    }

    #[test]
    fn an_offer_to_us_is_a_card_that_says_how_to_answer() {
        let mut app = encrypted();
        app.update(offer("a.txt", 3));
        let shown = cards(&app);
        assert_eq!(shown.len(), 1);
        assert!(!shown[0].sending);
        assert_eq!(shown[0].state, CardState::Offered);
    }

    #[test]
    fn paths_split_on_spaces_unless_quoted_or_escaped() {
        assert_eq!(
            split_paths(r#"a.txt "my dir/b c" d\ e  f"#),
            ["a.txt", "my dir/b c", "d e", "f"].map(PathBuf::from)
        );
    }
}
