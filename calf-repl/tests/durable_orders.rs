//! The order workflow of examples/durable/ across a `kill -9` of its
//! scheduler at several points: after the first worker action, after a
//! third of them, after two thirds. Whatever the point, every order ends
//! shipped or fully compensated, no call id is acted on twice, and the
//! compensations run for the failing orders and no others.

mod support {
    pub mod durable;
    pub mod nats;
    pub mod worker;
}

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use support::durable::{field, lines, resume, start, wait_until, Scratch};
use support::nats::NatsServer;
use support::worker::{root, Worker};

const ORDERS: usize = 8;
const DECLINED: &str = "order-2";
const OUT_OF_STOCK: &str = "order-4";
const UNDELIVERABLE: &str = "order-7";
/// Five orders shipped (3 actions each), one declined (1), one out of
/// stock (charge, refused reservation, refund), one undeliverable (charge,
/// reservation, refused shipment, release, refund).
const ACTIONS: usize = 5 * 3 + 1 + 3 + 5;

/// What the workers do for each order, in the order of its steps:
/// (subject, whether the worker said yes).
fn expected(order: &str) -> Vec<(&'static str, bool)> {
    let (charge, reserve, ship, release, refund) = (
        "billing.charge",
        "stock.reserve",
        "shipping.ship",
        "stock.release",
        "billing.refund",
    );
    match order {
        DECLINED => vec![(charge, false)],
        OUT_OF_STOCK => vec![(charge, true), (reserve, false), (refund, true)],
        UNDELIVERABLE => vec![
            (charge, true),
            (reserve, true),
            (ship, false),
            (release, true),
            (refund, true),
        ],
        _ => vec![(charge, true), (reserve, true), (ship, true)],
    }
}

/// The line each order prints at its end.
fn outcome(order: &str) -> &'static str {
    match order {
        DECLINED => "declined, nothing to undo: card-declined",
        OUT_OF_STOCK => "compensated (refunded): out-of-stock",
        UNDELIVERABLE => "compensated (released, refunded): undeliverable",
        _ => "shipped, tracking",
    }
}

/// One event of shop.py's log.
struct Event {
    event: String,
    subject: String,
    id: String,
    attempt: u32,
    order: String,
    ok: bool,
}

fn events(log: &Path) -> Vec<Event> {
    lines(log)
        .iter()
        .map(|line| Event {
            event: field(line, "event"),
            subject: field(line, "subject"),
            id: field(line, "id"),
            attempt: field(line, "attempt").parse().unwrap(),
            order: field(line, "order"),
            ok: line.contains("\"ok\": true"),
        })
        .collect()
}

fn shop(url: &str, log: &Path) -> Worker {
    let script = root().join("examples/durable/shop.py");
    let log = log.display().to_string();
    Worker::start_python(
        &script,
        &[
            url,
            &log,
            "--delay-ms",
            "20",
            "--declined",
            DECLINED,
            "--out-of-stock",
            OUT_OF_STOCK,
            "--undeliverable",
            UNDELIVERABLE,
        ],
    )
}

/// Runs the workflow, kills its scheduler once the workers have done
/// `actions` actions, resumes it on another, and checks how it ended.
fn crash_after(name: &str, actions: usize) {
    let scratch = Scratch::new(name);
    let server = NatsServer::start_jetstream(&scratch.0.join("js"));
    let url = server.url();
    let log = scratch.0.join("shop.log");
    let _shop = shop(&url, &log);
    let script = root().join("examples/durable/order.calf");
    let first_out = scratch.0.join("first.out");
    let orders = ORDERS.to_string();
    let mut first = start(&url, "shop-a", &script, &[&orders], &first_out);

    // The crash comes once every order has asked for its charge: the
    // program has spawned them all (an order not spawned yet is never
    // taken, by anyone).
    wait_until(&format!("{actions} actions"), || {
        let events = events(&log);
        let acted = events.iter().filter(|e| e.event == "acted").count();
        let charges: BTreeSet<&str> = events
            .iter()
            .filter(|e| e.event == "asked" && e.subject == "billing.charge")
            .map(|e| e.order.as_str())
            .collect();
        acted >= actions && charges.len() == ORDERS
    });
    assert!(
        first.try_wait().unwrap().is_none(),
        "the workflow ended before the crash"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let done_at_crash = events(&log).iter().filter(|e| e.event == "acted").count();
    assert!(
        done_at_crash < ACTIONS,
        "the crash came after every action: {done_at_crash}"
    );

    let second = resume(&url, "shop-b");
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let events = events(&log);

    // Each call id acted on once; a request asked again came after the
    // crash, as a later attempt of the same call.
    let mut acted: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events.iter().filter(|e| e.event == "acted") {
        *acted.entry(&e.id).or_default() += 1;
    }
    assert!(
        acted.values().all(|n| *n == 1),
        "a call acted on twice: {acted:?}"
    );
    assert_eq!(acted.len(), ACTIONS, "one call id per action");
    for e in events.iter().filter(|e| e.event == "repeat") {
        assert!(e.attempt > 1, "call {} repeated as attempt 1", e.id);
        assert!(acted.contains_key(e.id.as_str()));
    }

    // Every order did exactly its steps: the compensations ran for the
    // failing orders, and for no other.
    let mut done: BTreeMap<&str, Vec<(&str, bool)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.event == "acted") {
        done.entry(&e.order)
            .or_default()
            .push((e.subject.as_str(), e.ok));
    }
    for n in 1..=ORDERS {
        let order = format!("order-{n}");
        assert_eq!(
            done.get(order.as_str()).cloned().unwrap_or_default(),
            expected(&order),
            "{order}"
        );
    }
    assert_eq!(done.len(), ORDERS);

    // Each order said how it ended, before the crash or after.
    let printed: Vec<String> = lines(&first_out)
        .into_iter()
        .chain(
            String::from_utf8_lossy(&second.stdout)
                .lines()
                .map(str::to_string),
        )
        .collect();
    for n in 1..=ORDERS {
        let order = format!("order-{n}");
        let ended = format!("{order} {}", outcome(&order));
        assert!(
            printed.iter().any(|line| line.starts_with(&ended)),
            "no {ended:?} in {printed:#?}"
        );
    }
}

#[test]
fn orders_survive_a_crash_after_the_first_action() {
    crash_after("orders-first", 1);
}

#[test]
fn orders_survive_a_crash_after_a_third_of_the_actions() {
    crash_after("orders-third", ACTIONS / 3);
}

#[test]
fn orders_survive_a_crash_after_two_thirds_of_the_actions() {
    crash_after("orders-two-thirds", 2 * ACTIONS / 3);
}

/// The demo runs end to end and says every order is consistent.
#[test]
fn the_crash_demo_explains_a_consistent_end() {
    let out = Command::new("bash")
        .arg(root().join("examples/durable/crash-demo.sh"))
        .args(["10", "8"])
        .env("CALF", env!("CARGO_BIN_EXE_calf"))
        .env("SHOP_DELAY_MS", "20")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // After ten actions or a few more: the script polls the log.
    assert!(text.contains("kill -9 of calf after 1"), "{text}");
    assert!(
        text.contains("every order is consistent, each action done once"),
        "{text}"
    );
}
