//! A file transfer's card in the message pane: its words are the
//! presentation's ([`crate::present::card_text`], which the pane also
//! measures), its colour says where the transfer is: moving or offered,
//! done, or failed.

use ratatui::style::Style;

use crate::history::{CardState, TransferCard};
use crate::theme::Theme;

/// The style a card is drawn in, from `theme`.
pub fn style(theme: &Theme, card: &TransferCard) -> Style {
    match card.state {
        CardState::Done { .. } => theme.transfer_done,
        CardState::Failed(_) => theme.error,
        CardState::Offered | CardState::Waiting | CardState::Moving | CardState::Verifying => {
            theme.transfer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(state: CardState) -> TransferCard {
        TransferCard {
            id: 1,
            name: "a".into(),
            sending: false,
            bytes: 0,
            total: 1,
            rate: None,
            state,
        }
    }

    #[test]
    fn a_card_is_coloured_by_its_state() {
        let theme = Theme::dark();
        assert_eq!(style(&theme, &card(CardState::Moving)), theme.transfer);
        let done = CardState::Done {
            hash: "ab".into(),
            saved: None,
        };
        assert_eq!(style(&theme, &card(done)), theme.transfer_done);
        assert_eq!(
            style(&theme, &card(CardState::Failed("x".into()))),
            theme.error
        );
    }
}
