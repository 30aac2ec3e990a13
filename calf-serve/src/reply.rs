//! Answering a request of the admin API: a MessagePack body, or an error
//! reply in the worker protocol's form.
//!
//! An error reply carries its code in `Nats-Service-Error-Code` and its
//! message in `Nats-Service-Error`. A header holds one line, and some
//! messages are longer (a program that does not read is shown with its
//! source excerpt), so the header holds the first line and the body the
//! whole message, as UTF-8 text.

use async_nats::HeaderMap;
use bytes::Bytes;
use calf_protocol::header;

use crate::api::code;

/// Why a request was not done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// One of [`crate::api::code`].
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(code::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(code::NOT_FOUND, message)
    }

    pub fn no_such_process(pid: u64) -> ApiError {
        ApiError::not_found(format!("no such process: <{pid}>"))
    }

    pub fn no_such_session(session: u64) -> ApiError {
        ApiError::not_found(format!(
            "no such session: {session} (detached, or idle for too long)"
        ))
    }
}

/// What a request is answered with.
pub type Answer = Result<Vec<u8>, ApiError>;

/// The headers and body of `answer`'s reply.
pub fn reply_parts(answer: Answer) -> (Option<HeaderMap>, Bytes) {
    match answer {
        Ok(body) => (None, Bytes::from(body)),
        Err(error) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::ERROR, header_line(&error.message).as_str());
            headers.insert(header::ERROR_CODE, error.code);
            let body = if error.message.contains(['\n', '\r']) {
                Bytes::from(error.message.into_bytes())
            } else {
                Bytes::new()
            };
            (Some(headers), body)
        }
    }
}

/// The message as a header value: its first non-empty line, without
/// control characters (a header value must not break the line).
pub fn header_line(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("error");
    line.chars().filter(|c| !c.is_control()).collect()
}

/// Sends the reply to `request`, if it asked for one; a failure to send is
/// logged (the client times out, the scheduler goes on).
pub async fn send(client: &async_nats::Client, request: &async_nats::Message, answer: Answer) {
    let Some(reply_to) = request.reply.clone() else {
        tracing::debug!(subject = %request.subject, "a request without a reply subject");
        return;
    };
    let (headers, body) = reply_parts(answer);
    let size = body.len();
    let sent = match headers {
        Some(headers) => {
            client
                .publish_with_headers(reply_to.clone(), headers, body)
                .await
        }
        None => client.publish(reply_to.clone(), body).await,
    };
    let Err(e) = sent else { return };
    tracing::warn!(subject = %request.subject, "cannot send the reply: {e}");
    if e.kind() == async_nats::client::PublishErrorKind::MaxPayloadExceeded {
        // Else the client waits for it until its request times out, and
        // blames the scheduler's load.
        let error = too_large(&request.subject, size, client.server_info().max_payload);
        let (headers, body) = reply_parts(Err(error));
        if let Err(e) = client
            .publish_with_headers(reply_to, headers.unwrap_or_default(), body)
            .await
        {
            tracing::warn!(subject = %request.subject, "cannot send the error reply: {e}");
        }
    }
}

/// The error of an answer of `size` bytes that the server does not take.
fn too_large(subject: &str, size: usize, max_payload: usize) -> ApiError {
    let hint = if subject == crate::api::subject::PS {
        "; `calf ps --summary` (calf.api.summary) gives the counts"
    } else {
        ""
    };
    ApiError::new(
        code::INTERNAL,
        format!(
            "the answer to {subject} is too large to send: {size} bytes, more than the NATS \
             server's max_payload of {max_payload} bytes{hint}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_reply_has_both_headers_and_the_long_message_in_its_body() {
        let error = ApiError::new(code::UNPROCESSABLE, "error: unclosed (\n  1 | (foo\n");
        let (headers, body) = reply_parts(Err(error));
        let headers = headers.expect("an error has headers");
        let get = |name| headers.get(name).map(|v| v.as_str().to_string());
        assert_eq!(get(header::ERROR).as_deref(), Some("error: unclosed ("));
        assert_eq!(get(header::ERROR_CODE).as_deref(), Some("422"));
        assert_eq!(&body[..], b"error: unclosed (\n  1 | (foo\n");
    }

    #[test]
    fn a_one_line_error_has_an_empty_body() {
        let (headers, body) = reply_parts(Err(ApiError::no_such_process(12)));
        assert!(headers.is_some());
        assert!(body.is_empty());
        assert_eq!(header_line("\n\n  a\tb\n c"), "ab");
    }
}
