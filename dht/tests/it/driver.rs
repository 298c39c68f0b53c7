//! The tokio driver on real UDP sockets on 127.0.0.1: nodes bootstrap from
//! each other, an announced peer is found, a saved state restores a node.

use std::net::SocketAddr;
use std::time::Duration;

use monsoon_dht::{Dht, DhtConfig, SavedState, SearchKind};

/// Our nodes on loopback: no public routers, several nodes on one IP.
pub(crate) fn local_config(bootstrap: &[SocketAddr]) -> DhtConfig {
    let mut c = DhtConfig::default();
    c.bootstrap = bootstrap.iter().map(ToString::to_string).collect();
    c.node.restrict_routing_ips = false;
    c
}

async fn bind(bootstrap: &[SocketAddr]) -> Dht {
    Dht::bind("127.0.0.1:0".parse().unwrap(), local_config(bootstrap))
        .await
        .unwrap()
}

#[tokio::test]
async fn three_nodes_announce_and_find_a_peer() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let a = bind(&[]).await;
        let b = bind(&[a.local_addr()]).await;
        // Once b's bootstrap is over, b knows a, so c learns a through b.
        b.bootstrap().await.unwrap();
        let c = bind(&[b.local_addr()]).await;
        let boot = c.bootstrap().await.unwrap();
        assert_eq!(boot.kind, SearchKind::Bootstrap);
        let mut found: Vec<SocketAddr> = boot.closest.iter().map(|n| n.addr).collect();
        found.sort();
        let mut want = vec![a.local_addr(), b.local_addr()];
        want.sort();
        assert_eq!(found, want, "c learnt a through b");

        let info_hash = [0x42; 20];
        let announced = a
            .announce(info_hash, Some(4242))
            .await
            .unwrap()
            .done()
            .await
            .unwrap();
        assert_eq!(announced.announced.len(), 2, "{announced:?}");

        let (peers, done) = c
            .get_peers(info_hash)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(peers, vec!["127.0.0.1:4242".parse::<SocketAddr>().unwrap()]);
        assert_eq!(done.peers, 1);
        assert_eq!(done.closest.len(), 2);

        let stats = c.stats().await.unwrap();
        assert_eq!(stats.nodes_v4, 2);
        assert!(
            stats.queries_out >= 4 && stats.responses_in >= 4,
            "{stats:?}"
        );
        assert_eq!(stats.nodes_v6, 0, "bound to IPv4 only");

        // A node restored from c's saved state, with no bootstrap nodes,
        // joins through the saved nodes alone and keeps c's id.
        let state = SavedState::decode(&c.save().await.unwrap().encode()).unwrap();
        assert_eq!(state.nodes.len(), 2);
        c.shutdown().await;
        let mut config = local_config(&[]);
        config.state = Some(state.clone());
        let d = Dht::bind("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap();
        let (peers, _) = d
            .get_peers(info_hash)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(peers, vec!["127.0.0.1:4242".parse::<SocketAddr>().unwrap()]);
        assert_eq!(d.stats().await.unwrap().id, state.id);
    })
    .await
    .expect("the loopback DHT test took over 30 s");
}

#[tokio::test]
async fn bootstrap_host_names_are_resolved() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let a = bind(&[]).await;
        let mut config = local_config(&[]);
        config.bootstrap = vec![format!("localhost:{}", a.local_addr().port())];
        let b = Dht::bind("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap();
        // The name resolves in the background, then b bootstraps from a.
        while b.stats().await.unwrap().nodes_v4 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let boot = b.bootstrap().await.unwrap();
        assert_eq!(boot.closest.len(), 1);
        assert_eq!(boot.closest[0].addr, a.local_addr());
    })
    .await
    .expect("b never bootstrapped from localhost");
}

#[tokio::test]
async fn handles_fail_once_the_node_is_stopped() {
    let a = bind(&[]).await;
    a.shutdown().await;
    let err = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            // The task may still be draining the shutdown command.
            if let Err(e) = a.stats().await {
                return e;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    assert!(matches!(err, monsoon_dht::Error::Stopped));
}
