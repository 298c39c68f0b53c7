//! Magnet links in the daemon: the metadata comes from a peer, the files
//! follow, the state directory keeps the link until then and a .torrent
//! after; a restart before the metadata fetches it again, one after does
//! not need it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Api, TestDaemon, data, make_torrent, scratch};

const LIMIT: Duration = Duration::from_secs(30);

async fn add_magnet(api: &Api, link: &str) -> (u16, Value) {
    api.send(
        reqwest::Method::POST,
        "/torrents",
        Some(json!({ "magnet": link, "labels": ["m"] })),
    )
    .await
}

#[tokio::test]
async fn a_magnet_link_fetches_its_metadata_downloads_and_survives_restarts() {
    let root = scratch("magnet");
    let seeder = TestDaemon::start(&root.join("a"), None).await;
    let sa = Api::new(&seeder).await;
    let torrent = make_torrent(
        &seeder.downloads,
        "album",
        &[("one.flac", 200_000), ("two.flac", 150_000)],
    );
    let (s, t) = sa.add(&torrent, "").await;
    assert_eq!(s, 201);
    let hash = t["hash"].as_str().unwrap().to_owned();
    sa.wait_for(t["id"].as_u64().unwrap(), LIMIT, "seeding", |t| {
        t["state"] == "seeding"
    })
    .await;

    // A magnet link for a torrent nobody has: kept as a link across a
    // restart, still fetching.
    let b = root.join("b");
    let leecher = TestDaemon::start(&b, None).await;
    let lb = Api::new(&leecher).await;
    let nobody = "magnet:?xt=urn:btih:00000000000000000000000000000000000000ff&dn=nobody";
    let (s, t) = add_magnet(&lb, nobody).await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["name"], "nobody");
    assert_eq!(t["has_metadata"], false);
    let nid = t["id"].as_u64().unwrap();
    lb.wait_for(nid, LIMIT, "fetching", |t| {
        t["state"] == "fetching_metadata"
    })
    .await;
    let link_file = leecher
        .state
        .join("torrents/00000000000000000000000000000000000000ff.magnet");
    assert!(link_file.exists());
    leecher.stop().await;
    let leecher = TestDaemon::start(&b, None).await;
    let lb = Api::new(&leecher).await;
    let t = lb
        .wait_for(nid, LIMIT, "fetching after restart", |t| {
            t["state"] == "fetching_metadata"
        })
        .await;
    assert_eq!(t["name"], "nobody", "{t}");
    assert_eq!(t["labels"], json!(["m"]));
    assert_eq!(lb.get("/session").await["problems"], json!([]));
    let (s, e) = add_magnet(&lb, nobody).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("duplicate")));

    // The real one, with the seeder as a peer hint, saved in a folder of
    // its own: metadata, then data there.
    let link = format!(
        "magnet:?xt=urn:btih:{hash}&dn=album&x.pe=127.0.0.1:{}",
        seeder.peer_port
    );
    let (s, t) = lb
        .send(
            reqwest::Method::POST,
            "/torrents",
            Some(json!({ "magnet": link, "save_path": "music" })),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let id = t["id"].as_u64().unwrap();
    let t = lb
        .wait_for(id, LIMIT, "downloaded", |t| t["state"] == "seeding")
        .await;
    assert_eq!(t["has_metadata"], true);
    assert_eq!(t["size"], 350_000);
    let files = lb.get(&format!("/torrents/{id}/files")).await;
    assert_eq!(files[1]["path"], "album/two.flac");
    assert_eq!(files[1]["priority"], 4);
    assert_eq!(
        std::fs::read(leecher.downloads.join("music/album/two.flac")).unwrap(),
        data(150_000, 2)
    );
    assert!(!leecher.downloads.join("album").exists());
    let dir = leecher.state.join("torrents");
    let kept = std::fs::read(dir.join(format!("{hash}.torrent"))).unwrap();
    assert_eq!(
        monsoon_engine::Metainfo::from_bytes(&kept)
            .unwrap()
            .info_hash_hex(),
        hash,
        "the fetched metadata is kept as a .torrent"
    );
    assert!(!dir.join(format!("{hash}.magnet")).exists());

    // Restarted without the seeder: back from the .torrent, complete.
    seeder.stop().await;
    leecher.stop().await;
    let leecher = TestDaemon::start(&b, None).await;
    let lb = Api::new(&leecher).await;
    let t = lb
        .wait_for(id, LIMIT, "seeding after restart", |t| {
            t["state"] == "seeding"
        })
        .await;
    assert_eq!(t["has_metadata"], true);
    assert_eq!(t["name"], "album");
    assert_eq!(
        lb.get(&format!("/torrents/{id}/files")).await[0]["done"],
        200_000
    );
    let (s, _) = lb
        .send(reqwest::Method::DELETE, &format!("/torrents/{id}"), None)
        .await;
    assert_eq!(s, 204);
    assert!(!dir.join(format!("{hash}.torrent")).exists());
    leecher.stop().await;
}
