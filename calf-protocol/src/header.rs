//! Header names, spelled as they are sent, and how a received one is
//! found: names are matched without regard to ASCII case, since a worker
//! in another language may send them in any case.

/// The idempotency key: the same on every attempt of one call.
pub const CALL_ID: &str = "Calf-Call-Id";
/// The attempt number, decimal, from 1.
pub const ATTEMPT: &str = "Calf-Attempt";
/// The deadline of the whole call, unix time in milliseconds, decimal.
pub const DEADLINE: &str = "Calf-Deadline";
/// The tenant the call is made for (under `calf serve`).
pub const TENANT: &str = "Calf-Tenant";
/// The W3C trace context of the call (`00-<trace id>-<span id>-01`): a
/// worker that uses OpenTelemetry continues the call's trace.
pub const TRACEPARENT: &str = "traceparent";
/// An error reply's message for people (the NATS services header).
pub const ERROR: &str = "Nats-Service-Error";
/// An error reply's code (the NATS services header).
pub const ERROR_CODE: &str = "Nats-Service-Error-Code";
/// `true` or `false`: the worker's verdict on retrying an error
/// ([`crate::retry`]).
pub const RETRYABLE: &str = "Calf-Retryable";

/// The headers of a request, in the order the protocol lists them.
pub const REQUEST: [&str; 5] = [CALL_ID, ATTEMPT, DEADLINE, TENANT, TRACEPARENT];

/// The headers of an error reply, in the order the protocol lists them.
pub const ERROR_REPLY: [&str; 3] = [ERROR, ERROR_CODE, RETRYABLE];

/// Whether a header received as `received` is the header `name`.
pub fn is(received: &str, name: &str) -> bool {
    received.eq_ignore_ascii_case(name)
}

/// The value of header `name` among `headers` (name and value pairs, as a
/// NATS client's header map iterates), its name matched by [`is`].
///
/// ```
/// use calf_protocol::header;
///
/// let received = [("nats-service-error-code", "503")];
/// let found = header::find(received.iter().map(|(k, v)| (k, v)), header::ERROR_CODE);
/// assert_eq!(found, Some(&"503"));
/// ```
pub fn find<'a, K, V>(
    headers: impl IntoIterator<Item = (&'a K, &'a V)>,
    name: &str,
) -> Option<&'a V>
where
    K: AsRef<str> + ?Sized + 'a,
    V: ?Sized + 'a,
{
    headers
        .into_iter()
        .find(|(k, _)| is(k.as_ref(), name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_in_any_case() {
        // The caller looked reply headers up in the client's map, whose
        // keys compare byte for byte: a worker answering
        // `nats-service-error-code: 400` was read as a success.
        let received = [
            ("nats-service-error-code", "400"),
            ("CALF-RETRYABLE", "false"),
        ];
        let get = |name| find(received.iter().map(|(k, v)| (k, v)), name).copied();
        assert_eq!(get(ERROR_CODE), Some("400"));
        assert_eq!(get(RETRYABLE), Some("false"));
        assert_eq!(get(ERROR), None);
    }
}
