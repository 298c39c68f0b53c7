//! The BEP 12 tracker list and the `Announcer` trait: fall-through to the
//! next tracker and tier, promotion of the tracker that answered, skipped
//! schemes, the tracker id sent back, `announce_each`, and a fake
//! announcer behind `Box<dyn Announcer>`.

use std::time::Duration;

use monsoon_tracker::{
    AnnounceFuture, AnnounceRequest, AnnounceResponse, Announcer, TrackerError, TrackerList,
};

use crate::support::{CannedServer, dead_port, fast_config, ok, request};

fn dead_url() -> String {
    format!("http://127.0.0.1:{}/announce", dead_port())
}

async fn good_server() -> CannedServer {
    CannedServer::start(|_| ok(b"d8:intervali321e5:peers0:10:tracker id3:xyze", "")).await
}

#[tokio::test]
async fn falls_through_tiers_to_a_working_tracker() {
    let srv = good_server().await;
    let good = srv.url("/announce");
    let mut list = TrackerList::new(vec![vec![dead_url()], vec![good.clone()]], fast_config(), 1);
    let r = list.announce(&request([1; 20], 1, 1)).await.unwrap();
    assert_eq!(r.interval, Duration::from_secs(321));
    // Tiers keep their order.
    assert_eq!(list.urls()[1], [good]);
}

#[tokio::test]
async fn answering_tracker_moves_to_the_front_of_its_tier() {
    let srv = good_server().await;
    let good = srv.url("/announce");
    let tier = vec![dead_url(), dead_url(), good.clone(), dead_url()];
    // Whatever the shuffle, after one announce the good one is first.
    for seed in 0..4 {
        let mut list = TrackerList::new(vec![tier.clone()], fast_config(), seed);
        list.announce(&request([2; 20], 1, 1)).await.unwrap();
        assert_eq!(list.urls()[0][0], good, "seed {seed}");
        let pos = list.position(&good).unwrap();
        assert_eq!((pos.tier, pos.index), (0, 0));
    }
}

#[tokio::test]
async fn tracker_id_is_sent_back() {
    let srv = good_server().await;
    let mut list = TrackerList::new(vec![vec![srv.url("/announce")]], fast_config(), 1);
    let req = request([3; 20], 1, 1);
    let r = list.announce(&req).await.unwrap();
    assert_eq!(r.tracker_id.as_deref(), Some("xyz"));
    list.announce(&req).await.unwrap();
    let t = srv.targets();
    assert!(!t[0].contains("trackerid="), "{t:?}");
    assert!(t[1].contains("&trackerid=xyz"), "{t:?}");
}

#[tokio::test]
async fn unsupported_schemes_are_skipped() {
    let srv = good_server().await;
    let good = srv.url("/announce");
    let tiers = vec![
        vec![
            "wss://tracker.example/announce".to_owned(),
            "not a url".to_owned(),
        ],
        vec![
            "udp://no-port.example/announce".to_owned(),
            good.clone(),
            good.clone(),
        ],
    ];
    let mut list = TrackerList::new(tiers, fast_config(), 1);
    assert_eq!(list.len(), 1, "duplicates dropped too");
    assert_eq!(list.skipped().len(), 3);
    assert_eq!(list.urls(), [[good.clone()]]);
    let each = list.announce_each(&request([4; 20], 1, 1)).await;
    assert_eq!(each.len(), 4);
    let tiers: Vec<usize> = each.iter().map(|r| r.tier).collect();
    assert_eq!(tiers, [0, 0, 1, 1]);
    for r in &each {
        match r.url.as_str() {
            "wss://tracker.example/announce" => {
                assert!(
                    matches!(r.result, Err(TrackerError::UnsupportedScheme(ref s)) if s == "wss")
                );
            }
            u if u == good => assert!(r.result.is_ok()),
            _ => assert!(
                matches!(r.result, Err(TrackerError::InvalidUrl { .. })),
                "{}: {:?}",
                r.url,
                r.result
            ),
        }
    }
}

#[tokio::test]
async fn every_failure_is_reported() {
    let mut list = TrackerList::new(vec![vec![dead_url()], vec![dead_url()]], fast_config(), 1);
    let e = list.announce(&request([5; 20], 1, 1)).await.unwrap_err();
    assert!(
        matches!(e, TrackerError::AllFailed(ref v) if v.len() == 2),
        "{e}"
    );
    let mut one = TrackerList::new(vec![vec![dead_url()]], fast_config(), 1);
    let e = one.announce(&request([5; 20], 1, 1)).await.unwrap_err();
    assert!(matches!(e, TrackerError::Transport(_)), "{e}");
    let mut none = TrackerList::new(vec![vec!["ftp://x/announce".into()]], fast_config(), 1);
    assert!(none.is_empty());
    let e = none.announce(&request([5; 20], 1, 1)).await.unwrap_err();
    assert!(matches!(e, TrackerError::NoTrackers), "{e}");
}

/// An announcer an engine test could use.
struct Fake {
    calls: usize,
}

impl Announcer for Fake {
    fn announce<'a>(&'a mut self, req: &'a AnnounceRequest) -> AnnounceFuture<'a> {
        self.calls += 1;
        let port = req.port;
        Box::pin(async move {
            Ok(AnnounceResponse {
                interval: Duration::from_secs(1),
                peers: vec![([10, 0, 0, 1], port).into()],
                ..AnnounceResponse::default()
            })
        })
    }
}

#[tokio::test]
async fn announcers_are_object_safe() {
    let srv = good_server().await;
    let mut announcers: Vec<Box<dyn Announcer>> = vec![
        Box::new(Fake { calls: 0 }),
        Box::new(TrackerList::new(
            vec![vec![srv.url("/a")]],
            fast_config(),
            1,
        )),
    ];
    let req = request([6; 20], 1, 5555);
    let mut intervals = Vec::new();
    for a in &mut announcers {
        intervals.push(a.announce(&req).await.unwrap().interval.as_secs());
    }
    assert_eq!(intervals, [1, 321]);
    // The future is Send: it can run on a spawned task.
    let mut fake: Box<dyn Announcer> = Box::new(Fake { calls: 0 });
    let peers = tokio::spawn(async move { fake.announce(&request([6; 20], 1, 7)).await })
        .await
        .unwrap()
        .unwrap()
        .peers;
    assert_eq!(peers, [([10, 0, 0, 1], 7).into()]);
}
