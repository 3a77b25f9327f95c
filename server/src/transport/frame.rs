//! What goes out on a WebSocket: every server message is framed once, when it is serialized, as
//! a [`WireFrame`] (the WebSocket header and the JSON text in one shared buffer), and the same
//! bytes go to every recipient.

use roundtable_protocol::ServerMessage;
use tokio_tungstenite::tungstenite::Bytes;

/// A complete server-to-client WebSocket text frame: header and payload, built once and shared
/// (cheap to clone) by every connection it is sent to. (Two other kinds of bytes for a socket
/// travel the same way: the rest of a frame the socket took part of, [`WireFrame::unwritten_part`],
/// and the response to a direct upgrade, [`super::upgrade::switching_protocols`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame(pub(super) Bytes);

impl WireFrame {
    /// Frames a text message as one final, unmasked text frame (RFC 6455 section 5.2).
    pub fn text(text: String) -> WireFrame {
        let payload = text.into_bytes();
        let len = payload.len();
        let mut frame = Vec::with_capacity(len + 10);
        frame.push(0x80 | 0x1); // FIN, text
        if len < 126 {
            frame.push(len as u8);
        } else if let Ok(len) = u16::try_from(len) {
            frame.push(126);
            frame.extend_from_slice(&len.to_be_bytes());
        } else {
            frame.push(127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
        frame.extend_from_slice(&payload);
        WireFrame(Bytes::from(frame))
    }

    /// The whole frame, as written to the socket.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// What is left to write of this frame after its first `written` bytes went out: not a
    /// frame of its own (it has no header), only for the socket it was partly written to.
    pub fn unwritten_part(&self, written: usize) -> WireFrame {
        WireFrame(self.0.slice(written..))
    }

    /// The message text the frame carries.
    pub fn text_payload(&self) -> &str {
        let start = match self.0[1] {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        std::str::from_utf8(&self.0[start..]).expect("frames are built from strings")
    }
}

/// Serializes and frames a server message once; the bytes are shared by every recipient.
pub fn encode(message: &ServerMessage) -> WireFrame {
    WireFrame::text(serde_json::to_string(message).expect("server messages always serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_length_in_the_shortest_form() {
        for (len, header) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let frame = WireFrame::text("x".repeat(len));
            assert_eq!(frame.as_bytes()[0], 0x81, "FIN and text");
            assert_eq!(frame.as_bytes().len(), header + len);
            assert_eq!(frame.text_payload().len(), len);
            let parsed = tokio_tungstenite::tungstenite::protocol::frame::FrameHeader::parse(
                &mut std::io::Cursor::new(frame.as_bytes()),
            )
            .expect("a valid header")
            .expect("a complete header");
            assert_eq!(parsed.1, len as u64, "the length a WebSocket reader sees");
        }
    }
}
