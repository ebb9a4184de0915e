"""What a push costs on the wire, counted by the proxy (request and response together)."""

import gzip
from pathlib import Path

import orjson

from tests.sync_client.conftest import make_client
from tests.sync_client.helpers import demo_returns, write_json


def test_pushing_200_returns_costs_at_most_1_2_times_their_gzip_json(
    wide_server, proxy_factory, tmp_path: Path
):
    proxy = proxy_factory(wide_server.port)
    client = make_client(tmp_path / "home", proxy.base, wide_server.token("admin"))
    client.pull()
    wanted = demo_returns(client, 200)
    assert client.import_file(write_json(tmp_path / "r.json", wide_server.year, wanted)).ok
    items = [orjson.loads(r["body"]) for r in client.store.outbox()]
    floor = len(gzip.compress(orjson.dumps(items)))
    proxy.reset()
    summary = client.push()
    assert summary.count("applied") == 200 and summary.batches == 1
    wire = proxy.up + proxy.down
    print(f"\npush: {wire} bytes on the wire, gzip floor {floor}, ratio {wire / floor:.3f}")
    assert wire <= 1.2 * floor, (wire, floor, proxy.requests)
    assert [r.split(b" ")[1].split(b"?")[0] for r in proxy.requests] == [
        b"/api/v1/sync/config",
        b"/api/v1/sync/push",
    ]

    client.pull()
    proxy.reset()
    client.sync()  # nothing new either way
    print(f"idle sync: {len(proxy.requests)} request(s), {proxy.up + proxy.down} bytes")
    assert len(proxy.requests) <= 2 and proxy.up + proxy.down <= 2048, (
        proxy.requests,
        proxy.up + proxy.down,
    )
    client.close()
