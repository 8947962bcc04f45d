//! fil-fil's own Lotus client (what the daemon uses) works against the devnet:
//! `FULLNODE_API_INFO` with a token, chain reads, tipsets by height and paths.
//! (Its ChainNotify stream is not exercised here: jsonrpsee reads go-jsonrpc's
//! `xrpc.ch.val [1, …]` as a jsonrpsee subscription frame and drops it; the raw
//! channel protocol is covered by `devnet_wire`.)

mod devnet_support;

use devnet_support::{small_config, start};
use fil_fil::devnet::DevnetConfig;
use fil_fil::ipld::verify_block;
use fil_fil::lotus::json::HeadChangeType;
use fil_fil::lotus::{ApiInfo, LotusClient};

#[tokio::test]
async fn lotus_client_reads_the_devnet() {
    let devnet = start(DevnetConfig {
        prefill_epochs: 4,
        token: Some("tok".into()),
        ..small_config(3)
    })
    .await;
    let info = ApiInfo::parse(&devnet.api_info()).expect("api info");
    let client = LotusClient::connect(&info).await.expect("connect");
    assert_eq!(
        client.state_network_name().await.expect("name"),
        "fil-fil-devnet"
    );
    let head = client.chain_head().await.expect("head");
    assert_eq!(head.key(), devnet.node().head().tipset.cids);
    let bytes = client.chain_read_obj(&head.key()[0]).await.expect("read");
    verify_block(&head.key()[0], &bytes).expect("hash");
    let genesis = client.chain_get_genesis().await.expect("genesis");
    let by_height = client
        .chain_get_tipset_by_height(0, &head.key())
        .await
        .expect("by height");
    assert_eq!(by_height, genesis);

    devnet.reorg(1).await.expect("reorg");
    let new_head = client.chain_head().await.expect("head");
    let path = client
        .chain_get_path(&head.key(), &new_head.key())
        .await
        .expect("path");
    assert_eq!(path.first().map(|c| c.kind), Some(HeadChangeType::Revert));
    assert_eq!(path.first().map(|c| c.val.key()), Some(head.key()));
    assert_eq!(path.last().map(|c| c.val.key()), Some(new_head.key()));
    devnet.shutdown().await;
}
