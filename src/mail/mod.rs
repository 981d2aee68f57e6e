//! The mail edge: the outbox (emails queued inside the transaction of the
//! change that causes them, so none is lost and none is sent for a change
//! that rolled back) and the sender that drains it over SMTP, or into
//! `.eml` files when no SMTP server is configured.

pub mod outbox;
pub mod render;
pub mod sender;

pub use outbox::Outbox;
pub use sender::Mailer;
