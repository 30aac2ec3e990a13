//! The admin API's bodies and error replies, and a job's output ring, as a
//! client of the API sees them.

use calf_protocol::header;
use calf_scheduler::hosted::JobOutput;
use calf_serve::api::{self, code};
use calf_serve::output::JobLog;
use calf_serve::reply::{reply_parts, ApiError};

#[test]
fn a_body_that_does_not_decode_says_so() {
    let error = api::decode::<api::Inspect>(b"\xc1 not msgpack").expect_err("garbage");
    assert!(error.contains("does not decode"), "{error}");
    let wrong_type = api::encode(&api::Session { session: 1 });
    let error = api::decode::<api::Send>(&wrong_type).expect_err("fields missing");
    assert!(error.contains("does not decode"), "{error}");
}

#[test]
fn optional_fields_of_logs_default_to_zero() {
    #[derive(serde::Serialize)]
    struct JustPid {
        pid: u64,
    }
    let logs: api::Logs = api::decode(&api::encode(&JustPid { pid: 7 })).expect("decodes");
    assert_eq!(
        logs,
        api::Logs {
            pid: 7,
            from: 0,
            wait_ms: 0
        }
    );
}

#[test]
fn bodies_are_maps_with_named_fields() {
    let body = api::encode(&api::Submitted { pid: 12 });
    let value = rmpv::decode::read_value(&mut body.as_slice()).expect("msgpack");
    let map = value.as_map().expect("a map");
    assert_eq!(map[0].0.as_str(), Some("pid"));
    assert_eq!(map[0].1.as_u64(), Some(12));
}

#[test]
fn error_replies_carry_the_services_headers() {
    let (headers, body) = reply_parts(Err(ApiError::no_such_process(12)));
    let headers = headers.expect("headers");
    let get = |name| headers.get(name).map(|v| v.as_str().to_string());
    assert_eq!(get(header::ERROR_CODE).as_deref(), Some(code::NOT_FOUND));
    assert_eq!(get(header::ERROR).as_deref(), Some("no such process: <12>"));
    assert!(body.is_empty());
}

#[test]
fn a_message_that_is_code_is_refused() {
    let error = calf_serve::data::read("the message", "'stop").expect_err("code");
    assert!(error.contains("never evaluated"), "{error}");
    let value = calf_serve::data::read("the message", "[:stop]").expect("data");
    assert_eq!(calf_lang::value::print::pr_str(&value), "[:stop]");
}

#[test]
fn a_follower_misses_nothing_the_ring_keeps() {
    let log = JobLog::new(10);
    let mut seen = String::new();
    let mut from = 0;
    for word in ["alpha ", "beta ", "gamma "] {
        log.write(word, false);
        let chunk = log.read(from);
        seen.push_str(&chunk.text);
        from = chunk.next;
    }
    assert_eq!(seen, "alpha beta gamma ");
    // A late reader gets the last ten bytes, and is told where they start.
    let late = log.read(0);
    assert_eq!((late.start, late.text.as_str()), (7, "eta gamma "));
}
